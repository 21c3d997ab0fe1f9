"""Import step 3, write: a round's planned pledges, new ones in bulk with their history rows
(``bulk``: COPY on PostgreSQL), changed ones locked, checked unchanged since read, and updated
with history. Derived values and versions are set by ``services.prepare_write``; the counted
values of the packages concerned follow (``counted.refresh_counted_values``)."""

import datetime as dt
from dataclasses import dataclass

from simple_history.utils import bulk_update_with_history

from .. import conversion
from ..bulk import create_with_history
from ..counted import refresh_counted_values
from ..models import DERIVED_FIELDS, REPORT_FIELDS, Pledge, PledgeItem, Source
from ..services import PledgeWrite, prepare_write
from ..spreadsheet import PLAIN_FIELDS
from .parse import Row
from .plan import chunks

BATCH_SIZE = 1000
CHANGE_REASON = "Imported from a spreadsheet"
SAVED_FIELDS = [
    "donor",
    "category",
    "event",
    "parent",
    "reannounces",
    "external_ref",
    *PLAIN_FIELDS,
    *DERIVED_FIELDS,
    *REPORT_FIELDS,
    "version",
    "updated_at",
]


@dataclass
class Writer:
    user: object  # the user of every history row, or None
    now: dt.datetime  # one time for every history row of the import
    rates: conversion.RateSource

    def create(self, writes: list[PledgeWrite]) -> None:
        if not writes:
            return
        pledges = [write.pledge for write in writes]
        for pledge in pledges:
            prepare_write(pledge, self.rates)
        create_with_history(
            pledges, Pledge, user=self.user, change_reason=CHANGE_REASON, date=self.now
        )
        # A new pledge has no components yet: only the packages of new components change.
        refresh_counted_values(pledge.pk for pledge in pledges if pledge.parent_id is not None)
        self._create_children(writes)

    def _create_children(self, writes: list[PledgeWrite]) -> None:
        for model, attribute in ((PledgeItem, "items"), (Source, "sources")):
            children = []
            for write in writes:
                for child in getattr(write, attribute) or []:
                    if child.pk is not None:
                        continue  # a stored item, kept (``_keep_items``)
                    child.pledge_id = write.pledge.pk  # built when the pledge had no pk yet
                    children.append(child)
            create_with_history(
                children, model, user=self.user, change_reason=CHANGE_REASON, date=self.now
            )

    def update(self, changed: list[tuple[Row, PledgeWrite, bool]]) -> None:
        if not changed:
            return
        changed = self._lock_unchanged_since_read(changed)
        pledges = []
        for _, write, _ in changed:
            pledge = write.pledge
            prepare_write(pledge, self.rates, version_locked=True)
            pledge.updated_at = self.now
            pledges.append(pledge)
        bulk_update_with_history(
            pledges,
            Pledge,
            SAVED_FIELDS,
            batch_size=BATCH_SIZE,
            default_user=self.user,
            default_change_reason=CHANGE_REASON,
            default_date=self.now,
        )
        replaced = [write for _, write, children_changed in changed if children_changed]
        self._keep_items(replaced)
        for chunk in chunks([write.pledge.pk for write in replaced]):
            # Deleted one by one through signals, so that each deletion is in the history.
            Source.objects.filter(pledge_id__in=chunk).delete()
        self._create_children(replaced)
        # After the items: what the records make of a pledge reads them (``lifecycle``).
        refresh_counted_values(
            [pledge.pk for pledge in pledges] + [row.snapshot["parent_id"] for row, _, _ in changed]
        )

    def _keep_items(self, writes: list[PledgeWrite]) -> None:
        """The stored items of the file's names stay, their quantity changed in place (records
        refer to them); the others are deleted (validated: no record refers to them)."""
        kept = {item.pk: item for write in writes for item in write.items or [] if item.pk}
        stale, changed = [], []
        for chunk in chunks([write.pledge.pk for write in writes]):
            for pk, quantity in PledgeItem.objects.filter(pledge_id__in=chunk).values_list(
                "pk", "quantity"
            ):
                if pk not in kept:
                    stale.append(pk)
                elif kept[pk].quantity != quantity:
                    changed.append(kept[pk])
        for chunk in chunks(stale):
            PledgeItem.objects.filter(pk__in=chunk).delete()  # one by one, with history
        bulk_update_with_history(
            changed,
            PledgeItem,
            ["quantity"],
            batch_size=BATCH_SIZE,
            default_user=self.user,
            default_change_reason=CHANGE_REASON,
            default_date=self.now,
        )

    def _lock_unchanged_since_read(self, changed: list) -> list:
        """Lock the pledges to update; refuse those that another writer changed meanwhile.

        Only these are locked (not every pledge read), so an import of unchanged rows locks
        nothing.
        """
        versions: dict[int, int] = {}
        for chunk in chunks([write.pledge.pk for _, write, _ in changed]):
            versions.update(
                Pledge.objects.select_for_update().filter(pk__in=chunk).values_list("pk", "version")
            )
        kept = []
        for entry in changed:
            row, write, _ = entry
            if versions.get(write.pledge.pk) != write.pledge.version:
                row.refuse("row", "The pledge was changed while the file was imported: retry.")
            else:
                kept.append(entry)
        return kept
