"""validate_pledge's bulk mode (imports) refuses exactly what write_pledge refuses."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges.models import Pledge
from pledges.services import PledgeValidationError, store_pledge, validate_pledge, write_pledge
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory

SOURCE = {"url": "https://example.org/a", "publisher": "Example"}


@pytest.fixture
def good(db):
    return {
        "donor": DonorFactory(),
        "category": CategoryFactory(),
        "announced_on": dt.date(2025, 6, 4),
        "title": "Pledge",
        "amount": Decimal("100.00"),
        "currency": "EUR",
    }


BAD = [
    ({"amount": Decimal(0)}, None, None),
    ({"amount": Decimal(-5)}, None, None),
    ({"amount": Decimal("1e16")}, None, None),
    ({"currency": ""}, None, None),
    ({"currency": "XXY"}, None, None),
    ({"announced_on": dt.date(2999, 1, 1)}, None, None),
    ({"amount_basis": "per_year"}, None, None),
    ({"amount_basis": "per_year", "period_start_year": 2027, "period_end_year": 2025}, None, None),
    ({"amount_basis": "per_year", "period_start_year": 2000, "period_end_year": 2040}, None, None),
    ({"period_start_year": 1999}, None, None),
    ({"status": "promised"}, None, None),
    ({"recipient": "XX"}, None, None),
    ({"title": ""}, None, None),
    ({}, [{"name": "drone", "quantity": 0}], None),
    ({}, [{"name": ""}], None),
    ({}, None, []),
    ({}, None, [{"url": "ftp://example.org/a", "publisher": "X"}]),
    ({}, None, [{"url": "https://example.org/a", "publisher": ""}]),
]


@pytest.mark.parametrize(("fields", "items", "sources"), BAD)
def test_bulk_mode_refuses_the_same_fields(good, fields, items, sources):
    def errors(bulk_checked):
        with pytest.raises(PledgeValidationError) as caught:
            validate_pledge(
                fields={**good, **fields},
                items=items or [],
                sources=[SOURCE] if sources is None else sources,
                bulk_checked=bulk_checked,
            )
        return caught.value.message_dict, caught.value.children

    assert errors(True) == errors(False)


def test_children_errors_are_kept_per_row(good):
    with pytest.raises(PledgeValidationError) as caught:
        write_pledge(
            fields=good,
            items=[{"name": "ok", "quantity": 1}, {"name": "drone", "quantity": 0}],
            sources=[SOURCE],
        )
    assert caught.value.children == {
        "items": [{}, {"quantity": ["Ensure this value is greater than or equal to 1."]}]
    }
    assert not Pledge.objects.exists()


def test_package_rules_hold_in_bulk_mode(good):
    package = PledgeFactory(donor=good["donor"], amount=Decimal("100.00"))
    store_pledge(package)
    with pytest.raises(PledgeValidationError) as caught:
        validate_pledge(
            fields={**good, "parent": package, "amount": Decimal("150.00")},
            sources=[SOURCE],
            bulk_checked=True,
        )
    assert "more than their package" in caught.value.message_dict["amount"][0]


@pytest.mark.parametrize("bulk_checked", [False, True])
def test_unknown_package_is_refused_in_both_modes(good, bulk_checked):
    with pytest.raises(PledgeValidationError) as caught:
        validate_pledge(
            fields={**good, "parent_id": 10**9}, sources=[SOURCE], bulk_checked=bulk_checked
        )
    assert "The package does not exist." in caught.value.message_dict["parent"]
