"""Fulfilment records (docs/methodology.md#allocated-and-delivered): their rules and the one way
they are written, shared by the API, the admin and imports.

A record says that (part of) a pledge was allocated or delivered on a date: an amount in the
pledge's own currency, quantities of the pledge's items, or both, with at least one source.

- ``record_field_errors``: dated between its pledge's announcement and today; an amount only
  when the pledge states one; never on a re-announcement (its money counts in the earlier
  pledge, where its records go); never more than promised: the amounts of a pledge's records of
  one kind add up to at most its total, and a package's to at most what it counts once its
  components are subtracted, compared in euro cents at the package's own rate, as the reports
  count them.
- ``record_item_errors``: items of its own pledge, each once per record, whose quantities (per
  kind) add up to at most the quantity pledged where it is known; an amount or at least one
  item quantity.
- ``pledge_record_errors``: what a write of a pledge may no longer do once records hold part of
  it (called by ``services.validate_pledge`` and the admin's pledge form).

``write_fulfilment`` validates a record and writes it with its items and sources (the admin
writes through ``store_fulfilment`` and ``settle``); ``settle`` then brings its pledge up to
date: the lifecycle values (``lifecycle``), the status its records decide
(``lifecycle.follow_records``), the pledge's version when what it shows changed, and its
counted values (``counted``).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import conversion
from .choices import FulfilmentKind, PledgeStatus
from .counted import refresh_counted_values
from .errors import RowsValidationError
from .lifecycle import eur_cents, follow_records, refresh_lifecycle
from .models import (
    SOURCE_FIELDS,
    Fulfilment,
    FulfilmentItem,
    FulfilmentSource,
    Pledge,
    PledgeItem,
)
from .package_rules import PackageLookups, value_eur_for_check

ZERO = Decimal("0.00")
CHUNK_SIZE = 2000
RECORD_FIELDS = ["pledge", "kind", "date", "amount", "note"]


class FulfilmentValidationError(RowsValidationError):
    """A refused record: ``detail`` names every bad field, with one dict of errors per row for
    ``items`` and ``sources`` (see ``RowsValidationError``)."""


def money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def euros(cents: int) -> str:
    return f"€{Decimal(cents).scaleb(-2):,.2f}"


def _chunks(values: list, size: int = CHUNK_SIZE):
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- what a pledge's records hold ----------------------------------------------------------


@dataclass
class Held:
    """What the stored records of one pledge hold (all of them, or all but the one written),
    with the stored pledge's currency and conversion, which its package's checks read."""

    amounts: dict[str, Decimal] = field(default_factory=dict)  # by kind
    quantities: dict[tuple[int, str], int] = field(default_factory=dict)  # by (item id, kind)
    first_date: dt.date | None = None
    currency: str = ""
    eur_rate: Decimal | None = None
    value_eur: Decimal | None = None

    def add(self, kind: str, date: dt.date, amount: Decimal | None, items) -> None:
        """Count one more record (``items``: (item id, quantity) pairs)."""
        if amount is not None:
            self.amounts[kind] = self.amounts.get(kind, ZERO) + amount
        self.first_date = date if self.first_date is None else min(self.first_date, date)
        for item_id, quantity in items:
            self.quantities[item_id, kind] = self.quantities.get((item_id, kind), 0) + quantity

    @property
    def with_amounts(self) -> bool:
        return bool(self.amounts)

    @property
    def items(self) -> set[int]:
        return {item_id for item_id, _ in self.quantities}

    def quantity(self, item_id: int) -> int:
        """The most that the records of one kind hold of the item."""
        return max((q for (pk, _), q in self.quantities.items() if pk == item_id), default=0)


def load_held(pledge_ids: Iterable[int | None], *, excluding: int | None = None) -> dict[int, Held]:
    """What the stored records of each pledge hold (leaving out the record ``excluding``); a
    pledge without records has no entry. Amounts are added up here, in decimals: SQLite would
    add them up in floating point."""
    held: dict[int, Held] = {}
    for chunk in _chunks(sorted({pk for pk in pledge_ids if pk is not None})):
        records = Fulfilment.objects.filter(pledge_id__in=chunk)
        if excluding is not None:
            records = records.exclude(pk=excluding)
        items: dict[int, list] = defaultdict(list)
        for record_id, item_id, quantity in FulfilmentItem.objects.filter(
            fulfilment__in=records
        ).values_list("fulfilment_id", "item_id", "quantity"):
            items[record_id].append((item_id, quantity))
        for pk, pledge_id, kind, date, amount in records.order_by().values_list(
            "pk", "pledge_id", "kind", "date", "amount"
        ):
            held.setdefault(pledge_id, Held()).add(kind, date, amount, items[pk])
        for pk, currency, eur_rate, value_eur in Pledge.objects.filter(
            pk__in=[pk for pk in chunk if pk in held]
        ).values_list("pk", "currency", "eur_rate", "value_eur"):
            entry = held[pk]
            entry.currency, entry.eur_rate, entry.value_eur = currency, eur_rate, value_eur
    return held


class RecordLookups:
    """What the records of a pledge hold, asked of the database one pledge at a time.
    ``RecordFacts`` answers the same for many pledges loaded at once (imports)."""

    def held(self, pk: int | None) -> Held | None:
        return load_held([pk]).get(pk) if pk is not None else None


class RecordFacts(RecordLookups):
    """``RecordLookups`` loaded for the pledges ``pledge_ids`` in a few queries; the answers
    are those of the database when loaded (anything else is asked of it)."""

    def __init__(self, pledge_ids: Iterable[int | None]):
        self._loaded = {pk for pk in pledge_ids if pk is not None}
        self._held = load_held(self._loaded)

    def held(self, pk: int | None) -> Held | None:
        if pk not in self._loaded:
            return super().held(pk)
        return self._held.get(pk)


@dataclass
class PledgeRecords:
    """A pledge as a record is checked against it: its items, what its other records hold and
    the euro cents of its non-cancelled components (for a package)."""

    pledge: Pledge
    items: dict[int, PledgeItem]
    held: Held
    components_cents: int = 0


def pledge_records(
    pledge_ids: Iterable[int], *, excluding: int | None = None, lock: bool = False
) -> dict[int, PledgeRecords]:
    """``PledgeRecords`` of the pledges ``pledge_ids``, in a few queries for any number; with
    ``lock``, their rows are locked until the end of the transaction (in the order of their
    ids, so that two writers cannot wait for each other), before their records are read: a
    writer that held the lock has committed what they hold by then."""
    ids = sorted(set(pledge_ids))
    found: dict[int, PledgeRecords] = {}
    for chunk in _chunks(ids):
        pledges = Pledge.objects.filter(pk__in=chunk).order_by("pk")
        for pledge in pledges.select_for_update() if lock else pledges:
            found[pledge.pk] = PledgeRecords(pledge, {}, Held())
    for pk, held in load_held(ids, excluding=excluding).items():
        if pk in found:
            found[pk].held = held
    for chunk in _chunks(ids):
        for item in PledgeItem.objects.filter(pledge_id__in=chunk):
            found[item.pledge_id].items[item.pk] = item
        for parent_id, value_eur in (
            Pledge.objects.filter(parent_id__in=chunk, value_eur__isnull=False)
            .exclude(status=PledgeStatus.CANCELLED)
            .values_list("parent_id", "value_eur")
        ):
            found[parent_id].components_cents += conversion.to_cents(value_eur)
    return found


# --- the rules of a record ------------------------------------------------------------------


def _refuser(errors: dict[str, list[str]]):
    def refuse(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    return refuse


def record_field_errors(
    record: Fulfilment, context: PledgeRecords | None, today: dt.date | None = None
) -> dict[str, list[str]]:
    """The objections to the record's own fields against its pledge (``context``; None when
    it has no valid pledge), by field."""
    errors: dict[str, list[str]] = {}
    refuse = _refuser(errors)
    if record.date and record.date > (today or timezone.localdate()):
        refuse("date", "A record cannot be dated in the future.")
    if context is None:
        return errors
    pledge = context.pledge
    if pledge.reannounces_id is not None:
        refuse(
            "pledge",
            f"This pledge re-announces pledge {pledge.reannounces_id}: its money counts there, "
            "so its allocations and deliveries are recorded there.",
        )
    if record.date and record.date < pledge.announced_on:
        refuse(
            "date",
            "A record cannot be dated before its pledge was announced "
            f"({pledge.announced_on.isoformat()}).",
        )
    if record.amount is None:
        return errors
    if pledge.amount is None:
        refuse(
            "amount",
            "The pledge states no amount: its records give quantities only (leave the amount "
            "empty).",
        )
    elif record.kind in FulfilmentKind.values:
        _check_amount_limits(record, context, refuse)
    return errors


def _check_amount_limits(record: Fulfilment, context: PledgeRecords, refuse) -> None:
    """Never more than promised: the pledge's records of the record's kind add up to at most
    its total, and a package's to at most what it counts once its components are subtracted."""
    pledge, kind = context.pledge, record.kind
    recorded = context.held.amounts.get(kind, ZERO) + record.amount
    total = conversion.pledge_total(
        pledge.amount, pledge.amount_basis, pledge.period_start_year, pledge.period_end_year
    )
    if recorded > total:
        refuse(
            "amount",
            f"The {kind} records of this pledge would add up to "
            f"{money(recorded, pledge.currency)}, more than its total of "
            f"{money(total, pledge.currency)}.",
        )
        return
    if not context.components_cents or pledge.eur_rate is None or pledge.value_eur is None:
        return
    remainder = max(0, conversion.to_cents(pledge.value_eur) - context.components_cents)
    cents = eur_cents(recorded, pledge.eur_rate)
    if cents > remainder:
        refuse(
            "amount",
            f"This package counts {euros(remainder)} once its components are subtracted; its "
            f"{kind} records would add up to {euros(cents)} at its rate.",
        )


