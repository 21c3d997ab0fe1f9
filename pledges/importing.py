"""Import of pledge spreadsheets (the layout of ``spreadsheet``): all or nothing.

Every row is checked by ``services.validate_pledge``, the rules of the admin and the API; every
problem is reported with its row number (the header is row 1) and its column. The whole file is
written in one transaction, which is rolled back when any row is bad, and always on a dry run.

``external_ref`` decides between creating and updating, so importing a file twice creates no
copies; a row identical to its stored pledge writes nothing (no history row, same version).

For speed donors, categories, events, references and exchange rates are looked up
once per file, and new pledges are written in bulk with their history rows (``bulk``: COPY on
PostgreSQL). A component is checked against its package and its earlier siblings in the
database, so components are written in rounds: packages and stand-alone pledges first, then the
first component of every package, then the second, and so on; what the package rules read is
loaded once per round (``models.PackageFacts``). A re-announcement (``reannounces_ref``) is
checked against the pledge it names, so a row naming another row of the file waits for it: the
file is imported in strata (``_strata``), each in the rounds above.
"""

import gc
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from .bulk import create_with_history
from .conversion import RateTable
from .models import (
    DERIVED_FIELDS,
    Category,
    Donor,
    Event,
    PackageFacts,
    Pledge,
    PledgeItem,
    Source,
)
from .services import PledgeValidationError, PledgeWrite, validate_pledge
from .spreadsheet import (
    COLUMNS,
    GENERATED_REF_PREFIX,
    HEADER,
    ITEM_KEYS,
    PLAIN_FIELDS,
    SOURCE_KEYS,
    SpreadsheetError,
    read_rows,
)

BATCH_SIZE = 1000
LOOKUP_CHUNK = 2000
CHANGE_REASON = "Imported from a spreadsheet"
COMPARED_FIELDS = [
    "donor_id",
    "category_id",
    "event_id",
    "parent_id",
    "reannounces_id",
    "external_ref",
    *PLAIN_FIELDS,
]
SAVED_FIELDS = [
    "donor",
    "category",
    "event",
    "parent",
    "reannounces",
    "external_ref",
    *PLAIN_FIELDS,
    *DERIVED_FIELDS,
    "version",
    "updated_at",
]
GENERATED_REF = re.compile(rf"^{re.escape(GENERATED_REF_PREFIX)}([0-9]{{1,18}})$")


@dataclass
class RowError:
    row: int  # spreadsheet row number; the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass
class RowOutcome:
    """What happened to one row: ``new``, ``update``, ``skip`` (unchanged) or ``invalid``."""

    row: int
    ref: str
    values: dict[str, str]
    action: str = "invalid"
    pledge: Pledge | None = None


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def written(self) -> bool:
        return not self.errors and not self.dry_run

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (
            f"{len(self.rows)} rows: {self.count('new')} new, {self.count('update')} updated, "
            f"{self.count('skip')} unchanged pledges {verb} imported."
        )


@dataclass
class _Row:
    outcome: RowOutcome
    parent_ref: str = ""
    reannounces_ref: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)  # stored values before the update

    @property
    def ref(self) -> str:
        return self.outcome.ref

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)


