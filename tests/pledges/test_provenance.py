"""Sources that say what they are, confidence, and re-announcements: every rule refused with
the field named through the shared write service (and the database where it can hold it), and
nothing written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from pledges.models import Pledge, Source
from pledges.services import write_pledge
from tests.factories import CategoryFactory, CountryFactory, PledgeFactory, SourceFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW = TODAY + dt.timedelta(days=1)
CITATION = {
    "publisher": "Euromaidan Press",
    "title": "Ukrainian workshops forge tomorrow's weapons",
    "published_on": dt.date(2025, 6, 5),
}
OFFICIAL = {"url": "https://www.gov.uk/news/a", "publisher": "UK MoD", "kind": "official"}


@pytest.fixture
def donor():
    return CountryFactory(name="Germany")


@pytest.fixture
def category():
    return CategoryFactory(slug="other", name="Other")


def fields(donor, category, **changes):
    return {
        "donor": donor,
        "category": category,
        "announced_on": dt.date(2025, 6, 4),
        "title": "€5 billion package",
        "amount": Decimal("5000000000.00"),
        "currency": "EUR",
        **changes,
    }


def written() -> tuple:
    return (
        Pledge.objects.count(),
        Source.objects.count(),
        Pledge.history.count(),
        tuple(Pledge.objects.order_by("pk").values_list("pk", "version", "reannounces_id")),
    )


# --- sources -------------------------------------------------------------------------------


def test_a_source_without_an_address_is_cited_by_publisher_title_and_date(donor, category):
    pledge = write_pledge(fields=fields(donor, category), sources=[CITATION])
    source = pledge.sources.get()
    assert (source.url, source.title, source.kind) == ("", CITATION["title"], "other")


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ({**CITATION, "title": ""}, {"title"}),
        ({**CITATION, "published_on": None}, {"published_on"}),
        ({"publisher": "Somebody"}, {"title", "published_on"}),
        ({**CITATION, "publisher": ""}, {"publisher"}),
        ({**CITATION, "kind": "blog"}, {"kind"}),
        ({**CITATION, "archived_url": "ftp://archive.org/x"}, {"archived_url"}),
        ({**CITATION, "archived_url": "https://a.org/" + "x" * 1000}, {"archived_url"}),
        ({**CITATION, "accessed_on": TOMORROW}, {"accessed_on"}),
        ({**CITATION, "accessed_on": dt.date(2025, 6, 4)}, {"accessed_on"}),  # before publication
        ({**CITATION, "published_on": TOMORROW}, {"published_on"}),
    ],
)
def test_a_source_that_says_too_little_is_refused_naming_the_field(donor, category, source, named):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=fields(donor, category), sources=[CITATION, source])
    rows = refused.value.detail["sources"]
    assert rows[0] == {}
    assert set(rows[1]) == named
    assert written() == (0, 0, 0, ())


def test_a_source_with_every_field(donor, category):
    source = {
        **CITATION,
        "url": "https://euromaidanpress.com/a",
        "kind": "media",
        "archived_url": "https://web.archive.org/web/2025/https://euromaidanpress.com/a",
        "accessed_on": dt.date(2025, 6, 6),
    }
    stored = write_pledge(fields=fields(donor, category), sources=[source]).sources.get()
    assert {key: getattr(stored, key) for key in source} == source


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "", "title": ""},
        {"url": "", "published_on": None},
        {"kind": "blog"},
        {"accessed_on": dt.date(2025, 6, 1), "published_on": dt.date(2025, 6, 5)},
    ],
)
def test_the_database_holds_the_source_rules_too(changes):
    source = SourceFactory()
    count = Source.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(
            pledge=source.pledge,
            **{
                "url": "https://e.org/",
                "publisher": "P",
                "title": "T",
                "published_on": dt.date(2025, 6, 5),
                **changes,
            },
        )
    assert Source.objects.count() == count


# --- confidence ----------------------------------------------------------------------------


def test_confidence_is_reported_unless_said(donor, category):
    assert write_pledge(fields=fields(donor, category), sources=[CITATION]).confidence == (
        "reported"
    )


def test_a_confirmed_pledge_needs_an_official_source(donor, category):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=fields(donor, category, confidence="confirmed"), sources=[CITATION])
    assert set(refused.value.message_dict) == {"confidence"}
    assert written() == (0, 0, 0, ())
    pledge = write_pledge(
        fields=fields(donor, category, confidence="confirmed"), sources=[CITATION, OFFICIAL]
    )
    assert pledge.confidence == "confirmed"
    # Its official source cannot go while it stays confirmed...
    before = written()
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=pledge, fields={}, sources=[CITATION])
    assert "confidence" in refused.value.message_dict
    assert written() == before
    # ...and a pledge with only media sources cannot become confirmed (sources as stored).
    media = write_pledge(fields=fields(donor, category), sources=[CITATION])
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=media, fields={"confidence": "confirmed"})
    assert "confidence" in refused.value.message_dict


def test_unknown_confidence_is_refused_and_the_database_holds_it(donor, category):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=fields(donor, category, confidence="rumoured"), sources=[CITATION])
    assert "confidence" in refused.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        PledgeFactory(confidence="rumoured")
    assert written() == (0, 0, 0, ())


# --- re-announcements ----------------------------------------------------------------------


@pytest.fixture
def original(donor, category):
    return write_pledge(
        fields=fields(donor, category, announced_on=dt.date(2025, 5, 28)), sources=[CITATION]
    )


def test_a_re_announcement_names_an_earlier_pledge_of_the_same_donor(donor, category, original):
    again = write_pledge(fields=fields(donor, category, reannounces=original), sources=[CITATION])
    assert again.reannounces == original
    assert list(original.reannouncements.all()) == [again]
    same_day = fields(donor, category, announced_on=original.announced_on, reannounces=original)
    assert write_pledge(fields=same_day, sources=[CITATION]).reannounces == original


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"announced_on": dt.date(2025, 5, 27)}, "on or before"),
        ({"donor": "Canada"}, "same donor"),
    ],
)
def test_a_bad_re_announcement_is_refused(donor, category, original, changes, message):
    if "donor" in changes:
        donor = CountryFactory(name=changes["donor"])
        changes = {}
    before = written()
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            fields=fields(donor, category, reannounces=original, **changes), sources=[CITATION]
        )
    assert message in " ".join(refused.value.message_dict["reannounces"])
    assert written() == before


def test_a_pledge_cannot_re_announce_itself_nor_go_round_in_a_circle(donor, category, original):
    before = written()
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=original, fields={"reannounces": original})
    assert "itself" in " ".join(refused.value.message_dict["reannounces"])
    second = write_pledge(
        fields=fields(donor, category, announced_on=original.announced_on, reannounces=original),
        sources=[CITATION],
    )
    third = write_pledge(
        fields=fields(donor, category, announced_on=original.announced_on, reannounces=second),
        sources=[CITATION],
    )
    before = written()
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=Pledge.objects.get(pk=original.pk), fields={"reannounces": third})
    assert "circle" in " ".join(refused.value.message_dict["reannounces"])
    assert written() == before
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.filter(pk=original.pk).update(reannounces=original)


def test_a_re_announced_pledge_keeps_the_donor_and_stays_earlier(donor, category, original):
    write_pledge(fields=fields(donor, category, reannounces=original), sources=[CITATION])
    before = written()
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            pledge=Pledge.objects.get(pk=original.pk),
            fields={"announced_on": dt.date(2025, 6, 5)},
        )
    assert "announced_on" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            pledge=Pledge.objects.get(pk=original.pk),
            fields={"donor": CountryFactory(name="Canada")},
        )
    assert "donor" in refused.value.message_dict
    assert written() == before


def test_an_unknown_re_announced_pledge_is_refused(donor, category):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=fields(donor, category, reannounces_id=999999), sources=[CITATION])
    assert "reannounces" in refused.value.message_dict
    assert written() == (0, 0, 0, ())


def test_a_re_announced_pledge_cannot_be_deleted_under_its_re_announcement(
    donor, category, original
):
    write_pledge(fields=fields(donor, category, reannounces=original), sources=[CITATION])
    with pytest.raises(ProtectedError):
        original.delete()
    assert Pledge.objects.count() == 2
