"""Import step 2, plan: what the database holds for the file's references, the rounds in which
rows are checked, and per round which rows are new, changed or unchanged (each checked by
``services.validate_pledge``, the rules of the admin and the API). Writes nothing."""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS

from .. import conversion
from ..fulfilments import RecordFacts
from ..models import Pledge, PledgeItem, Source
from ..package_rules import PackageFacts
from ..services import PledgeValidationError, PledgeWrite, validate_pledge
from ..spreadsheet import GENERATED_REF_PREFIX, ITEM_KEYS, PLAIN_FIELDS, SOURCE_KEYS
from .parse import Row

LOOKUP_CHUNK = 2000
COMPARED_FIELDS = [
    "donor_id",
    "category_id",
    "event_id",
    "parent_id",
    "reannounces_id",
    "external_ref",
    *PLAIN_FIELDS,
]
GENERATED_REF = re.compile(rf"^{re.escape(GENERATED_REF_PREFIX)}([0-9]{{1,18}})$")


def chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class StoredPledges:
    """The stored pledges of the file's references, with their items and sources."""

    existing: dict[str, Pledge] = field(default_factory=dict)  # file reference -> pledge
    pk_by_ref: dict[str, int] = field(default_factory=dict)  # stored, or written in a round
    # pk -> ([(name, quantity)] by name, [(url, publisher, title, published_on)])
    children: dict[int, tuple[list, list]] = field(default_factory=dict)
    # pk -> {item name: item id}: an item of the file is the stored item of its name
    item_ids: dict[int, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, refs: set[str]) -> "StoredPledges":
        stored = cls()
        ordered = sorted(refs - {""})
        for chunk in chunks(ordered):
            for pledge in Pledge.objects.filter(external_ref__in=chunk):
                stored.existing[pledge.external_ref] = pledge
        # A reference written for a pledge without one (pledge-<id>) finds that pledge.
        generated = {
            int(match.group(1)): ref
            for ref in ordered
            if ref not in stored.existing and (match := GENERATED_REF.match(ref))
        }
        for chunk in chunks(sorted(generated)):
            for pledge in Pledge.objects.filter(pk__in=chunk, external_ref__isnull=True):
                stored.existing[generated[pledge.pk]] = pledge
        stored.pk_by_ref = {ref: pledge.pk for ref, pledge in stored.existing.items()}
        stored._load_children(sorted(stored.pk_by_ref.values()))
        for items, _ in stored.children.values():
            items.sort(key=_by_name)
        return stored

    def _load_children(self, ids: list[int]) -> None:
        for pk in ids:
            self.children[pk] = ([], [])
            self.item_ids[pk] = {}
        for chunk in chunks(ids):
            for pledge_id, pk, *item in (
                PledgeItem.objects.filter(pledge_id__in=chunk)
                .order_by("id")
                .values_list("pledge_id", "id", *ITEM_KEYS)
            ):
                self.children[pledge_id][0].append(tuple(item))
                self.item_ids[pledge_id].setdefault(item[0], pk)
            for pledge_id, *source in (
                Source.objects.filter(pledge_id__in=chunk)
                .order_by("id")
                .values_list("pledge_id", *SOURCE_KEYS)
            ):
                self.children[pledge_id][1].append(tuple(source))


def index_rows(rows: list[Row]) -> dict[str, Row]:
    """Rows by reference; a repeated reference is refused."""
    row_by_ref: dict[str, Row] = {}
    for row in rows:
        if row.ref in row_by_ref:
            first = row_by_ref[row.ref].outcome.row
            row.refuse("external_ref", f"The reference {row.ref!r} is also in row {first}.")
        elif row.ref:
            row_by_ref[row.ref] = row
    return row_by_ref


def strata(rows: list[Row], row_by_ref: dict[str, Row], pk_by_ref: dict[str, int]):
    """The rows in groups imported one after the other: a row after the row of the file that
    it re-announces (unless that pledge is stored already), and a component with or after its
    package's row. Rows in a circle of re-announcements are left to be refused by
    ``Planner._reannounced_pk``. (Depth first without recursion: a file may hold a long
    chain.)"""

    def needed(row: Row) -> list[tuple[Row, int]]:
        """The rows that ``row`` needs written first (1) or with it (0)."""
        found = []
        reannounced = row_by_ref.get(row.reannounces_ref)
        if reannounced is not None and row.reannounces_ref not in pk_by_ref:
            found.append((reannounced, 1))
        package = row_by_ref.get(row.parent_ref)
        if package is not None:
            found.append((package, 0))
        return found

    depths: dict[str, int] = {}
    for start in rows:
        stack, visiting = [start], set()
        while stack:
            row = stack[-1]
            if row.ref in depths:
                stack.pop()
                continue
            visiting.add(row.ref)
            before = needed(row)
            pending = [r for r, _ in before if r.ref not in depths and r.ref not in visiting]
            if pending:
                stack.extend(pending)
                continue
            depths[row.ref] = max((depths.get(r.ref, 0) + n for r, n in before), default=0)
            stack.pop()
    by_depth: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_depth[depths[row.ref]].append(row)
    return [by_depth[level] for level in sorted(by_depth)]