@contextmanager
def _collector_paused():
    """No cyclic garbage collection while the import builds its many objects: it would walk
    them again and again (a quarter of the time of a large file) and find almost nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def import_file(data: bytes, file_format: str, **options) -> ImportReport:
    """Import a CSV or XLSX file given as bytes; see ``import_table`` for the options."""
    try:
        table = read_rows(data, file_format)
    except SpreadsheetError as error:
        report = ImportReport(dry_run=options.get("dry_run", False))
        report.errors.append(RowError(0, "file", str(error)))
        return report
    return import_table(table, **options)


@_collector_paused()
def import_table(
    table: list[list[str]],
    *,
    dry_run: bool = False,
    user=None,
    progress=None,
) -> ImportReport:
    """Import rows of text (the first is the header).

    ``progress`` is a tqdm bar (or anything with ``reset(total=)`` and ``update(n)``).
    """
    report = ImportReport(dry_run=dry_run)
    rows = _table_rows(table, report)
    if report.errors:
        return report
    if progress is not None:
        progress.reset(total=len(rows))
    with transaction.atomic():
        try:
            _Importer(report, user, progress.update if progress else (lambda done: None)).run(rows)
        except DatabaseError as error:
            report.errors.append(RowError(0, "file", f"The database refused the import: {error}"))
        if report.errors or dry_run:
            transaction.set_rollback(True)
    report.errors.sort(key=lambda error: error.row)
    return report


def _table_rows(table: list[list[str]], report: ImportReport) -> list[_Row]:
    """Check the header and pair every data row's cells with it."""
    if not table or not any(cell.strip() for cell in table[0]):
        report.errors.append(RowError(1, "header", "The file has no header row."))
        return []
    header = [cell.strip() for cell in table[0]]
    missing = [name for name in COLUMNS if name not in header]
    unknown = [name for name in header if name not in HEADER]
    repeated = sorted({name for name in header if header.count(name) > 1})
    for problem, names in (
        ("Missing columns", missing),
        ("Unknown columns", unknown),
        ("Repeated columns", repeated),
    ):
        if names:
            report.errors.append(RowError(1, "header", f"{problem}: {', '.join(names)}."))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            report.errors.append(RowError(number, "row", "More cells than columns."))
        values = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=False))
        outcome = RowOutcome(number, values.get("external_ref", "").strip(), values)
        report.rows.append(outcome)
        rows.append(
            _Row(
                outcome,
                parent_ref=values.get("parent_ref", "").strip(),
                reannounces_ref=values.get("reannounces_ref", "").strip(),
            )
        )
    if not rows and not report.errors:
        report.errors.append(RowError(2, "row", "The file has no pledge rows."))
    return rows


@cache
def _field(model, name: str):
    return model._meta.get_field(name)


def _to_python(model, name: str, text: str):
    """A cell converted by the model field itself; an empty cell is the field's empty value."""
    model_field = _field(model, name)
    if text == "":
        if model_field.has_default():
            return model_field.get_default()
        return None if model_field.null else ""
    return model_field.to_python(text)