def record_item_errors(
    record: Fulfilment, rows: list[FulfilmentItem], context: PledgeRecords | None
) -> tuple[list[dict[str, list[str]]], list[str]]:
    """The objections to the record's items, one dict per row, and to the record as a whole
    (an amount or at least one item quantity)."""
    row_errors: list[dict[str, list[str]]] = []
    seen: dict[int, int] = {}
    for number, row in enumerate(rows, start=1):
        errors: dict[str, list[str]] = {}
        if context is None:
            pass
        elif row.item_id not in context.items:
            errors["item"] = ["Not an item of this record's pledge."]
        elif row.item_id in seen:
            errors["item"] = [
                f"This item is already in row {seen[row.item_id]}: give it once, with the "
                "whole quantity."
            ]
        else:
            seen[row.item_id] = number
            message = _quantity_error(record.kind, context.items[row.item_id], row, context)
            if message:
                errors["quantity"] = [message]
        row_errors.append(errors)
    general = []
    if record.amount is None and not rows:
        general.append("A record needs an amount or at least one item quantity.")
    return row_errors, general


def _quantity_error(
    kind: str, item: PledgeItem, row: FulfilmentItem, context: PledgeRecords
) -> str | None:
    if item.quantity is None or not isinstance(row.quantity, int) or row.quantity < 1:
        return None
    total = context.held.quantities.get((item.pk, kind), 0) + row.quantity
    if total <= item.quantity:
        return None
    return (
        f"The {kind} records of this pledge would add up to {total:,} of "
        f"{item.name!r}, more than the {item.quantity:,} pledged."
    )