def rounds(rows: list[Row]) -> Iterable[list[Row]]:
    """Packages and stand-alone pledges, then components: the n-th of every package in
    round n, so that each is checked against the siblings written before it."""
    yield [row for row in rows if not row.parent_ref]
    components = [row for row in rows if row.parent_ref]
    in_file = {row.ref for row in components}
    # A component whose package is itself a component row comes last (and is refused).
    for group in (
        [row for row in components if row.parent_ref not in in_file],
        [row for row in components if row.parent_ref in in_file],
    ):
        by_parent: dict[str, list[Row]] = defaultdict(list)
        for row in group:
            by_parent[row.parent_ref].append(row)
        depth = max((len(siblings) for siblings in by_parent.values()), default=0)
        for index in range(depth):
            yield [siblings[index] for siblings in by_parent.values() if len(siblings) > index]


@dataclass
class RoundPlan:
    new: list[PledgeWrite] = field(default_factory=list)
    changed: list[tuple[Row, PledgeWrite, bool]] = field(default_factory=list)  # children too?


@dataclass
class Planner:
    stored: StoredPledges
    row_by_ref: dict[str, Row]
    rates: conversion.RateSource
    progress: Callable[[int], None]

    def plan_round(self, rows: list[Row]) -> RoundPlan:
        """Check a round's rows; set each row's action; what to create and to update."""
        plan = RoundPlan()
        to_check: list[tuple[Row, int | None]] = []
        for row in rows:
            parent_pk = self._parent_pk(row)
            row.fields["reannounces_id"] = self._reannounced_pk(row)
            if not row.errors and self._same_as_stored(row, parent_pk):
                # Nothing would be written: the stored pledge is left alone, unchecked.
                row.outcome.action = "skip"
                row.outcome.pledge = self.stored.existing[row.ref]
                self.progress(1)
            else:
                to_check.append((row, parent_pk))
        # What the package rules read, for the whole round at once: nothing is written before
        # the round is checked, so every row sees what it would have read on its own.
        parents = [parent_pk for _, parent_pk in to_check if parent_pk is not None]
        changing = [pledge.pk for row, _ in to_check if (pledge := self._stored(row)) is not None]
        lookups = PackageFacts(parents, changing)
        records = RecordFacts([*parents, *changing])  # what the records that stay hold
        for row, parent_pk in to_check:
            # A row with unreadable cells is still checked, so that all its problems are told.
            write = self._validate(row, parent_pk, lookups, records)
            self.progress(1)
            if write is not None and not row.errors:
                self._classify(row, write, plan)
        return plan

    def _classify(self, row: Row, write: PledgeWrite, plan: RoundPlan) -> None:
        pledge = self.stored.existing.get(row.ref)
        if pledge is None:
            row.outcome.action = "new"
            plan.new.append(write)
        else:
            children_changed = self.stored.children[pledge.pk] != _children_of_write(write)
            if not children_changed and not _fields_changed(pledge, row.snapshot):
                row.outcome.action = "skip"
            else:
                row.outcome.action = "update"
                plan.changed.append((row, write, children_changed))
        row.outcome.pledge = write.pledge

    def _parent_pk(self, row: Row) -> int | None:
        if not row.parent_ref:
            return None
        if row.parent_ref == row.ref:
            row.refuse("parent_ref", "A pledge cannot be its own package.")
            return None
        pk = self.stored.pk_by_ref.get(row.parent_ref)
        if pk is not None:
            return pk
        parent_row = self.row_by_ref.get(row.parent_ref)
        if parent_row is not None:
            row.refuse("parent_ref", f"The package in row {parent_row.outcome.row} is not valid.")
        else:
            row.refuse("parent_ref", f"Unknown package reference {row.parent_ref!r}.")
        return None

    def _reannounced_pk(self, row: Row) -> int | None:
        if not row.reannounces_ref:
            return None
        if row.reannounces_ref == row.ref:
            row.refuse("reannounces_ref", "A pledge cannot re-announce itself.")
            return None
        pk = self.stored.pk_by_ref.get(row.reannounces_ref)
        if pk is not None:
            return pk
        earlier = self.row_by_ref.get(row.reannounces_ref)
        if earlier is None:
            row.refuse("reannounces_ref", f"Unknown reference {row.reannounces_ref!r}.")
        elif earlier.errors:
            row.refuse("reannounces_ref", f"The pledge in row {earlier.outcome.row} is not valid.")
        else:
            row.refuse(
                "reannounces_ref",
                f"The pledge in row {earlier.outcome.row} re-announces this one, directly or "
                "through others: re-announcements cannot go round in a circle.",
            )
        return None

    def _same_as_stored(self, row: Row, parent_pk: int | None) -> bool:
        pledge = self.stored.existing.get(row.ref)
        if pledge is None:
            return False
        fields = row.fields
        return (
            pledge.external_ref == row.ref
            and pledge.parent_id == parent_pk
            and pledge.reannounces_id == fields["reannounces_id"]
            and all(
                getattr(pledge, f"{name}_id") == (fields[name].pk if fields[name] else None)
                for name in ("donor", "category", "event")
            )
            and all(getattr(pledge, name) == fields[name] for name in PLAIN_FIELDS)
            and self.stored.children[pledge.pk] == _children_of_row(row)
        )

    def _stored(self, row: Row) -> Pledge | None:
        """The stored pledge that the row updates. A repeated reference is checked on its own,
        never against the first row's pledge."""
        return self.stored.existing.get(row.ref) if self.row_by_ref.get(row.ref) is row else None

    def _validate(
        self, row: Row, parent_pk: int | None, lookups: PackageFacts, records: RecordFacts
    ) -> PledgeWrite | None:
        pledge = self._stored(row)
        told = set(row.errors)  # columns already refused when the cells were read
        row.snapshot = {name: getattr(pledge, name) for name in COMPARED_FIELDS} if pledge else {}
        fields = {**row.fields, "parent_id": parent_pk, "external_ref": row.ref}
        items = row.items
        if pledge is None:  # built with its fields at once, which is quicker than one by one
            pledge, fields = Pledge(**fields), {}
        else:  # a stored item is kept, in place, by its name (records refer to it)
            ids = dict(self.stored.item_ids[pledge.pk])
            items = [{**item, "id": ids.pop(item["name"], None)} for item in items]
        try:
            return validate_pledge(
                pledge=pledge,
                fields=fields,
                items=items,
                sources=row.sources,
                bulk_checked=True,
                package_lookups=lookups,
                record_lookups=records,
                rates=self.rates,
            )
        except PledgeValidationError as error:
            _refuse_untold(row, error, told)
            return None


