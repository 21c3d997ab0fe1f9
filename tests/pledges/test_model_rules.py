"""Every rule of docs/data-dictionary.md is refused with the field named, through the model,
the shared write service and the admin form, and nothing is saved."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pledges.choices import AmountBasis, DonorKind, PledgeStatus
from pledges.models import Category, Donor, Event, Pledge, PledgeItem, Source
from pledges.services import store_pledge, validate_pledge, write_pledge
from tests.factories import (
    CategoryFactory,
    CountryFactory,
    DonorFactory,
    EventFactory,
    PledgeFactory,
)

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + dt.timedelta(days=1)
GOOD_SOURCE = {"url": "https://example.org/a", "publisher": "Example News"}


@pytest.fixture
def donor():
    return CountryFactory(name="United Kingdom")


@pytest.fixture
def category():
    return CategoryFactory(slug="drones", name="Drones")


@pytest.fixture
def package(donor, category):
    return PledgeFactory(donor=donor, category=category, amount=Decimal("1000.00"), currency="EUR")


def pledge_fields(donor, category, **changes):
    fields = {
        "donor": donor,
        "category": category,
        "announced_on": dt.date(2025, 6, 4),
        "title": "Drones",
        "amount": Decimal("100.00"),
        "currency": "EUR",
    }
    fields.update(changes)
    return fields


# (case id, changes to a valid pledge, field that must be named)
PLEDGE_CASES = [
    ("future date", {"announced_on": TOMORROW}, "announced_on"),
    ("no date", {"announced_on": None}, "announced_on"),
    ("no title", {"title": ""}, "title"),
    ("title too long", {"title": "x" * 201}, "title"),
    ("zero amount", {"amount": Decimal("0")}, "amount"),
    ("negative amount", {"amount": Decimal("-5.00")}, "amount"),
    ("amount too large", {"amount": Decimal("10") ** 15}, "amount"),
    ("three decimals", {"amount": Decimal("1.005")}, "amount"),
    ("amount without currency", {"currency": ""}, "currency"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("unknown status", {"status": "promised"}, "status"),
    ("unknown basis", {"amount_basis": "monthly"}, "amount_basis"),
    ("unknown recipient", {"recipient": "XX"}, "recipient"),
    ("per_year without period", {"amount_basis": AmountBasis.PER_YEAR}, "period_start_year"),
    (
        "per_year without end",
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2025},
        "period_end_year",
    ),
    (
        "per_year without amount",
        {
            "amount_basis": AmountBasis.PER_YEAR,
            "amount": None,
            "currency": "",
            "period_start_year": 2025,
            "period_end_year": 2026,
        },
        "amount",
    ),
    (
        "end before start",
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2029, "period_end_year": 2025},
        "period_end_year",
    ),
    (
        "period over 30 years",
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2000, "period_end_year": 2030},
        "period_end_year",
    ),
    (
        "start before 2000",
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 1999, "period_end_year": 2001},
        "period_start_year",
    ),
    (
        "end after 2100",
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2099, "period_end_year": 2101},
        "period_end_year",
    ),
    (
        "period on a total",
        {"period_start_year": 2025, "period_end_year": 2026},
        "amount_basis",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field"), [c[1:] for c in PLEDGE_CASES], ids=[c[0] for c in PLEDGE_CASES]
)
def test_a_bad_pledge_is_refused_naming_the_field(donor, category, changes, field):
    pledge = Pledge(**pledge_fields(donor, category, **changes))
    with pytest.raises(ValidationError) as refused:
        pledge.full_clean()
    assert field in refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=pledge_fields(donor, category, **changes), sources=[GOOD_SOURCE])
    assert field in refused.value.message_dict
    assert Pledge.objects.count() == 0
    assert Source.objects.count() == 0


def test_a_valid_pledge_passes_every_rule(donor, category):
    pledge = write_pledge(
        fields=pledge_fields(donor, category, currency="gbp", recipient="ua"),
        items=[{"name": "drone", "quantity": 10}],
        sources=[GOOD_SOURCE],
    )
    pledge.refresh_from_db()
    assert (pledge.currency, pledge.recipient) == ("GBP", "UA")
    assert [(i.name, i.quantity) for i in pledge.items.all()] == [("drone", 10)]
    assert pledge.sources.get().publisher == "Example News"


def test_an_in_kind_pledge_needs_no_amount_nor_currency(donor, category):
    pledge = Pledge(**pledge_fields(donor, category, amount=None, currency=""))
    pledge.full_clean()


def test_a_pledge_without_a_source_is_refused(donor, category):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=pledge_fields(donor, category), sources=[])
    assert "sources" in refused.value.message_dict
    assert Pledge.objects.count() == 0


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"url": "ftp://example.org/a", "publisher": "X"}, "url"),
        ({"url": "javascript:alert(1)", "publisher": "X"}, "url"),
        ({"url": "", "publisher": "X"}, "title"),  # no address: the citation says it all
        ({"url": "https://example.org/" + "a" * 1000, "publisher": "X"}, "url"),
        ({"url": "https://example.org/a", "publisher": ""}, "publisher"),
        ({**GOOD_SOURCE, "published_on": TOMORROW}, "published_on"),
    ],
)
def test_a_bad_source_is_refused_naming_the_field(donor, category, source, field):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=pledge_fields(donor, category), sources=[GOOD_SOURCE, source])
    errors = refused.value.detail["sources"]
    assert errors[0] == {}
    assert field in errors[1]
    assert Pledge.objects.count() == Source.objects.count() == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [({"name": "", "quantity": 1}, "name"), ({"name": "drone", "quantity": 0}, "quantity")],
)
def test_a_bad_item_is_refused_naming_the_field(donor, category, item, field):
    with pytest.raises(ValidationError) as refused:
        write_pledge(fields=pledge_fields(donor, category), items=[item], sources=[GOOD_SOURCE])
    assert field in refused.value.detail["items"][0]
    assert refused.value.message_dict["items"][0].startswith(f"row 1: {field}: ")
    assert Pledge.objects.count() == PledgeItem.objects.count() == 0


def test_a_component_of_a_component_is_refused(donor, category, package):
    component = PledgeFactory(donor=donor, category=category, parent=package, amount=Decimal(10))
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            fields=pledge_fields(donor, category, parent=component, amount=Decimal(1)),
            sources=[GOOD_SOURCE],
        )
    assert "parent" in refused.value.message_dict
    assert Pledge.objects.count() == 2


def test_a_package_cannot_become_a_component(donor, category, package):
    PledgeFactory(donor=donor, category=category, parent=package, amount=Decimal(10))
    other = PledgeFactory(donor=donor, category=category, amount=Decimal("5000.00"))
    with pytest.raises(ValidationError) as refused:
        validate_pledge(pledge=package, fields={"parent": other})
    assert "parent" in refused.value.message_dict


def test_a_pledge_cannot_be_its_own_package(package):
    with pytest.raises(ValidationError) as refused:
        validate_pledge(pledge=package, fields={"parent": package})
    assert "parent" in refused.value.message_dict


def test_a_component_has_the_donor_of_its_package(category, package):
    other_donor = DonorFactory(name="NATO", kind=DonorKind.ORGANISATION)
    with pytest.raises(ValidationError) as refused:
        validate_pledge(
            fields=pledge_fields(other_donor, category, parent=package), sources=[GOOD_SOURCE]
        )
    assert "parent" in refused.value.message_dict


def test_components_worth_more_than_their_package_are_refused(donor, category, package):
    PledgeFactory(donor=donor, category=category, parent=package, amount=Decimal("600.00"))
    # 500 EUR more would make 1,100 EUR of components in a 1,000 EUR package.
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            fields=pledge_fields(donor, category, parent=package, amount=Decimal("500.00")),
            sources=[GOOD_SOURCE],
        )
    assert "amount" in refused.value.message_dict
    assert package.components.count() == 1
    # Exactly the package's value is allowed; a cancelled component does not count.
    write_pledge(
        fields=pledge_fields(donor, category, parent=package, amount=Decimal("400.00")),
        sources=[GOOD_SOURCE],
    )
    write_pledge(
        fields=pledge_fields(
            donor, category, parent=package, amount=Decimal("900.00"), status="cancelled"
        ),
        sources=[GOOD_SOURCE],
    )
    assert package.components.count() == 3


def test_components_are_compared_in_euros(donor, category):
    day = dt.date(2025, 6, 4)
    package = PledgeFactory(donor=donor, category=category, amount=Decimal(1000), currency="GBP")
    # 1,000 GBP is about 1,187 EUR: 1,150 EUR fits, 1,200 EUR does not.
    write_pledge(
        fields=pledge_fields(
            donor, category, parent=package, amount=Decimal(1150), announced_on=day
        ),
        sources=[GOOD_SOURCE],
    )
    lower = Pledge.objects.get(parent=package)
    with pytest.raises(ValidationError):
        write_pledge(pledge=lower, fields={"amount": Decimal(1200)})
    lower.refresh_from_db()
    assert lower.amount == Decimal(1150)


def test_lowering_a_package_below_its_components_is_refused(donor, category, package):
    PledgeFactory(donor=donor, category=category, parent=package, amount=Decimal("800.00"))
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=package, fields={"amount": Decimal("700.00")})
    assert "amount" in refused.value.message_dict
    package.refresh_from_db()
    assert package.amount == Decimal("1000.00")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "Atlantis", "kind": DonorKind.COUNTRY, "iso2": None}, "iso2"),
        ({"name": "Atlantis", "kind": DonorKind.COUNTRY, "iso2": "XX"}, "iso2"),
        ({"name": "NATO", "kind": DonorKind.ORGANISATION, "iso2": "BE"}, "iso2"),
        ({"name": "Somewhere", "kind": "empire", "iso2": None}, "kind"),
        ({"name": "", "kind": DonorKind.FUND, "iso2": None}, "name"),
        ({"name": "United Kingdom", "kind": DonorKind.FUND, "iso2": None}, "name"),
        ({"name": "Great Britain", "kind": DonorKind.COUNTRY, "iso2": "gb"}, "iso2"),
    ],
)
def test_a_bad_donor_is_refused_naming_the_field(donor, fields, field):
    with pytest.raises(ValidationError) as refused:
        Donor(**fields).full_clean()
    assert field in refused.value.message_dict
    assert Donor.objects.count() == 1


def test_country_codes_are_stored_in_upper_case():
    donor = Donor(name="Norway", kind=DonorKind.COUNTRY, iso2="no")
    donor.full_clean()
    assert donor.iso2 == "NO"


def test_category_and_event_uniqueness(category):
    with pytest.raises(ValidationError) as refused:
        Category(slug="drones", name="Other drones").full_clean()
    assert "slug" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        Category(slug="not a slug!", name="Bad").full_clean()
    assert "slug" in refused.value.message_dict
    event = EventFactory()
    with pytest.raises(ValidationError):
        Event(name=event.name, date=event.date, kind=event.kind).full_clean()


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": Decimal("-1.00")},
        {"currency": ""},
        {"amount_basis": AmountBasis.PER_YEAR},
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2030, "period_end_year": 2025},
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 2000, "period_end_year": 2040},
        {"amount_basis": AmountBasis.PER_YEAR, "period_start_year": 1990, "period_end_year": 1991},
    ],
)
def test_the_database_holds_the_rules_even_without_validation(donor, category, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.create(**pledge_fields(donor, category, **changes))
    assert Pledge.objects.count() == 0


def test_the_database_refuses_a_country_without_code_and_duplicate_codes(donor):
    with pytest.raises(IntegrityError), transaction.atomic():
        Donor.objects.create(name="Atlantis", kind=DonorKind.COUNTRY, iso2=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Donor.objects.create(name="Britain", kind=DonorKind.COUNTRY, iso2="GB")
    with pytest.raises(IntegrityError), transaction.atomic():
        PledgeItem.objects.create(pledge=PledgeFactory(), name="drone", quantity=0)
    assert Donor.objects.filter(kind=DonorKind.COUNTRY).count() == 1


def test_version_counts_every_save(package):
    assert package.version == 1
    package.status = PledgeStatus.COMMITTED
    store_pledge(package)
    assert package.version == 2
    store_pledge(package)
    package.refresh_from_db()
    assert package.version == 3
