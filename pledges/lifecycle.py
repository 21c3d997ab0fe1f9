"""What a pledge's fulfilment records say of it (docs/methodology.md#allocated-and-delivered):
how much was allocated and delivered in its own currency, whether it was delivered in full, and
whether it is ``undated`` (marked delivered without records), kept on the pledge; and on each
record, what it adds in euro cents.

A record converts at its pledge's own rate (``eur_rate``), so the delivered share of a pledge
does not move with exchange rates. Its euro cents are the difference of the rounded running
totals before and after it, so that a pledge's records always add up to its converted
delivered amount to the cent, whatever their number.

``refresh_lifecycle`` recomputes all of it from what is stored; ``counted.refresh_counted_values``
calls it for the pledges a write touched (every write path calls that), before the counted
cents of the reports (``counted``) are taken from it. ``follow_records`` then gives the status
that the records decide (delivered in full: ``delivered``; a ``delivered`` pledge whose delivery
records fall short: ``committed``), with a history row saying why.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from .choices import Delivery, FulfilmentKind, PledgeStatus
from .conversion import round_money, to_cents
from .models import LIFECYCLE_FIELDS, Fulfilment, FulfilmentItem, Pledge, PledgeItem

ZERO = Decimal("0.00")
DELIVERED, ALLOCATED = FulfilmentKind.DELIVERED.value, FulfilmentKind.ALLOCATED.value


@dataclass
class Recorded:
    """A pledge's records added up, per kind, in its own currency."""

    allocated: Decimal = ZERO
    delivered: Decimal = ZERO
    delivered_records: int = 0
    items_delivered_in_full: bool = False


def lifecycle_values(pledge: Pledge, recorded: Recorded) -> tuple:
    """(allocated_amount, delivered_amount, delivery, undated) of ``pledge`` given its records.

    A pledge marked delivered without delivery records counts as delivered in full on its
    announcement date (``undated``). What was delivered was allocated, whether or not a record
    says so: allocated is never below delivered.
    """
    undated = pledge.status == PledgeStatus.DELIVERED and recorded.delivered_records == 0
    if pledge.amount is None:
        allocated = delivered = None
        if undated or recorded.items_delivered_in_full:
            delivery = Delivery.FULL
        else:
            delivery = Delivery.PARTIAL if recorded.delivered_records else Delivery.NONE
        return allocated, delivered, delivery.value, undated
    total = pledge.total_amount
    delivered = total if undated else min(recorded.delivered, total)
    allocated = min(max(recorded.allocated, delivered), total)
    if delivered >= total:
        delivery = Delivery.FULL
    else:
        delivery = Delivery.PARTIAL if delivered > 0 else Delivery.NONE
    return allocated, delivered, delivery.value, undated


def set_lifecycle_without_records(pledge: Pledge) -> None:
    """The lifecycle values of a pledge that has no records (a new one): set by the write path
    before it is written, so that bulk writes need no second pass."""
    values = lifecycle_values(pledge, Recorded())
    for name, value in zip(LIFECYCLE_FIELDS, values, strict=True):
        setattr(pledge, name, value)


def refresh_lifecycle(pledge_ids: Iterable[int]) -> set[int]:
    """Recompute the records' running totals and euro cents, the items' delivered quantities
    and the pledges' lifecycle values of ``pledge_ids`` from what is stored; write what changed.
    Returns the ids of the pledges whose shown values changed (their version is the caller's)."""
    ids = set(pledge_ids)
    if not ids:
        return set()
    pledges = {
        pledge.pk: pledge
        for pledge in Pledge.objects.filter(pk__in=ids).only(
            "id", "status", "amount", "total_amount", "eur_rate", *LIFECYCLE_FIELDS
        )
    }
    recorded = _refresh_records(pledges)
    items_complete = _refresh_items(ids)
    changed = []
    for pk, pledge in pledges.items():
        totals = recorded.get(pk, Recorded())
        totals.items_delivered_in_full = items_complete.get(pk, False)
        values = lifecycle_values(pledge, totals)
        if values != tuple(getattr(pledge, name) for name in LIFECYCLE_FIELDS):
            for name, value in zip(LIFECYCLE_FIELDS, values, strict=True):
                setattr(pledge, name, value)
            changed.append(pledge)
    Pledge.objects.bulk_update(changed, LIFECYCLE_FIELDS, batch_size=2000)
    return {pledge.pk for pledge in changed}