class _Importer:
    def __init__(self, report: ImportReport, user, progress: Callable[[int], None]):
        self.report = report
        self.user = user
        self.progress = progress
        self.rates = RateTable.from_db()
        self.now = timezone.now()  # one time for every history row of the import
        donors = list(Donor.objects.all())
        self.donors_by_name = {donor.name: donor for donor in donors}
        self.donors_by_folded_name = {donor.name.casefold(): donor for donor in donors}
        self.donors_by_iso = {donor.iso2: donor for donor in donors if donor.iso2}
        self.categories = {category.slug: category for category in Category.objects.all()}
        self.events = {(event.name, event.date): event for event in Event.objects.all()}
        self.existing: dict[str, Pledge] = {}  # file reference -> stored pledge
        self.pk_by_ref: dict[str, int] = {}  # reference -> pk, stored or just written
        self.row_by_ref: dict[str, _Row] = {}
        # pk -> ([(name, quantity)], [(url, publisher, title, published_on)]) of stored pledges
        self.stored_children: dict[int, tuple[list, list]] = {}

    # --- reading cells ----------------------------------------------------------------

    def parse(self, row: _Row) -> None:
        values = row.outcome.values
        if not row.ref:
            row.refuse("external_ref", "A reference is required: it tells new pledges apart.")
        elif len(row.ref) > Pledge._meta.get_field("external_ref").max_length:
            row.refuse("external_ref", "At most 64 characters.")
        row.fields["donor"] = self._donor(row, values["donor"].strip())
        row.fields["category"] = self._category(row, values["category"].strip())
        row.fields["event"] = self._event(row, values["event"], values["event_date"].strip())
        for name in PLAIN_FIELDS:
            try:
                row.fields[name] = _to_python(Pledge, name, values[name])
            except ValidationError as error:
                row.refuse(name, " ".join(error.messages))
                row.fields[name] = None
        row.items = self._parse_children(row, "items", PledgeItem, ITEM_KEYS, required=["name"])
        row.sources = self._parse_children(
            row, "sources", Source, SOURCE_KEYS, required=["publisher"]
        )

    def _donor(self, row: _Row, text: str) -> Donor | None:
        donor = (
            self.donors_by_iso.get(text.upper()) if len(text) == 2 else None
        ) or self.donors_by_name.get(text, self.donors_by_folded_name.get(text.casefold()))
        if donor is None:
            row.refuse(
                "donor",
                f"Unknown donor {text!r}: give a donor's name or ISO code."
                if text
                else "A donor is required.",
            )
        return donor

    def _category(self, row: _Row, text: str) -> Category | None:
        category = self.categories.get(text) or self.categories.get(text.lower())
        if category is None:
            row.refuse(
                "category",
                f"Unknown category {text!r}: give a category slug."
                if text
                else "A category is required.",
            )
        return category

    def _event(self, row: _Row, name: str, date_text: str) -> Event | None:
        if not name and not date_text:
            return None
        if not name or not date_text:
            row.refuse("event", "An event is given by its name and its event_date together.")
            return None
        try:
            date = _to_python(Event, "date", date_text)
        except ValidationError as error:
            row.refuse("event_date", " ".join(error.messages))
            return None
        event = self.events.get((name, date))
        if event is None:
            row.refuse("event", f"Unknown event {name!r} on {date_text}.")
        return event

    def _parse_children(self, row: _Row, column: str, model, keys, required) -> list[dict]:
        text = row.outcome.values[column].strip()
        if not text:
            return []
        shape = f"a JSON list of objects with the keys {', '.join(keys)}"
        try:
            data = json.loads(text)
        except ValueError as error:
            row.refuse(column, f"Not valid JSON ({error}); expected {shape}.")
            return []
        if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
            row.refuse(column, f"Expected {shape}.")
            return []
        children = []
        for index, entry in enumerate(data, start=1):
            unknown = sorted(set(entry) - set(keys))
            if unknown:
                row.refuse(column, f"Entry {index}: unknown keys {', '.join(unknown)}.")
            child = {}
            for key in keys:
                value = entry.get(key)
                text_value = "" if value is None else str(value)
                if key in required and not text_value:
                    row.refuse(f"{column}[{index}].{key}", "This field is required.")
                try:
                    child[key] = _to_python(model, key, text_value)
                except ValidationError as error:
                    row.refuse(f"{column}[{index}].{key}", " ".join(error.messages))
                    child[key] = None
            children.append(child)
        return children

    # --- the import -------------------------------------------------------------------

    def run(self, rows: list[_Row]) -> None:
        for row in rows:
            self.parse(row)
            if row.ref in self.row_by_ref:
                first = self.row_by_ref[row.ref].outcome.row
                row.refuse("external_ref", f"The reference {row.ref!r} is also in row {first}.")
            elif row.ref:
                self.row_by_ref[row.ref] = row
        self._load_existing(
            {ref for row in rows for ref in (row.ref, row.parent_ref, row.reannounces_ref)}
        )
        for stratum in self._strata(rows):
            for batch in self._rounds(stratum):
                self._import_round(batch)
        for row in rows:
            self._report_errors(row)

    def _load_existing(self, refs: set[str]) -> None:
        """Stored pledges of these references, and the pk of every known reference."""
        refs.discard("")
        ordered = sorted(refs)
        queryset = Pledge.objects.all()
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[start : start + LOOKUP_CHUNK]
            for pledge in queryset.filter(external_ref__in=chunk):
                self.existing[pledge.external_ref] = pledge
        # A reference written for a pledge without one (pledge-<id>) finds that pledge.
        generated = {
            int(match.group(1)): ref
            for ref in ordered
            if ref not in self.existing and (match := GENERATED_REF.match(ref))
        }
        ids = sorted(generated)
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for pledge in queryset.filter(pk__in=chunk, external_ref__isnull=True):
                self.existing[generated[pledge.pk]] = pledge
        self.pk_by_ref = {ref: pledge.pk for ref, pledge in self.existing.items()}
        self._load_stored_children(sorted(self.pk_by_ref.values()))

    def _load_stored_children(self, ids: list[int]) -> None:
        """Items and sources of the stored pledges, as tuples to compare with the rows."""
        for pk in ids:
            self.stored_children[pk] = ([], [])
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            for pledge_id, *item in (
                PledgeItem.objects.filter(pledge_id__in=chunk)
                .order_by("id")
                .values_list("pledge_id", *ITEM_KEYS)
            ):
                self.stored_children[pledge_id][0].append(tuple(item))
            for pledge_id, *source in (
                Source.objects.filter(pledge_id__in=chunk)
                .order_by("id")
                .values_list("pledge_id", *SOURCE_KEYS)
            ):
                self.stored_children[pledge_id][1].append(tuple(source))

    def _strata(self, rows: list[_Row]) -> list[list[_Row]]:
        """The rows in groups imported one after the other: a row after the row of the file
        that it re-announces, and a component with or after its package's row. Rows in a
        circle of re-announcements are left to be refused by ``_reannounced_pk``. (Depth
        first without recursion: a file may hold a long chain.)"""
        depths: dict[str, int] = {}
        for start in rows:
            stack, visiting = [start], set()
            while stack:
                row = stack[-1]
                if row.ref in depths:
                    stack.pop()
                    continue
                visiting.add(row.ref)
                needed = self._needed_rows(row)
                pending = [r for r, _ in needed if r.ref not in depths and r.ref not in visiting]
                if pending:
                    stack.extend(pending)
                    continue
                depths[row.ref] = max(
                    (depths.get(r.ref, 0) + step for r, step in needed), default=0
                )
                stack.pop()
        strata: dict[int, list[_Row]] = defaultdict(list)
        for row in rows:
            strata[depths[row.ref]].append(row)
        return [strata[level] for level in sorted(strata)]

    def _needed_rows(self, row: _Row) -> list[tuple[_Row, int]]:
        """The rows of the file that ``row`` needs written first (1) or with it (0)."""
        needed = []
        reannounced = self.row_by_ref.get(row.reannounces_ref)
        if reannounced is not None and row.reannounces_ref not in self.pk_by_ref:
            needed.append((reannounced, 1))
        package = self.row_by_ref.get(row.parent_ref)
        if package is not None:
            needed.append((package, 0))
        return needed

    def _rounds(self, rows: list[_Row]) -> Iterable[list[_Row]]:
        """Packages and stand-alone pledges, then components: the n-th of every package in
        round n, so that each is checked against the siblings written before it."""
        top = [row for row in rows if not row.parent_ref]
        yield top
        components = [row for row in rows if row.parent_ref]
        in_file = {row.ref for row in components}
        # A component whose package is itself a component row comes last (and is refused).
        for group in (
            [row for row in components if row.parent_ref not in in_file],
            [row for row in components if row.parent_ref in in_file],
        ):
            by_parent: dict[str, list[_Row]] = defaultdict(list)
            for row in group:
                by_parent[row.parent_ref].append(row)
            depth = max((len(siblings) for siblings in by_parent.values()), default=0)
            for index in range(depth):
                yield [siblings[index] for siblings in by_parent.values() if len(siblings) > index]

    def _parent_pk(self, row: _Row) -> int | None:
        if not row.parent_ref:
            return None
        if row.parent_ref == row.ref:
            row.refuse("parent_ref", "A pledge cannot be its own package.")
            return None
        pk = self.pk_by_ref.get(row.parent_ref)
        if pk is not None:
            return pk
        parent_row = self.row_by_ref.get(row.parent_ref)
        if parent_row is not None:
            row.refuse("parent_ref", f"The package in row {parent_row.outcome.row} is not valid.")
        else:
            row.refuse("parent_ref", f"Unknown package reference {row.parent_ref!r}.")
        return None

    def _reannounced_pk(self, row: _Row) -> int | None:
        if not row.reannounces_ref:
            return None
        if row.reannounces_ref == row.ref:
            row.refuse("reannounces_ref", "A pledge cannot re-announce itself.")
            return None
        pk = self.pk_by_ref.get(row.reannounces_ref)
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

    def _import_round(self, rows: list[_Row]) -> None:
        new: list[PledgeWrite] = []
        changed: list[tuple[_Row, PledgeWrite, bool]] = []
        to_check: list[tuple[_Row, int | None]] = []
        for row in rows:
            parent_pk = self._parent_pk(row)
            row.fields["reannounces_id"] = self._reannounced_pk(row)
            if not row.errors and self._same_as_stored(row, parent_pk):
                # Nothing would be written: the stored pledge is left alone, unchecked.
                row.outcome.action = "skip"
                row.outcome.pledge = self.existing[row.ref]
                self.progress(1)
            else:
                to_check.append((row, parent_pk))
        # What the package rules read, for the whole round at once: nothing is written before
        # the round is checked, so every row sees what it would have read on its own.
        lookups = PackageFacts(
            self.rates,
            [parent_pk for _, parent_pk in to_check if parent_pk is not None],
            [pledge.pk for row, _ in to_check if (pledge := self._stored(row)) is not None],
        )
        for row, parent_pk in to_check:
            # A row with unreadable cells is still checked, so that all its problems are told.
            write = self._validate(row, parent_pk, lookups)
            self.progress(1)
            if write is None or row.errors:
                continue
            pledge = self.existing.get(row.ref)
            if pledge is None:
                row.outcome.action = "new"
                new.append(write)
            else:
                children_changed = self.stored_children[pledge.pk] != _children_of_write(write)
                if not children_changed and not _fields_changed(pledge, row.snapshot):
                    row.outcome.action = "skip"
                else:
                    row.outcome.action = "update"
                    changed.append((row, write, children_changed))
            row.outcome.pledge = write.pledge
        # Written even when other rows are bad (all is rolled back at the end), so that later
        # rounds are checked against their packages and every problem is reported.
        self._create(new)
        self._update(changed)
        for row in rows:
            if row.outcome.pledge is not None and row.outcome.pledge.pk:
                self.pk_by_ref[row.ref] = row.outcome.pledge.pk

    def _same_as_stored(self, row: _Row, parent_pk: int | None) -> bool:
        pledge = self.existing.get(row.ref)
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
            and self.stored_children[pledge.pk] == _children_of_row(row)
        )

    def _stored(self, row: _Row) -> Pledge | None:
        """The stored pledge that the row updates. A repeated reference is checked on its own,
        never against the first row's pledge."""
        return self.existing.get(row.ref) if self.row_by_ref.get(row.ref) is row else None

    def _validate(
        self, row: _Row, parent_pk: int | None, lookups: PackageFacts
    ) -> PledgeWrite | None:
        pledge = self._stored(row)
        told = set(row.errors)  # columns already refused when the cells were read
        row.snapshot = {name: getattr(pledge, name) for name in COMPARED_FIELDS} if pledge else {}
        fields = {**row.fields, "parent_id": parent_pk, "external_ref": row.ref}
        if pledge is None:  # built with its fields at once, which is quicker than one by one
            pledge, fields = Pledge(**fields), {}
        try:
            return validate_pledge(
                pledge=pledge,
                fields=fields,
                items=row.items,
                sources=row.sources,
                bulk_checked=True,
                package_lookups=lookups,
            )
        except PledgeValidationError as error:
            for name, messages in error.message_dict.items():
                if name not in error.children and _column(name) not in told:
                    row.refuse(_column(name), " ".join(messages))
            for name, child_rows in error.children.items():
                for index, child_errors in enumerate(child_rows, start=1):
                    for key, messages in child_errors.items():
                        if f"{name}[{index}].{key}" not in told:
                            row.refuse(f"{name}[{index}].{key}", " ".join(messages))
            return None

    def _create(self, writes: list[PledgeWrite]) -> None:
        if not writes:
            return
        pledges = [write.pledge for write in writes]
        for pledge in pledges:
            pledge.refresh_derived(self.rates)
        create_with_history(
            pledges, Pledge, user=self.user, change_reason=CHANGE_REASON, date=self.now
        )
        self._create_children(writes)

    def _create_children(self, writes: list[PledgeWrite]) -> None:
        for model, attribute in ((PledgeItem, "items"), (Source, "sources")):
            children = []
            for write in writes:
                for child in getattr(write, attribute) or []:
                    child.pledge_id = write.pledge.pk  # built when the pledge had no pk yet
                    children.append(child)
            create_with_history(
                children, model, user=self.user, change_reason=CHANGE_REASON, date=self.now
            )

    def _update(self, changed: list[tuple[_Row, PledgeWrite, bool]]) -> None:
        if not changed:
            return
        changed = self._lock_unchanged_since_read(changed)
        pledges = []
        for _, write, _ in changed:
            pledge = write.pledge
            pledge.refresh_derived(self.rates)
            pledge.version += 1
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
        ids = [write.pledge.pk for write in replaced]
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            # Deleted one by one through signals, so that each deletion is in the history.
            PledgeItem.objects.filter(pledge_id__in=chunk).delete()
            Source.objects.filter(pledge_id__in=chunk).delete()
        self._create_children(replaced)

    def _lock_unchanged_since_read(self, changed: list) -> list:
        """Lock the pledges to update; refuse those that another writer changed meanwhile.

        Only these are locked (not every pledge read), so an import of unchanged rows locks
        nothing.
        """
        ids = [write.pledge.pk for _, write, _ in changed]
        versions: dict[int, int] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
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

    def _report_errors(self, row: _Row) -> None:
        for column, messages in row.errors.items():
            for message in messages:
                self.report.errors.append(RowError(row.outcome.row, column, message))


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


def _children_of_row(row: _Row) -> tuple[list, list]:
    return (
        [tuple(item[key] for key in ITEM_KEYS) for item in row.items],
        [tuple(source[key] for key in SOURCE_KEYS) for source in row.sources],
    )


def _children_of_write(write: PledgeWrite) -> tuple[list, list]:
    return (
        [tuple(getattr(item, key) for key in ITEM_KEYS) for item in write.items or []],
        [tuple(getattr(source, key) for key in SOURCE_KEYS) for source in write.sources or []],
    )