# --- what a pledge write may no longer do once records hold part of it ----------------------


def pledge_record_errors(
    pledge: Pledge,
    items: list[PledgeItem] | None,
    *,
    records: RecordLookups,
    packages: PackageLookups,
    rates: conversion.RateSource,
) -> dict[str, Any]:
    """The objections of the stored records to ``pledge`` as it would be saved with ``items``
    (None: its items stay), by field; ``items`` errors are one dict per row when a row is at
    fault, messages when a left-out item is."""
    errors: dict[str, Any] = {}
    refuse = _refuser(errors)
    held = records.held(pledge.pk)
    if held is not None:
        _check_pledge_holds(pledge, held, refuse)
        if items is not None:
            item_errors = _item_hold_errors(items, held, pledge)
            if item_errors:
                errors["items"] = item_errors
        if pledge.parent_id is None and held.with_amounts:
            _check_package_holds(pledge, held, packages.component_values(pledge.pk), rates, refuse)
    if pledge.parent_id is not None and pledge.status != PledgeStatus.CANCELLED:
        _check_component_leaves_room(pledge, records, packages, rates, refuse)
    return errors


def _check_pledge_holds(pledge: Pledge, held: Held, refuse) -> None:
    if pledge.reannounces_id is not None:
        refuse(
            "reannounces",
            "This pledge has allocation or delivery records: a re-announcement has none (they "
            "belong to the pledge it re-announces; move them there first).",
        )
    first = held.first_date
    if first is not None and pledge.announced_on and pledge.announced_on > first:
        refuse(
            "announced_on",
            f"A record of this pledge is dated {held.first_date.isoformat()}: it cannot be "
            "announced after that.",
        )
    if not held.with_amounts:
        return
    if pledge.amount is None:
        refuse("amount", "Its records give amounts: the pledge keeps one.")
        return
    if pledge.currency != held.currency:
        refuse(
            "currency",
            f"Its records give amounts in {held.currency}: the currency cannot change while "
            "they do.",
        )
    total = conversion.pledge_total(
        pledge.amount, pledge.amount_basis, pledge.period_start_year, pledge.period_end_year
    )
    for kind, recorded in sorted(held.amounts.items()):
        if total is not None and recorded > total:
            refuse(
                "amount",
                f"Its {kind} records add up to {money(recorded, held.currency)}: its total "
                f"(amount, basis and period) cannot be less.",
            )


