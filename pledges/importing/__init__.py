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
loaded once per round (``package_rules.PackageFacts``). A re-announcement (``reannounces_ref``)
is checked against the pledge it names, so a row naming another row of the file waits for it:
the file is imported in strata (``plan.strata``), each in the rounds above.

Three steps, each testable alone: ``parse`` (cells to fields, no database but the references
it is given), ``plan`` (stored pledges, rounds, checks: which rows are new, changed or
unchanged) and ``write`` (bulk writes with history rows, under row locks for updates).
Fulfilment records, when the file carries them (a second sheet or CSV file), are imported with
the pledges (``records``).
"""

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils import timezone

from ..models import ExchangeRate
from ..permissions import check_may_import
from ..spreadsheet import SpreadsheetError, read_csv, read_rows, read_workbook
from .parse import References, Row, RowError, RowOutcome, parse_row, table_rows
from .plan import Planner, StoredPledges, index_rows, rounds, strata
from .records import RecordImport, record_rows
from .write import Writer

__all__ = ["ImportReport", "RowError", "RowOutcome", "import_file", "import_table"]


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    records: dict[str, int] | None = None  # new, kept, removed; None: the file had none

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def written(self) -> bool:
        return not self.errors and not self.dry_run

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        text = (
            f"{len(self.rows)} rows: {self.count('new')} new, {self.count('update')} updated, "
            f"{self.count('skip')} unchanged pledges {verb} imported."
        )
        if self.records is not None:
            text += (
                f" Records: {self.records['new']} new, {self.records['kept']} unchanged, "
                f"{self.records['removed']} removed."
            )
        return text


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
def import_file(
    data: bytes, file_format: str, *, fulfilments: bytes | None = None, **options
) -> ImportReport:
    """Import a CSV or XLSX file given as bytes, with its records: an XLSX workbook's
    ``fulfilments`` sheet, or for CSV the file ``fulfilments``; see ``import_table`` for the
    options."""
    try:
        if file_format == "xlsx":
            if fulfilments is not None:
                raise SpreadsheetError(
                    "A workbook carries its records in its fulfilments sheet, not in a file."
                )
            table, records = read_workbook(data)
        else:
            table = read_rows(data, file_format)
            records = read_csv(fulfilments) if fulfilments is not None else None
    except SpreadsheetError as error:
        report = ImportReport(dry_run=options.get("dry_run", False))
        report.errors.append(RowError(0, "file", str(error)))
        return report
    return import_table(table, fulfilments=records, **options)


@_collector_paused()
def import_table(
    table: list[list[str]],
    *,
    fulfilments: list[list[str]] | None = None,
    dry_run: bool = False,
    user=None,
    progress=None,
) -> ImportReport:
    """Import rows of text (the first is the header), and the records ``fulfilments`` (rows
    of text in their own layout; None leaves the stored records as they are).

    ``progress`` is a tqdm bar (or anything with ``reset(total=)`` and ``update(n)``). With a
    ``user``, the import is refused (PermissionDenied) unless they may add and change pledges.
    """
    check_may_import(user)
    report = ImportReport(dry_run=dry_run)
    rows, report.errors = table_rows(table)
    report.rows = [row.outcome for row in rows]
    records = None
    if fulfilments is not None:
        record_table, record_errors = record_rows(fulfilments)
        report.errors.extend(record_errors)
        records = RecordImport(record_table, user, timezone.now())
    if report.errors:
        return report
    if progress is not None:
        progress.reset(total=len(rows))
    with transaction.atomic():
        try:
            _run(rows, records, user, progress.update if progress else (lambda done: None))
            report.errors.extend(
                RowError(row.outcome.row, column, message)
                for row in rows
                for column, messages in row.errors.items()
                for message in messages
            )
            if records is not None:
                report.errors.extend(records.errors())
                report.records = records.counts
        except DatabaseError as error:
            report.errors.append(RowError(0, "file", f"The database refused the import: {error}"))
        if report.errors or dry_run:
            transaction.set_rollback(True)
    report.errors.sort(key=lambda error: (error.sheet, error.row))
    return report


def _run(rows: list[Row], records: RecordImport | None, user, progress) -> None:
    """Parse every row, then plan and write round by round (see the module's docstring);
    the records that go are deleted before, the new ones written after."""
    rates = ExchangeRate.objects.table()
    now = records.now if records else timezone.now()  # one time for every history row
    references = References.load()
    for row in rows:
        parse_row(row, references)
    row_by_ref = index_rows(rows)
    stored = StoredPledges.load(
        {ref for row in rows for ref in (row.ref, row.parent_ref, row.reannounces_ref)}
    )
    if records is not None:
        records.prepare(row_by_ref, stored.pk_by_ref)
    planner = Planner(stored, row_by_ref, rates, progress)
    writer = Writer(user, now, rates)
    for stratum in strata(rows, row_by_ref, stored.pk_by_ref):
        for batch in rounds(stratum):
            plan = planner.plan_round(batch)
            # Written even when other rows are bad (all is rolled back at the end), so that
            # later rounds are checked against what they name and every problem is reported.
            writer.create(plan.new)
            writer.update(plan.changed)
            for row in batch:
                if row.outcome.pledge is not None and row.outcome.pledge.pk:
                    stored.pk_by_ref[row.ref] = row.outcome.pledge.pk
    if records is not None:
        records.write(row_by_ref, stored.pk_by_ref)
