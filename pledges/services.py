"""Writes that several entry points share: the API, the admin, imports and commands.

``write_pledge`` is the one way a pledge is created or changed together with its items and
sources, so that every entry point refuses the same things with the same messages.
``prepare_write`` sets what a pledge derives from its fields (total, EUR value, rate date, what
it counts on its own) and its next version: every path that writes pledges calls it
(``save_pledge``, the admin, the importer, ``generate_pledges``; ``recompute_derived_values``
the derived values alone). After writing, each calls ``counted.refresh_counted_values`` with
the pledges written and the packages they left.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import conversion
from .choices import AmountBasis
from .codes import normalise_code
from .counted import lifecycle_cents, refresh_counted_values, refresh_packages
from .errors import RowsValidationError
from .fulfilments import RecordLookups, delete_with_children, pledge_record_errors
from .lifecycle import set_lifecycle_without_records
from .models import (
    DERIVED_FIELDS,
    LIFECYCLE_FIELDS,
    REPORT_FIELDS,
    ExchangeRate,
    Fulfilment,
    Pledge,
    PledgeItem,
    Source,
    validate_sources,
)
from .package_rules import PackageLookups, check_package_rules

# Checks that a bulk caller (the importer) makes once for a whole file instead of once per row:
# it resolves these foreign keys and the external reference from the database itself (a parent
# that does not exist is still refused by ``Pledge.clean``).
BULK_CHECKED_FIELDS = ["donor", "category", "event", "parent", "reannounces", "external_ref"]


class PledgeValidationError(RowsValidationError):
    """Refused pledge data. ``detail`` names every bad field; for ``items`` and ``sources`` it
    holds one dict of errors per row (empty for a good row), as an API would answer them
    (see ``errors.RowsValidationError``)."""


@dataclass
class PledgeWrite:
    """A validated pledge with the children that will replace its own (None: keep them)."""

    pledge: Pledge
    items: list[PledgeItem] | None
    sources: list[Source] | None


def _clean_children(
    model, rows: Iterable[Mapping[str, Any]], pledge: Pledge, *, bulk_checked: bool
) -> tuple[list, list[dict]]:
    """Build and validate child rows; errors are a list with one dict per row (empty if fine)."""
    objects, errors = [], []
    for row in rows:
        child = model(pledge=pledge, **row)
        try:
            child.full_clean(
                exclude=["pledge"],
                validate_unique=not bulk_checked,
                validate_constraints=not bulk_checked,
            )
        except ValidationError as error:
            errors.append(error.message_dict)
        else:
            errors.append({})
        objects.append(child)
    return objects, errors


def _clean_items(
    rows: Iterable[Mapping[str, Any]], pledge: Pledge, *, bulk_checked: bool
) -> tuple[list[PledgeItem], list[dict]]:
    """Build and validate the items that a pledge will have. A row with an ``id`` is that
    stored item of the pledge, changed in place (records refer to items by id); a row without
    one is a new item. Each name once per pledge (spreadsheets name the items). A bulk caller
    (the importer) found the ids in the database itself."""
    stored = set()
    if not bulk_checked and pledge.pk is not None:
        stored = set(pledge.items.values_list("pk", flat=True))
    rows = [dict(row) for row in rows]
    ids = [row.pop("id", None) for row in rows]
    items, errors = _clean_children(PledgeItem, rows, pledge, bulk_checked=bulk_checked)
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    for number, (item, pk, row_errors) in enumerate(zip(items, ids, errors, strict=True), 1):
        if pk is not None:
            if not bulk_checked and pk not in stored:
                row_errors.setdefault("id", []).append("This pledge has no item with this id.")
            elif pk in seen_ids:
                row_errors.setdefault("id", []).append(f"This item is also in row {seen_ids[pk]}.")
            else:
                seen_ids[pk] = number
                item.pk, item._state.adding = pk, False
        if item.name and item.name in seen_names:
            row_errors.setdefault("name", []).append(
                f"Row {seen_names[item.name]} has an item of this name: list each item once, "
                "with its whole quantity."
            )
        seen_names.setdefault(item.name, number)
    return items, errors


def validate_pledge(
    *,
    pledge: Pledge | None = None,
    fields: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
    bulk_checked: bool = False,
    package_lookups: PackageLookups | None = None,
    record_lookups: RecordLookups | None = None,
    rates: conversion.RateSource = ExchangeRate.objects,
) -> PledgeWrite:
    """Set ``fields`` on ``pledge`` (or a new one) and check everything; write nothing.

    Raises PledgeValidationError (a ValidationError) naming every bad field; its ``children``
    keeps one dict of errors per item and source row. ``items`` are dicts of item fields, with
    the ``id`` of a stored item to keep it (see ``_clean_items``).

    ``bulk_checked`` is for callers that check many pledges at once (imports): they resolved
    ``BULK_CHECKED_FIELDS`` (and the ids of kept items) from the database themselves, and the
    database constraints are not queried one by one (``clean()`` and the field validators hold
    each of their rules, and the database still enforces them on write). Nor are the unique
    checks: the only unique fields of pledges, items and sources are their pks and
    ``external_ref``. Every other rule is the same. ``package_lookups`` (a ``PackageFacts``
    loaded for many pledges), ``record_lookups`` (a ``RecordFacts``) and ``rates`` (a
    ``RateTable``) answer the package and record rules' questions from memory.
    """
    pledge = pledge or Pledge()
    for name, value in fields.items():
        setattr(pledge, name, value)
    packages = package_lookups or PackageLookups()
    errors = _pledge_errors(pledge, bulk_checked, packages, rates)
    new_items = new_sources = None
    if items is not None:
        new_items, item_errors = _clean_items(items, pledge, bulk_checked=bulk_checked)
        if any(item_errors):
            errors["items"] = item_errors
    if sources is not None:
        new_sources, source_errors = _clean_children(
            Source, sources, pledge, bulk_checked=bulk_checked
        )
        if any(source_errors):
            errors["sources"] = source_errors
    if "sources" not in errors:
        _check_sources(pledge, new_sources, errors)
    if not errors or set(errors) <= {"sources"}:
        held = pledge_record_errors(
            pledge,
            new_items,
            records=record_lookups or RecordLookups(),
            packages=packages,
            rates=rates,
        )
        for field, messages in held.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise PledgeValidationError(errors)
    return PledgeWrite(pledge, new_items, new_sources)


def _pledge_errors(
    pledge: Pledge, bulk_checked: bool, lookups: PackageLookups, rates
) -> dict[str, Any]:
    """The model's own rules (``full_clean``), then the package rules, by field."""
    errors: dict[str, Any] = {}
    try:
        if bulk_checked:
            pledge.full_clean(
                exclude=BULK_CHECKED_FIELDS, validate_unique=False, validate_constraints=False
            )
        else:
            pledge.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    for field, messages in check_package_rules(pledge, lookups=lookups, rates=rates).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def _check_sources(pledge: Pledge, new_sources: list | None, errors: dict) -> None:
    """At least one source; an official one for a confirmed pledge (the new sources, or the
    stored ones when they stay)."""
    if new_sources is not None:
        source_kinds = [source.kind for source in new_sources]
    else:
        source_kinds = list(pledge.sources.values_list("kind", flat=True)) if pledge.pk else []
    try:
        validate_sources(pledge.confidence, source_kinds)
    except ValidationError as error:
        errors.update(error.message_dict)