def _item_hold_errors(items: list[PledgeItem], held: Held, pledge: Pledge) -> list:
    """Per-row errors of kept items whose quantity drops below what records hold; otherwise
    a message for each left-out item that records refer to."""
    rows = []
    for item in items:
        recorded = held.quantity(item.pk) if item.pk else 0
        if item.quantity is not None and recorded > item.quantity:
            rows.append(
                {"quantity": [f"Records hold {recorded:,} of this item: it cannot be less."]}
            )
        else:
            rows.append({})
    if any(rows):
        return rows
    kept = {item.pk for item in items if item.pk}
    left_out = sorted(held.items - kept)
    if not left_out:
        return []
    names = dict(PledgeItem.objects.filter(pk__in=left_out).values_list("pk", "name"))
    return [
        f"The item {names.get(pk, '?')!r} (id {pk}) is in allocation or delivery records of "
        "this pledge: it cannot be removed (give it with its id to keep it)."
        for pk in left_out
    ]


def _check_package_holds(pledge: Pledge, held: Held, components, rates, refuse) -> None:
    """A package's own records still fit in what it counts once its components are
    subtracted, at the rate it would be saved with."""
    if not pledge.currency or pledge.announced_on is None:
        return
    total = conversion.pledge_total(
        pledge.amount, pledge.amount_basis, pledge.period_start_year, pledge.period_end_year
    )
    converted = conversion.convert(
        total, pledge.currency, conversion.EURO, pledge.announced_on, rates
    )
    subtracted = sum(conversion.to_cents(v) for v in components.values() if v is not None)
    if converted is None or not subtracted:
        return
    _refuse_beyond_remainder(
        held, converted.source_rate, conversion.to_cents(converted.value) - subtracted, refuse
    )


def _check_component_leaves_room(pledge, records: RecordLookups, packages, rates, refuse):
    """A component does not take from its package what the package's own records hold."""
    held = records.held(pledge.parent_id)
    if held is None or not held.with_amounts or held.eur_rate is None or held.value_eur is None:
        return
    values = packages.component_values(pledge.parent_id)
    values[pledge.pk] = value_eur_for_check(pledge, rates)
    subtracted = sum(conversion.to_cents(v) for v in values.values() if v is not None)
    remainder = conversion.to_cents(held.value_eur) - subtracted
    _refuse_beyond_remainder(held, held.eur_rate, remainder, refuse)