def _refuse_untold(row: Row, error: PledgeValidationError, told: set[str]) -> None:
    """The service's objections, in the row's columns, but for columns refused already."""
    for name, messages in error.message_dict.items():
        if name not in error.children and _column(name) not in told:
            row.refuse(_column(name), " ".join(messages))
    for name, child_rows in error.children.items():
        for index, child_errors in enumerate(child_rows, start=1):
            for key, messages in child_errors.items():
                if f"{name}[{index}].{key}" not in told:
                    row.refuse(f"{name}[{index}].{key}", " ".join(messages))


def _column(field_name: str) -> str:
    if field_name in ("parent", "parent_id"):
        return "parent_ref"
    if field_name in ("reannounces", "reannounces_id"):
        return "reannounces_ref"
    if field_name == NON_FIELD_ERRORS:
        return "row"
    return field_name


def _fields_changed(pledge: Pledge, before: dict[str, Any]) -> bool:
    return any(getattr(pledge, name) != before[name] for name in COMPARED_FIELDS)


def _by_name(item: tuple) -> str:
    return str(item[0])


def _children_of_row(row: Row) -> tuple[list, list]:
    """Items by name (kept in place by name, their order is their creation's), sources in
    order."""
    return (
        sorted((tuple(item[key] for key in ITEM_KEYS) for item in row.items), key=_by_name),
        [tuple(source[key] for key in SOURCE_KEYS) for source in row.sources],
    )


def _children_of_write(write: PledgeWrite) -> tuple[list, list]:
    return (
        sorted(
            (tuple(getattr(item, key) for key in ITEM_KEYS) for item in write.items or []),
            key=_by_name,
        ),
        [tuple(getattr(source, key) for key in SOURCE_KEYS) for source in write.sources or []],
    )