def set_derived_values(pledge: Pledge, rates: conversion.RateSource) -> None:
    """The total, its EUR value and the rate date, from the pledge's fields and ``rates``."""
    pledge.currency = normalise_code(pledge.currency)
    pledge.recipient = normalise_code(pledge.recipient) or "UA"
    pledge.total_amount = conversion.pledge_total(
        pledge.amount, pledge.amount_basis, pledge.period_start_year, pledge.period_end_year
    )
    converted = None
    if pledge.total_amount is not None and pledge.currency and pledge.announced_on:
        converted = conversion.convert(
            pledge.total_amount, pledge.currency, conversion.EURO, pledge.announced_on, rates
        )
    pledge.value_eur = converted.value if converted else None
    pledge.rate_date = converted.rate_date if converted else None
    # What the pledge counts on its own; ``refresh_counted_values`` subtracts components.
    pledge.eur_rate = converted.source_rate if converted else None
    years = None
    if pledge.amount_basis == AmountBasis.PER_YEAR:
        years = conversion.period_years(pledge.period_start_year, pledge.period_end_year)
    pledge.counted_cents, pledge.counted_period_cents = conversion.own_counted_cents(
        pledge.value_eur, pledge.amount, pledge.eur_rate, years
    )
    # What it delivered as if it had no records (a new pledge has none): a stored pledge's
    # records are counted again after the write (``refresh_counted_values``).
    set_lifecycle_without_records(pledge)
    pledge.allocated_cents, pledge.delivered_cents = lifecycle_cents(
        pledge.undated, pledge.counted_cents, {}
    )


