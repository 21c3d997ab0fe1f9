"""Writes that several entry points share: the API, imports and commands.

``write_pledge`` is the one way a pledge is created or changed together with its items and
sources, so that every entry point refuses the same things with the same messages.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .conversion import RateTable
from .models import (
    DERIVED_FIELDS,
    PackageLookups,
    Pledge,
    PledgeItem,
    Source,
    validate_sources,
)

# Checks that a bulk caller (the importer) makes once for a whole file instead of once per row:
# it resolves these foreign keys and the external reference from the database itself (a parent
# that does not exist is still refused by ``Pledge.clean``).
BULK_CHECKED_FIELDS = ["donor", "category", "event", "parent", "reannounces", "external_ref"]


class PledgeValidationError(ValidationError):
    """Refused pledge data. ``detail`` names every bad field; for ``items`` and ``sources`` it
    holds one dict of errors per row (empty for a good row), as an API would answer them.
    ``message_dict`` has the same keys with the row errors spelt out (Django's ValidationError
    would flatten the row dicts), and ``children`` is the per-row part of ``detail`` alone."""

    def __init__(self, detail: dict[str, Any]):
        self.detail = detail
        self.children = {
            field: rows
            for field, rows in detail.items()
            if rows and all(isinstance(row, dict) for row in rows)
        }
        flat: dict[str, list[str]] = {}
        for field, errors in detail.items():
            if field in self.children:
                flat[field] = [
                    f"row {row}: {name}: {message}"
                    for row, row_errors in enumerate(errors, start=1)
                    for name, messages in row_errors.items()
                    for message in messages
                ]
            else:
                flat[field] = list(errors)
        super().__init__(flat)


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


def validate_pledge(
    *,
    pledge: Pledge | None = None,
    fields: Mapping[str, Any],
    items: Iterable[Mapping[str, Any]] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
    bulk_checked: bool = False,
    package_lookups: PackageLookups | None = None,
) -> PledgeWrite:
    """Set ``fields`` on ``pledge`` (or a new one) and check everything; write nothing.

    Raises PledgeValidationError (a ValidationError) naming every bad field; its ``children``
    keeps one dict of errors per item and source row.

    ``bulk_checked`` is for callers that check many pledges at once (imports): they resolved
    ``BULK_CHECKED_FIELDS`` from the database themselves, and the database constraints are not
    queried one by one (``clean()`` and the field validators hold each of their rules, and the
    database still enforces them on write). Nor are the unique checks: the only unique fields
    of pledges, items and sources are their pks and ``external_ref``. Every other rule is the
    same. ``package_lookups``
    (a ``PackageFacts`` loaded for many pledges) answers the package rules' questions from
    memory.
    """
    pledge = pledge or Pledge()
    for name, value in fields.items():
        setattr(pledge, name, value)
    errors: dict[str, Any] = {}
    pledge.package_lookups = package_lookups
    try:
        if bulk_checked:
            pledge.full_clean(
                exclude=BULK_CHECKED_FIELDS, validate_unique=False, validate_constraints=False
            )
        else:
            pledge.full_clean()
    except ValidationError as error:
        errors.update(error.message_dict)
    finally:
        del pledge.package_lookups

    new_items = new_sources = None
    if items is not None:
        new_items, item_errors = _clean_children(
            PledgeItem, items, pledge, bulk_checked=bulk_checked
        )
        if any(item_errors):
            errors["items"] = item_errors
    if sources is not None:
        new_sources, source_errors = _clean_children(
            Source, sources, pledge, bulk_checked=bulk_checked
        )
        if any(source_errors):
            errors["sources"] = source_errors
    if new_sources is not None:
        source_kinds = [source.kind for source in new_sources]
    else:
        source_kinds = list(pledge.sources.values_list("kind", flat=True)) if pledge.pk else []
    if "sources" not in errors:
        try:
            validate_sources(pledge.confidence, source_kinds)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise PledgeValidationError(errors)
    return PledgeWrite(pledge, new_items, new_sources)


@transaction.atomic
def save_pledge(write: PledgeWrite) -> Pledge:
    """Save a validated pledge and replace its children, one by one so history is written."""
    pledge = write.pledge
    pledge.save()
    for new_children, manager in ((write.items, pledge.items), (write.sources, pledge.sources)):
        if new_children is None:
            continue
        for old in manager.all():
            old.delete()
        for child in new_children:
            child.pledge = pledge
            child.save()
    return pledge


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


def recompute_derived_values(*, batch_size: int = 2000) -> int:
    """Recompute every pledge's total and EUR value after the rates changed.

    Returns how many pledges changed. A change of rates is not an editorial change: no history
    row is written and the version stays as it is.
    """
    rates = RateTable.from_db()
    changed = 0
    batch: list[Pledge] = []
    with transaction.atomic():
        for pledge in Pledge.objects.only(
            "id",
            "amount",
            "currency",
            "amount_basis",
            "period_start_year",
            "period_end_year",
            "announced_on",
            "recipient",
            *DERIVED_FIELDS,
        ).iterator(chunk_size=batch_size):
            before = tuple(getattr(pledge, field) for field in DERIVED_FIELDS)
            pledge.refresh_derived(rates)
            if tuple(getattr(pledge, field) for field in DERIVED_FIELDS) != before:
                batch.append(pledge)
            if len(batch) >= batch_size:
                Pledge.objects.bulk_update(batch, DERIVED_FIELDS)
                changed += len(batch)
                batch = []
        if batch:
            Pledge.objects.bulk_update(batch, DERIVED_FIELDS)
            changed += len(batch)
    return changed
