"""Fulfilment records in the domain: what they make of their pledge (lifecycle values, status,
version, history) and the rules of the one write path, each scenario computed by hand."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from pledges.fulfilments import delete_fulfilment, write_fulfilment
from pledges.lifecycle import DELIVERED_IN_FULL, DELIVERY_SHORT
from pledges.models import Fulfilment, FulfilmentItem, FulfilmentSource, Pledge
from pledges.services import delete_pledge, store_pledge, write_pledge
from tests.ecb import ecb_rate
from tests.factories import (
    RECORD_SOURCE,
    CategoryFactory,
    CountryFactory,
    PledgeFactory,
    PledgeItemFactory,
    add_record,
)

pytestmark = pytest.mark.django_db
JULY, AUGUST = dt.date(2025, 7, 1), dt.date(2025, 8, 1)


def cents(value: Decimal) -> int:
    return int(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).scaleb(2))


def fresh(pledge: Pledge) -> Pledge:
    return Pledge.objects.get(pk=pledge.pk)


def counts() -> tuple[int, int, int]:
    return (
        Fulfilment.objects.count(),
        FulfilmentItem.objects.count(),
        FulfilmentSource.objects.count(),
    )


@pytest.fixture
def uk(db):
    return {"donor": CountryFactory(name="United Kingdom"), "category": CategoryFactory()}


def test_partial_then_full_delivery_flips_the_status_and_the_version(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("1000000.00"), currency="EUR", status="committed")
    assert (pledge.version, pledge.delivery, pledge.delivered_amount) == (1, "none", Decimal(0))

    add_record(pledge, amount=Decimal("400000.00"))
    pledge = fresh(pledge)
    assert (pledge.delivered_amount, pledge.allocated_amount) == (Decimal(400000), Decimal(400000))
    assert (pledge.delivery, pledge.status, pledge.version) == ("partial", "committed", 2)
    assert (pledge.delivered_cents, pledge.allocated_cents) == (40_000_000, 40_000_000)

    last = add_record(pledge, date=AUGUST, amount=Decimal("600000.00"))
    pledge = fresh(pledge)
    assert (pledge.delivered_amount, pledge.delivery) == (Decimal(1000000), "full")
    # The status follows, in one new version with its own history row.
    assert (pledge.status, pledge.version) == ("delivered", 3)
    newest = pledge.history.first()
    assert (newest.status, newest.history_change_reason) == ("delivered", DELIVERED_IN_FULL)

    delete_fulfilment(last)
    pledge = fresh(pledge)
    assert (pledge.delivered_amount, pledge.delivery) == (Decimal(400000), "partial")
    assert (pledge.status, pledge.version, pledge.undated) == ("committed", 4, False)
    assert pledge.history.first().history_change_reason == DELIVERY_SHORT


def test_one_cent_more_than_promised_is_refused_and_nothing_written(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("1000.00"), currency="EUR")
    add_record(pledge, amount=Decimal("999.99"))
    before = counts()
    with pytest.raises(ValidationError) as refused:
        add_record(pledge, date=AUGUST, amount=Decimal("0.02"))
    assert "amount" in refused.value.message_dict
    assert "1,000.01 EUR" in refused.value.message_dict["amount"][0]
    assert counts() == before
    assert fresh(pledge).delivered_amount == Decimal("999.99")
    # Allocated records are counted on their own: 1,000.00 may still be allocated.
    add_record(pledge, kind="allocated", date=AUGUST, amount=Decimal("1000.00"))
    assert fresh(pledge).allocated_amount == Decimal("1000.00")


def test_allocated_is_never_below_delivered(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("1000.00"), currency="EUR")
    add_record(pledge, kind="allocated", amount=Decimal("100.00"))
    add_record(pledge, kind="delivered", amount=Decimal("300.00"))
    pledge = fresh(pledge)
    assert (pledge.allocated_amount, pledge.delivered_amount) == (Decimal(300), Decimal(300))


def test_a_record_converts_at_its_pledges_rate(uk):
    day = dt.date(2025, 6, 4)
    pledge = PledgeFactory(**uk, amount=Decimal("350000000.00"), currency="GBP", announced_on=day)
    rate = ecb_rate("GBP", day)
    first = add_record(pledge, date=dt.date(2025, 9, 1), amount=Decimal("100000000.01"))
    second = add_record(pledge, date=dt.date(2025, 10, 1), amount=Decimal("50000000.02"))
    first.refresh_from_db()
    second.refresh_from_db()
    # The running total's cents, so that the records add up to the pledge's to the cent.
    assert first.eur_cents == cents(Decimal("100000000.01") / rate)
    assert first.eur_cents + second.eur_cents == cents(Decimal("150000000.03") / rate)
    assert fresh(pledge).delivered_cents == cents(Decimal("150000000.03") / rate)


def test_a_package_with_delivered_components_and_its_own_records(uk):
    package = PledgeFactory(**uk, amount=Decimal("1000000.00"), currency="EUR")
    component = PledgeFactory(**uk, amount=Decimal("300000.00"), currency="EUR", parent=package)
    add_record(component, amount=Decimal("300000.00"))
    assert fresh(component).status == "delivered"
    # What the package counts once its component is subtracted: 700,000.00.
    add_record(package, amount=Decimal("700000.00"))
    before = counts()
    with pytest.raises(ValidationError) as refused:
        add_record(package, date=AUGUST, amount=Decimal("0.01"))
    assert "€700,000.00 once its components are subtracted" in refused.value.messages[0]
    assert counts() == before
    package = fresh(package)
    assert (package.delivered_amount, package.delivery, package.status) == (
        Decimal("700000.00"),
        "partial",
        "announced",
    )
    assert (package.counted_cents, package.delivered_cents) == (70_000_000, 70_000_000)

    # A component that would take from the package what its own records hold is refused.
    component = fresh(component)
    with pytest.raises(ValidationError) as refused:
        validate_and_store(component, amount=Decimal("300000.01"))
    assert "amount" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        new_pledge(uk, amount=Decimal("1.00"), parent=package)
    assert "amount" in refused.value.message_dict
    # A cancelled one takes nothing.
    new_pledge(uk, amount=Decimal("1.00"), parent=package, status="cancelled")


def validate_and_store(pledge, **fields):
    return write_pledge(pledge=pledge, fields=fields)


def new_pledge(uk, **fields):
    values = {**uk, "announced_on": dt.date(2025, 6, 4), "title": "Part", "currency": "EUR"}
    return write_pledge(fields={**values, **fields}, sources=[RECORD_SOURCE])


def test_a_package_in_pounds_is_compared_in_euro_cents_at_its_rate(uk):
    day = dt.date(2025, 6, 4)
    rate = ecb_rate("GBP", day)
    package = PledgeFactory(**uk, amount=Decimal("1000000.00"), currency="GBP", announced_on=day)
    PledgeFactory(
        **uk, amount=Decimal("300000.00"), currency="GBP", parent=package, announced_on=day
    )
    remainder = cents(Decimal(1000000) / rate) - cents(Decimal(300000) / rate)
    # The largest amount in pounds whose euro cents fit, found by hand around 700,000.00.
    fitting = max(
        amount
        for amount in (Decimal("699999.98") + Decimal("0.01") * n for n in range(6))
        if cents(amount / rate) <= remainder
    )
    with pytest.raises(ValidationError):
        add_record(package, amount=fitting + Decimal("0.01"))
    add_record(package, amount=fitting)
    assert fresh(package).delivered_cents == cents(fitting / rate) <= remainder


def test_a_per_year_pledge_delivered_over_several_years(uk):
    pledge = PledgeFactory(
        **uk,
        amount=Decimal("1000000000.00"),
        currency="EUR",
        amount_basis="per_year",
        period_start_year=2025,
        period_end_year=2029,
        status="committed",
    )
    assert pledge.total_amount == Decimal("5000000000.00")
    add_record(pledge, date=dt.date(2025, 12, 1), amount=Decimal("1000000000.00"))
    add_record(pledge, date=dt.date(2026, 6, 1), amount=Decimal("1500000000.00"))
    pledge = fresh(pledge)
    assert (pledge.delivered_amount, pledge.delivery) == (Decimal("2500000000.00"), "partial")
    # Its period cannot end before what was delivered: 2025 to 2026 is 2 billion.
    with pytest.raises(ValidationError) as refused:
        validate_and_store(pledge, period_end_year=2026)
    assert "amount" in refused.value.message_dict
    add_record(pledge, date=dt.date(2026, 11, 30), amount=Decimal("2500000000.00"))
    pledge = fresh(pledge)
    assert (pledge.delivery, pledge.status, pledge.delivered_cents) == (
        "full",
        "delivered",
        500_000_000_000,
    )


def test_a_cancelled_pledge_keeps_its_status_and_its_records(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("100.00"), currency="EUR", status="cancelled")
    add_record(pledge, amount=Decimal("100.00"))
    pledge = fresh(pledge)
    assert (pledge.status, pledge.delivery, pledge.delivered_amount) == (
        "cancelled",
        "full",
        Decimal(100),
    )
    assert pledge.fulfilments.count() == 1


def test_records_of_a_pledge_in_a_currency_without_a_rate(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("1000000.00"), currency="UAH")
    record = add_record(pledge, amount=Decimal("250000.00"))
    record.refresh_from_db()
    pledge = fresh(pledge)
    assert (pledge.delivered_amount, pledge.delivery) == (Decimal("250000.00"), "partial")
    assert record.eur_cents is None
    assert (pledge.value_eur, pledge.delivered_cents) == (None, None)
    with pytest.raises(ValidationError):
        add_record(pledge, amount=Decimal("750000.01"))


def test_quantities_alone_deliver_a_pledge_without_an_amount(uk):
    pledge = PledgeFactory(**uk, amount=None, currency="", status="announced")
    shells = PledgeItemFactory(pledge=pledge, name="artillery shell", quantity=140000)
    add_record(pledge, items=[(shells, 100000)])
    shells.refresh_from_db()
    assert (shells.quantity_delivered, fresh(pledge).delivery) == (100000, "partial")
    with pytest.raises(ValidationError) as refused:
        add_record(pledge, date=AUGUST, items=[(shells, 40001)])
    assert "quantity" in refused.value.detail["items"][0]
    add_record(pledge, date=AUGUST, items=[(shells, 40000)])
    pledge = fresh(pledge)
    assert (pledge.delivery, pledge.status, pledge.undated) == ("full", "delivered", False)


def test_a_pledge_with_nothing_to_measure_keeps_its_status(uk):
    pledge = PledgeFactory(**uk, amount=None, currency="", status="delivered")
    coyote = PledgeItemFactory(pledge=pledge, name="Coyote armoured vehicle", quantity=None)
    assert fresh(pledge).undated
    add_record(pledge, items=[(coyote, 5)])
    pledge = fresh(pledge)
    assert (pledge.status, pledge.delivery, pledge.undated) == ("delivered", "partial", False)


def test_marked_delivered_without_records_is_undated(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("10.00"), currency="EUR", status="delivered")
    assert (pledge.undated, pledge.delivery, pledge.delivered_amount) == (
        True,
        "full",
        Decimal(10),
    )
    add_record(pledge, kind="allocated", amount=Decimal("5.00"))  # not a delivery
    assert fresh(pledge).undated
    add_record(pledge, amount=Decimal("4.00"))
    pledge = fresh(pledge)
    # Delivery records that fall short: committed, no longer undated.
    assert (pledge.undated, pledge.status, pledge.delivered_amount) == (
        False,
        "committed",
        Decimal(4),
    )


def test_a_record_may_move_to_another_pledge(uk):
    first = PledgeFactory(**uk, amount=Decimal("10.00"), currency="EUR")
    second = PledgeFactory(**uk, amount=Decimal("20.00"), currency="EUR")
    record = add_record(first, amount=Decimal("10.00"))
    assert fresh(first).status == "delivered"
    write_fulfilment(fulfilment=record, fields={"pledge": second})
    first, second = fresh(first), fresh(second)
    # Still marked delivered, now without records: undated, delivered in full.
    assert (first.delivered_amount, first.status, first.undated) == (Decimal(10), "delivered", True)
    assert (second.delivered_amount, second.delivery) == (Decimal(10), "partial")
    record.refresh_from_db()
    assert record.version == 2


def test_the_records_history_keeps_its_items_and_sources(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("10.00"), currency="EUR")
    drone = PledgeItemFactory(pledge=pledge, name="drone", quantity=10)
    record = add_record(pledge, amount=Decimal("5.00"), items=[(drone, 4)])
    write_fulfilment(
        fulfilment=record,
        fields={"note": "Second batch"},
        items=[{"item_id": drone.pk, "quantity": 6}],
    )
    kept = FulfilmentItem.objects.get()
    assert [row.history_type for row in record.history.order_by("history_id")] == ["+", "~"]
    assert [(row.history_type, row.quantity) for row in kept.history.order_by("history_id")] == [
        ("+", 4),
        ("~", 6),
    ]
    assert FulfilmentSource.history.count() == 1  # the same sources are not written again
    record_id = record.pk
    delete_fulfilment(record)
    assert Fulfilment.history.filter(id=record_id).first().history_type == "-"
    assert FulfilmentItem.history.first().history_type == "-"


@pytest.fixture
def drones(uk):
    pledge = PledgeFactory(**uk, amount=Decimal("1000.00"), currency="EUR")
    item = PledgeItemFactory(pledge=pledge, name="drone", quantity=10)
    return pledge, item


def good(target, product, /, **changes):
    items = changes.pop("items", [{"item_id": product.pk, "quantity": 2}])
    sources = changes.pop("sources", [RECORD_SOURCE])
    fields = {"pledge": target, "kind": "delivered", "date": JULY, "amount": Decimal("10.00")}
    return {"fields": {**fields, **changes}, "items": items, "sources": sources}


def other_item(uk):
    return PledgeItemFactory(pledge=PledgeFactory(**uk), name="tank", quantity=5).pk


BAD_RECORDS = [
    ("kind", lambda p, i: {"kind": "promised"}, "kind"),
    ("future", lambda p, i: {"date": timezone.localdate() + dt.timedelta(days=1)}, "date"),
    ("before announced", lambda p, i: {"date": dt.date(2025, 6, 3)}, "date"),
    ("no date", lambda p, i: {"date": None}, "date"),
    ("zero amount", lambda p, i: {"amount": Decimal(0)}, "amount"),
    ("negative amount", lambda p, i: {"amount": Decimal(-1)}, "amount"),
    ("three decimals", lambda p, i: {"amount": Decimal("1.001")}, "amount"),
    ("beyond total", lambda p, i: {"amount": Decimal("1000.01")}, "amount"),
    ("nothing", lambda p, i: {"amount": None, "items": []}, "amount"),
    ("no source", lambda p, i: {"sources": []}, "sources"),
    ("bad source", lambda p, i: {"sources": [{"url": "ftp://x", "publisher": "X"}]}, "sources"),
    ("no pledge", lambda p, i: {"pledge": None}, "pledge"),
    ("zero quantity", lambda p, i: {"items": [{"item_id": i.pk, "quantity": 0}]}, "items"),
    ("too many", lambda p, i: {"items": [{"item_id": i.pk, "quantity": 11}]}, "items"),
    (
        "item twice",
        lambda p, i: {"items": [{"item_id": i.pk, "quantity": 1}] * 2},
        "items",
    ),
    ("unknown item", lambda p, i: {"items": [{"item_id": 10**12, "quantity": 1}]}, "items"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_a_bad_record_is_refused_naming_the_field(drones, case, change, field):
    pledge, item = drones
    before = counts(), fresh(pledge).version
    with pytest.raises(ValidationError) as refused:
        write_fulfilment(**good(pledge, item, **change(pledge, item)))
    assert field in refused.value.message_dict, refused.value.message_dict
    assert (counts(), fresh(pledge).version) == before


def test_an_item_of_another_pledge_is_refused(drones, uk):
    pledge, item = drones
    with pytest.raises(ValidationError) as refused:
        write_fulfilment(**good(pledge, item, items=[{"item_id": other_item(uk), "quantity": 1}]))
    assert refused.value.detail["items"] == [{"item": ["Not an item of this record's pledge."]}]
    assert counts() == (0, 0, 0)


def test_an_amount_on_a_pledge_without_one_is_refused(uk):
    pledge = PledgeFactory(**uk, amount=None, currency="")
    with pytest.raises(ValidationError) as refused:
        add_record(pledge, amount=Decimal("1.00"))
    assert "amount" in refused.value.message_dict
    assert counts() == (0, 0, 0)


def test_a_reannouncement_takes_no_records(uk):
    earlier = PledgeFactory(**uk, amount=Decimal("10.00"), currency="EUR")
    later = PledgeFactory(**uk, amount=Decimal("10.00"), currency="EUR", reannounces=earlier)
    with pytest.raises(ValidationError) as refused:
        add_record(later, amount=Decimal("1.00"))
    assert "pledge" in refused.value.message_dict
    add_record(earlier, amount=Decimal("1.00"))
    # Nor does a pledge with records become a re-announcement.
    with pytest.raises(ValidationError) as refused:
        validate_and_store(fresh(earlier), reannounces=PledgeFactory(**uk))
    assert "reannounces" in refused.value.message_dict


@pytest.fixture
def held(drones):
    pledge, item = drones
    add_record(pledge, amount=Decimal("600.00"), items=[(item, 6)], date=dt.date(2025, 6, 20))
    return fresh(pledge), item


PLEDGE_CHANGES = [
    ({"amount": Decimal("599.99")}, "amount"),
    ({"amount": None, "currency": ""}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"announced_on": dt.date(2025, 6, 21)}, "announced_on"),
    (
        {
            "amount_basis": "per_year",
            "amount": Decimal("100.00"),
            "period_start_year": 2025,
            "period_end_year": 2029,
        },
        "amount",
    ),
]


@pytest.mark.parametrize(("fields", "field"), PLEDGE_CHANGES)
def test_a_pledge_cannot_drop_below_what_its_records_hold(held, fields, field):
    pledge, _ = held
    before = Pledge.objects.values().get(pk=pledge.pk)
    with pytest.raises(ValidationError) as refused:
        validate_and_store(pledge, **fields)
    assert field in refused.value.message_dict
    assert Pledge.objects.values().get(pk=pledge.pk) == before


def test_what_records_hold_of_an_item_stays(held):
    pledge, item = held
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            pledge=pledge, fields={}, items=[{"id": item.pk, "name": "drone", "quantity": 5}]
        )
    assert "quantity" in refused.value.detail["items"][0]
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=fresh(pledge), fields={}, items=[{"name": "drone", "quantity": 10}])
    assert "'drone'" in refused.value.message_dict["items"][0]
    item.refresh_from_db()
    assert (item.quantity, item.quantity_delivered) == (10, 6)
    # Kept by its id, renamed and raised in place: the records still refer to it.
    write_pledge(
        pledge=fresh(pledge),
        fields={},
        items=[{"id": item.pk, "name": "FPV drone", "quantity": 6}, {"name": "radar"}],
    )
    item.refresh_from_db()
    assert (item.name, item.quantity, item.quantity_delivered) == ("FPV drone", 6, 6)
    assert [h.history_type for h in item.history.order_by("history_id")] == ["+", "~"]


def test_item_names_are_unique_within_a_pledge(uk):
    pledge = PledgeFactory(**uk)
    with pytest.raises(ValidationError) as refused:
        write_pledge(
            pledge=pledge, fields={}, items=[{"name": "drone"}, {"name": "drone", "quantity": 2}]
        )
    assert refused.value.detail["items"][1] == {
        "name": ["Row 1 has an item of this name: list each item once, with its whole quantity."]
    }


def test_an_item_id_of_another_pledge_is_refused(uk, drones):
    _, item = drones
    pledge = PledgeFactory(**uk)
    with pytest.raises(ValidationError) as refused:
        write_pledge(pledge=pledge, fields={}, items=[{"id": item.pk, "name": "drone"}])
    assert "id" in refused.value.detail["items"][0]
    assert fresh(item.pledge).items.get().pk == item.pk


def test_deleting_a_pledge_deletes_its_records(held):
    pledge, _ = held
    delete_pledge(pledge)
    assert counts() == (0, 0, 0)
    assert Fulfilment.history.filter(history_type="-").count() == 1


def test_a_pledge_marked_delivered_by_its_editors_follows_its_records(held):
    pledge, _ = held
    validate_and_store(pledge, status="delivered")
    pledge = fresh(pledge)
    # 600.00 of 1,000.00 delivered: the write is kept in the history, then the records' word.
    assert pledge.status == "committed"
    reasons = [row.history_change_reason for row in pledge.history.order_by("-history_id")[:2]]
    assert reasons == [DELIVERY_SHORT, None]


def test_store_pledge_follows_the_records_too(held):
    pledge, _ = held
    pledge.amount = Decimal("600.00")
    store_pledge(pledge)
    assert (pledge.delivery, pledge.status) == ("full", "delivered")