def prepare_write(
    pledge: Pledge,
    rates: conversion.RateSource = ExchangeRate.objects,
    *,
    version_locked: bool = False,
) -> None:
    """What every write of a pledge sets besides its fields: derived values, next version.

    A stored pledge's version is incremented in the database (concurrent writers cannot reuse
    a version; ``store_pledge`` reads it back), or in memory when the caller holds the row's lock
    and has checked the version (``version_locked``, the importer).
    """
    set_derived_values(pledge, rates)
    if pledge._state.adding:
        return
    pledge.version = pledge.version + 1 if version_locked else F("version") + 1


def store_pledge(pledge: Pledge, rates: conversion.RateSource = ExchangeRate.objects) -> Pledge:
    """Save one pledge's own row with its derived values and next version; the counted values
    of the packages it belongs to, and belonged to, follow (``counted``), and so do its
    lifecycle and the status its records decide (``lifecycle``)."""
    left = _store(pledge, rates)
    return _follow(pledge, [pledge.pk, left])


def _store(pledge: Pledge, rates: conversion.RateSource) -> int | None:
    """Save the pledge's own row; returns the package it left behind in the database."""
    updating = not pledge._state.adding
    left = stored_package_id(pledge)
    prepare_write(pledge, rates)
    pledge.save()
    if updating:
        pledge.refresh_from_db(fields=["version"])
    return left


def _follow(pledge: Pledge, pledge_ids: list[int | None]) -> Pledge:
    """Counted values, lifecycle and status after a write, read back into ``pledge``."""
    refresh_counted_values(pledge_ids)
    # Its records may say otherwise than its fields alone (``lifecycle``), and may have
    # changed its status (a version of its own).
    pledge.refresh_from_db(fields=[*LIFECYCLE_FIELDS, "status", "version", "updated_at"])
    return pledge


@transaction.atomic
def save_pledge(write: PledgeWrite) -> Pledge:
    """Save a validated pledge, then its items (kept ones changed in place, new ones created,
    left-out ones deleted) and its sources (replaced), one by one so that history is written;
    then what follows from them (``store_pledge``)."""
    pledge = write.pledge
    left = _store(pledge, ExchangeRate.objects)
    if write.items is not None:
        _write_items(pledge, write.items)
    if write.sources is not None:
        for old in pledge.sources.all():
            old.delete()
        for source in write.sources:
            source.pledge = pledge
            source.save()
    return _follow(pledge, [pledge.pk, left])


def _write_items(pledge: Pledge, items: list[PledgeItem]) -> None:
    stored = {item.pk: item for item in pledge.items.all()}
    kept = {item.pk for item in items if item.pk is not None}
    for pk, old in stored.items():
        if pk not in kept:
            old.delete()  # validated: no record refers to it
    for item in items:
        item.pledge = pledge
        old = stored.get(item.pk)
        if old is None:
            item.save()
        elif (old.name, old.quantity) != (item.name, item.quantity):
            item.save(update_fields=["name", "quantity"])