def _refresh_records(pledges: dict[int, Pledge]) -> dict[int, Recorded]:
    """Running totals and euro cents of every record of ``pledges``; their sums per pledge."""
    recorded: dict[int, Recorded] = defaultdict(Recorded)
    running: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    stale = []
    records = Fulfilment.objects.filter(pledge_id__in=pledges).order_by(
        "pledge_id", "kind", "date", "id"
    )
    for record in records.only(
        "id", "pledge_id", "kind", "amount", "cumulative_amount", "eur_cents"
    ):
        pledge = pledges[record.pledge_id]
        before = running[record.pledge_id, record.kind]
        after = before + (record.amount or ZERO)
        running[record.pledge_id, record.kind] = after
        cents = None
        if record.amount is not None and pledge.eur_rate is not None:
            cents = eur_cents(after, pledge.eur_rate) - eur_cents(before, pledge.eur_rate)
        totals = recorded[record.pledge_id]
        if record.kind == DELIVERED:
            totals.delivered = after
            totals.delivered_records += 1
        else:
            totals.allocated = after
        if (record.cumulative_amount, record.eur_cents) != (after, cents):
            record.cumulative_amount, record.eur_cents = after, cents
            stale.append(record)
    Fulfilment.objects.bulk_update(stale, ["cumulative_amount", "eur_cents"], batch_size=2000)
    return recorded


def eur_cents(amount: Decimal, eur_rate: Decimal) -> int:
    """``amount`` (a pledge's own currency) in euro cents at the pledge's rate, rounded half up."""
    return to_cents(round_money(amount / eur_rate))


def _refresh_items(pledge_ids: set[int]) -> dict[int, bool]:
    """Each item's delivered quantity from the delivery records; per pledge, whether every
    item with a stated quantity was delivered in full (and there is one)."""
    delivered = dict(
        FulfilmentItem.objects.filter(item__pledge_id__in=pledge_ids, fulfilment__kind=DELIVERED)
        .values("item_id")
        .annotate(total=Sum("quantity"))
        .values_list("item_id", "total")
    )
    complete: dict[int, bool] = {}
    stale = []
    for item in PledgeItem.objects.filter(pledge_id__in=pledge_ids).only(
        "id", "pledge_id", "quantity", "quantity_delivered"
    ):
        quantity_delivered = delivered.get(item.pk, 0)
        if item.quantity is not None:
            full = quantity_delivered >= item.quantity
            complete[item.pledge_id] = complete.get(item.pledge_id, True) and full
        if item.quantity_delivered != quantity_delivered:
            item.quantity_delivered = quantity_delivered
            stale.append(item)
    PledgeItem.objects.bulk_update(stale, ["quantity_delivered"], batch_size=2000)
    return complete


def recorded_cents(pledge_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """The euro cents of each pledge's records, by kind: {pledge id: {kind: cents}}."""
    cents: dict[int, dict[str, int]] = defaultdict(dict)
    for pledge_id, kind, total in (
        Fulfilment.objects.filter(pledge_id__in=pledge_ids, eur_cents__isnull=False)
        .values("pledge_id", "kind")
        .annotate(total=Sum("eur_cents"))
        .values_list("pledge_id", "kind", "total")
    ):
        cents[pledge_id][kind] = int(total)
    return cents


# The change reasons of the history rows that ``follow_records`` writes (at most 100 characters).
DELIVERED_IN_FULL = "Status follows the records: delivered in full"
DELIVERY_SHORT = "Status follows the records: the delivery records fall short of the total"


def follow_records(pledge_ids: Iterable[int]) -> set[int]:
    """Give the pledges of ``pledge_ids`` the status their stored records decide
    (docs/methodology.md#allocated-and-delivered); returns the ids whose status changed.

    A pledge that its delivery records deliver in full becomes ``delivered``; a ``delivered``
    pledge whose delivery records fall short of what it promised becomes ``committed``. A
    cancelled pledge stays cancelled; a pledge marked delivered without delivery records is
    ``undated``, not short; a pledge with nothing to measure its records against (no amount, no
    stated quantity) keeps the status its editors give it. Each change is a new version of the
    pledge: its version is incremented in the database and a history row says why.
    """
    ids = sorted(set(pledge_ids))
    if not ids:
        return set()
    measurable = Q(amount__isnull=False) | Exists(
        PledgeItem.objects.filter(pledge=OuterRef("pk"), quantity__isnull=False)
    )
    decided = (
        (
            PledgeStatus.DELIVERED,
            Q(delivery=Delivery.FULL, undated=False)
            & ~Q(status__in=[PledgeStatus.DELIVERED, PledgeStatus.CANCELLED]),
            DELIVERED_IN_FULL,
        ),
        (
            PledgeStatus.COMMITTED,
            Q(status=PledgeStatus.DELIVERED, undated=False)
            & ~Q(delivery=Delivery.FULL)
            & measurable,
            DELIVERY_SHORT,
        ),
    )
    changed: set[int] = set()
    for status, condition, reason in decided:
        pks = list(Pledge.objects.filter(condition, pk__in=ids).values_list("pk", flat=True))
        if not pks:
            continue
        Pledge.objects.filter(pk__in=pks).update(
            status=status, version=F("version") + 1, updated_at=timezone.now()
        )
        Pledge.history.bulk_history_create(
            list(Pledge.objects.filter(pk__in=pks)), update=True, default_change_reason=reason
        )
        changed.update(pks)
    return changed
