import datetime as dt
from decimal import Decimal

import factory

from pledges.choices import DonorKind, EventKind
from pledges.models import Category, Donor, Event, Pledge, PledgeItem, Source
from pledges.services import store_pledge


class DonorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Donor
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Donor {n}")
    kind = DonorKind.ORGANISATION
    iso2 = None


class CountryFactory(DonorFactory):
    kind = DonorKind.COUNTRY
    name = factory.Iterator(["United Kingdom", "Germany", "Norway", "Canada", "Belgium"])
    iso2 = factory.LazyAttribute(
        lambda donor: {
            "United Kingdom": "GB",
            "Germany": "DE",
            "Norway": "NO",
            "Canada": "CA",
            "Belgium": "BE",
        }[donor.name]
    )


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    name = factory.Sequence(lambda n: f"UDCG meeting {n}")
    kind = EventKind.UDCG_MEETING
    date = dt.date(2025, 6, 4)
    location = "Brussels"


class PledgeFactory(factory.django.DjangoModelFactory):
    """A valid pledge with one source; ``full_clean`` is left to the test."""

    class Meta:
        model = Pledge
        skip_postgeneration_save = True

    donor = factory.SubFactory(DonorFactory)
    category = factory.SubFactory(CategoryFactory)
    announced_on = dt.date(2025, 6, 4)
    title = factory.Sequence(lambda n: f"Pledge {n}")
    amount = Decimal("1000000.00")
    currency = "EUR"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the write path, which derives the total and the EUR value.
        return store_pledge(model_class(*args, **kwargs))

    @factory.post_generation
    def sources(self, create, extracted, **kwargs):
        if create and not extracted:
            SourceFactory(pledge=self)


class PledgeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PledgeItem

    pledge = factory.SubFactory(PledgeFactory)
    name = "drone"
    quantity = 100


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    pledge = factory.SubFactory(PledgeFactory)
    url = factory.Sequence(lambda n: f"https://example.org/news/{n}")
    publisher = "Example News"
    title = "Allies pledge aid"
    published_on = dt.date(2025, 6, 5)


RECORD_SOURCE = {
    "url": "https://example.org/deliveries",
    "publisher": "Example News",
    "title": "Deliveries arrive",
    "published_on": dt.date(2025, 7, 1),
    "kind": "media",
}


def add_record(pledge, kind="delivered", date=dt.date(2025, 7, 1), amount=None, items=(), **more):
    """A fulfilment record written through the one write path (``items``: (PledgeItem,
    quantity) pairs)."""
    from pledges.fulfilments import write_fulfilment

    return write_fulfilment(
        fields={"pledge": pledge, "kind": kind, "date": date, "amount": amount, **more},
        items=[{"item_id": item.pk, "quantity": quantity} for item, quantity in items],
        sources=[RECORD_SOURCE],
    )