def stored_package_id(pledge: Pledge) -> int | None:
    """The package a stored pledge belongs to in the database (before a write changes it)."""
    if pledge.pk is None:
        return None
    return Pledge.objects.filter(pk=pledge.pk).values_list("parent_id", flat=True).first()


@transaction.atomic
def delete_pledge(pledge: Pledge) -> None:
    """Delete a pledge with its records, items and sources; its package counts it no more.
    The records go first, one by one (with their history): their items refer to the pledge's
    items, which cannot be deleted while they do. Every history row of the deletion has the
    same time (``fulfilments.delete_with_children``)."""
    package_id = stored_package_id(pledge)
    moment = timezone.now()
    for record in pledge.fulfilments.all():
        delete_with_children(record, "items", "sources", moment=moment)
    delete_with_children(pledge, "items", "sources", moment=moment)
    refresh_counted_values([package_id])


@transaction.atomic
def write_pledge(
    *,
    pledge: Pledge | None = None,
    fields: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
) -> Pledge:
    """Create ``pledge`` (or a new one) with ``fields``, replacing its items and sources when given.

    ``items`` and ``sources`` are lists of field dicts; None leaves them as they are.
    Raises PledgeValidationError (see ``validate_pledge``) naming every bad field. Nothing is
    written unless everything is valid.
    """
    return save_pledge(validate_pledge(pledge=pledge, fields=fields, items=items, sources=sources))


def recompute_derived_values(*, pledges=None, batch_size: int = 2000) -> int:
    """Recompute the total, EUR value and counted values of every pledge (or of the queryset
    ``pledges``) after the rates changed.

    Returns how many pledges changed. A change of rates is not an editorial change: no history
    row is written. But the representation changed, so each changed pledge's version (its
    ETag) is advanced, in the database so that no concurrent writer's increment is lost.
    """
    rates = ExchangeRate.objects.table()
    changed: list[int] = []
    batch: list[Pledge] = []
    fields = [*DERIVED_FIELDS, *REPORT_FIELDS, *LIFECYCLE_FIELDS]
    selected = Pledge.objects.all() if pledges is None else pledges
    with transaction.atomic():
        for pledge in selected.only(
            "id",
            "amount",
            "currency",
            "amount_basis",
            "period_start_year",
            "period_end_year",
            "announced_on",
            "recipient",
            "status",
            *fields,
        ).iterator(chunk_size=batch_size):
            before = tuple(getattr(pledge, field) for field in fields)
            set_derived_values(pledge, rates)
            after = tuple(getattr(pledge, field) for field in fields)
            if after != before:
                batch.append(pledge)
                if after[: len(DERIVED_FIELDS)] != before[: len(DERIVED_FIELDS)]:
                    changed.append(pledge.pk)
            if len(batch) >= batch_size:
                Pledge.objects.bulk_update(batch, fields)
                batch = []
        Pledge.objects.bulk_update(batch, fields)
        for start in range(0, len(changed), batch_size):
            Pledge.objects.filter(pk__in=changed[start : start + batch_size]).update(
                version=F("version") + 1
            )
        # Packages are given their own values above: their components are subtracted again,
        # and pledges with records count these again at their new rate.
        if pledges is None:
            refresh_packages()
            refresh_counted_values(Fulfilment.objects.values_list("pledge_id", flat=True))
        else:
            refresh_counted_values(pledge.pk for pledge in selected.only("id"))
    return len(changed)


def rates_changed(currency: str, dates) -> int:
    """After a rate of ``currency`` was written or deleted on ``dates`` (outside
    ``load_ecb_rates``): recompute the pledges it may convert."""
    after = dt.timedelta(days=settings.EXCHANGE_RATE_MAX_AGE_DAYS)
    converted = Q()
    for date in dates:
        converted |= Q(announced_on__gte=date, announced_on__lte=date + after)
    return recompute_derived_values(pledges=Pledge.objects.filter(converted, currency=currency))