def _refuse_beyond_remainder(held: Held, eur_rate: Decimal, remainder: int, refuse) -> None:
    remainder = max(0, remainder)
    for kind, recorded in sorted(held.amounts.items()):
        cents = eur_cents(recorded, eur_rate)
        if cents > remainder:
            refuse(
                "amount",
                f"The package's own {kind} records hold {euros(cents)}: with its components "
                f"subtracted it would count only {euros(remainder)}.",
            )


# --- validating and writing a record ---------------------------------------------------------


@dataclass
class FulfilmentWrite:
    """A validated record with the items and sources that replace its own (None: kept), and
    the pledge it leaves (when it moves to another)."""

    fulfilment: Fulfilment
    items: list[FulfilmentItem] | None
    sources: list[FulfilmentSource] | None
    left: int | None = None


def _clean_rows(model, rows, record, exclude) -> tuple[list, list[dict]]:
    objects, errors = [], []
    for row in rows:
        child = model(fulfilment=record, **row)
        try:
            child.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors.append(error.message_dict)
        else:
            errors.append({})
        objects.append(child)
    return objects, errors


def _record_context(record: Fulfilment, lock: bool, errors: dict) -> PledgeRecords | None:
    """The record's pledge as it is checked against (locked with ``lock``), or None (refused)."""
    if record.pledge_id is None:
        errors.setdefault("pledge", []).append("A record belongs to a pledge.")
        return None
    stored = Fulfilment.objects.filter(pk=record.pk).values_list("pledge_id", flat=True)
    ids = {record.pledge_id, *(stored if record.pk else [])}
    contexts = pledge_records(ids, excluding=record.pk, lock=lock)
    context = contexts.get(record.pledge_id)
    if context is None:
        errors.setdefault("pledge", []).append("No pledge with this id.")
    return context


def validate_fulfilment(
    *,
    fulfilment: Fulfilment | None = None,
    fields: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
    lock: bool = False,
    context: PledgeRecords | None = None,
) -> FulfilmentWrite:
    """Set ``fields`` on ``fulfilment`` (or a new record), check it with ``items`` (dicts of
    ``item_id`` and ``quantity``) and ``sources`` (dicts of source fields), None keeping its
    own; write nothing. Raises FulfilmentValidationError naming every bad field. With
    ``lock`` (inside a transaction) its pledge's row is locked, so that two writers cannot
    both take the last of what was promised. ``context``: its pledge as loaded for many
    records at once (imports: ``pledge_records``, with the records before it held)."""
    record = fulfilment or Fulfilment()
    left = record.pledge_id if record.pk else None
    for name, value in fields.items():
        setattr(record, name, value)
    errors: dict[str, Any] = {}
    try:
        record.full_clean(exclude=["pledge"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if context is None:
        context = _record_context(record, lock, errors)
    for name, messages in record_field_errors(record, context).items():
        errors.setdefault(name, []).extend(messages)
    new_items, new_sources = _check_children(record, items, sources, context, errors)
    if errors:
        raise FulfilmentValidationError(errors)
    moved = left if left is not None and left != record.pledge_id else None
    return FulfilmentWrite(record, new_items, new_sources, moved)


def _check_children(record, items, sources, context, errors: dict) -> tuple:
    new_items = new_sources = None
    if items is not None:
        new_items, row_errors = _clean_rows(FulfilmentItem, items, record, ["fulfilment", "item"])
        rows = new_items
    else:
        row_errors, rows = [], list(record.items.all()) if record.pk else []
    rule_rows, general = record_item_errors(record, rows, context)
    if items is not None:
        for row, more in zip(row_errors, rule_rows, strict=True):
            for name, messages in more.items():
                row.setdefault(name, []).extend(messages)
        if any(row_errors):
            errors["items"] = row_errors
    elif any(rule_rows):
        errors["items"] = [message for row in rule_rows for m in row.values() for message in m]
    if general:
        errors.setdefault("amount", []).extend(general)
    if sources is not None:
        new_sources, source_errors = _clean_rows(FulfilmentSource, sources, record, ["fulfilment"])
        if any(source_errors):
            errors["sources"] = source_errors
    has_sources = (
        bool(new_sources)
        if sources is not None
        else (record.pk is not None and record.sources.exists())
    )
    if not has_sources and "sources" not in errors:
        errors["sources"] = ["A record needs at least one source."]
    return new_items, new_sources


def store_fulfilment(record: Fulfilment) -> Fulfilment:
    """Save the record's own row with its next version (incremented in the database, so that
    concurrent writers cannot reuse a version); its pledge follows with ``settle``."""
    updating = not record._state.adding
    if updating:
        record.version = F("version") + 1
    record.save()
    if updating:
        record.refresh_from_db(fields=["version"])
    return record


@transaction.atomic
def save_fulfilment(write: FulfilmentWrite) -> Fulfilment:
    """Save a validated record, then its items (kept by item, so that an unchanged one is not
    written again) and sources (replaced when they differ), then settle its pledge(s)."""
    record = store_fulfilment(write.fulfilment)
    if write.items is not None:
        _write_items(record, write.items)
    if write.sources is not None:
        _write_sources(record, write.sources)
    settle([record.pledge_id, write.left])
    return record


def _write_items(record: Fulfilment, items: list[FulfilmentItem]) -> None:
    stored = {row.item_id: row for row in record.items.all()}
    wanted = {row.item_id for row in items}
    for item_id, row in stored.items():
        if item_id not in wanted:
            row.delete()  # one by one, so that each deletion is in the history
    for row in items:
        old = stored.get(row.item_id)
        if old is None:
            row.fulfilment = record
            row.save()
        elif old.quantity != row.quantity:
            old.quantity = row.quantity
            old.save(update_fields=["quantity"])


def source_values(source) -> tuple:
    return tuple(getattr(source, name) for name in SOURCE_FIELDS)


def _write_sources(record: Fulfilment, sources: list[FulfilmentSource]) -> None:
    stored = list(record.sources.all())
    if [source_values(s) for s in stored] == [source_values(s) for s in sources]:
        return
    for source in stored:
        source.delete()
    for source in sources:
        source.fulfilment = record
        source.save()


@transaction.atomic
def write_fulfilment(
    *,
    fulfilment: Fulfilment | None = None,
    fields: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
) -> Fulfilment:
    """Create ``fulfilment`` (or a new record) with ``fields``, its items and sources replaced
    when given; nothing is written unless everything is valid (see ``validate_fulfilment``)."""
    write = validate_fulfilment(
        fulfilment=fulfilment, fields=fields, items=items, sources=sources, lock=True
    )
    return save_fulfilment(write)


def delete_with_children(owner, *managers: str, moment: dt.datetime | None = None) -> None:
    """Delete ``owner`` after the rows of its ``managers`` (``"items"``, ``"sources"``), one by
    one, every history row at the same ``moment``: the children's deletions belong to the
    owner's deletion, not to its version before (``history``)."""
    moment = moment or timezone.now()
    for name in managers:
        for child in getattr(owner, name).all():
            child._history_date = moment
            child.delete()
    owner._history_date = moment
    owner.delete()


@transaction.atomic
def delete_fulfilment(record: Fulfilment, moment: dt.datetime | None = None) -> None:
    """Delete a record with its items and sources; its pledge follows."""
    Pledge.objects.select_for_update().filter(pk=record.pledge_id).first()
    pledge_id = record.pledge_id
    delete_with_children(record, "items", "sources", moment=moment)
    settle([pledge_id])


def settle(pledge_ids: Iterable[int | None]) -> set[int]:
    """After records of ``pledge_ids`` were written or deleted: their lifecycle values, the
    status the records decide (``follow_records``, which writes its own version and history
    row), the version of each pledge whose shown values changed (its ETag: incremented in the
    database), and their counted values. Returns the ids of the pledges whose version moved."""
    ids = sorted({pk for pk in pledge_ids if pk is not None})
    moved: set[int] = set()
    for chunk in _chunks(ids):
        changed = refresh_lifecycle(chunk)
        flipped = follow_records(chunk)
        bumped = sorted(changed - flipped)
        if bumped:
            Pledge.objects.filter(pk__in=bumped).update(version=F("version") + 1)
        moved |= changed | flipped
    refresh_counted_values(ids)
    return moved
