"""django-import-export resource for the admin, on the layout and rules of the commands.

Import goes through ``importing.import_table`` (``services.validate_pledge`` for every row, all
or nothing, history written); export writes ``spreadsheet`` rows. The admin's preview is a dry
run of the same import.

Own code rather than django-import-export's import: its row-by-row saves cannot hold the
all-or-nothing package rounds, the bulk writes with history rows and the import speed the README
states (Performance).
"""

import io
from collections import defaultdict

from django.core.exceptions import ValidationError
from import_export import fields, resources
from import_export.formats.base_formats import XLSX
from import_export.results import Error, Result, RowResult

from .importing import import_table
from .models import Pledge
from .spreadsheet import (
    COLUMNS,
    FULFILMENTS_SHEET,
    HEADER,
    cell_text,
    export_queryset,
    fulfilments_queryset,
    iter_fulfilment_rows,
    iter_rows,
    read_workbook,
    restore,
    write_xlsx,
)


class PledgeXLSX(XLSX):
    """XLSX in the commands' layout, with the records in their own sheet (``fulfilments``),
    read and written by ``spreadsheet`` (the import's archive checks, text cells, fixed dates)."""

    def create_dataset(self, in_stream):
        import tablib

        pledges, records = read_workbook(in_stream)
        width = len(pledges[0]) if pledges else 0
        dataset = tablib.Dataset(headers=pledges[0] if pledges else None)
        for row in pledges[1:]:
            dataset.append([*row, *[""] * (width - len(row))][:width])
        dataset.fulfilments = records
        return dataset

    def export_data(self, dataset, **kwargs):
        stream = io.BytesIO()
        records = getattr(dataset, "fulfilments", None)
        more = {FULFILMENTS_SHEET: records} if records is not None else None
        write_xlsx([dataset.headers, *dataset], stream, more=more)
        return stream.getvalue()


class RecordRowError(ValueError):
    """A problem of a row of the records' sheet (shown beside the pledge rows' problems)."""


IMPORT_TYPES = {
    "new": RowResult.IMPORT_TYPE_NEW,
    "update": RowResult.IMPORT_TYPE_UPDATE,
    "skip": RowResult.IMPORT_TYPE_SKIP,
}


class PledgeResource(resources.ModelResource):
    class Meta:
        model = Pledge
        use_transactions = True  # the import runs in one transaction (importing.import_table)
        skip_unchanged = True  # rows equal to their stored pledge write nothing
        use_bulk = False  # bulk writes are importing's own, which write history rows

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # So that the admin lists the columns; the values come from ``spreadsheet``.
        self.fields = {name: fields.Field(column_name=name, readonly=True) for name in HEADER}

    def get_export_order(self):
        return HEADER

    def export(self, queryset=None, **kwargs):
        import tablib

        columns = [name for name in kwargs.get("export_fields") or HEADER if name in HEADER]
        rows = iter_rows(export_queryset(queryset), columns=columns)
        dataset = tablib.Dataset(headers=next(rows))
        for row in rows:
            dataset.append(row)
        # Written by the XLSX format (``PledgeXLSX``) as a sheet of its own; CSV has no room.
        dataset.fulfilments = list(iter_fulfilment_rows(fulfilments_queryset(queryset)))
        return dataset

    def import_data(self, dataset, dry_run=False, **kwargs):
        table = [[restore(cell_text(cell)) for cell in dataset.headers or []]]
        table.extend([restore(cell_text(cell)) for cell in row] for row in dataset)
        records = getattr(dataset, "fulfilments", None)  # an XLSX workbook's second sheet
        report = import_table(table, fulfilments=records, dry_run=dry_run, user=kwargs.get("user"))
        return self._result(report)

    @staticmethod
    def _result(report) -> Result:
        result = Result()
        result.diff_headers = list(COLUMNS)
        for outcome in report.rows:
            if outcome.action not in IMPORT_TYPES:
                continue
            row_result = RowResult()
            row_result.import_type = IMPORT_TYPES[outcome.action]
            row_result.diff = [outcome.values.get(name, "") for name in COLUMNS]
            row_result.add_instance_info(outcome.pledge)
            row_result.instance = outcome.pledge
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        errors_by_row = defaultdict(lambda: defaultdict(list))
        for error in report.errors:
            if error.sheet:
                result.append_base_error(Error(RecordRowError(str(error))))
                continue
            # The message quotes the file's cells: a parameter, never the template.
            errors_by_row[error.row][error.column].append(
                ValidationError("%(message)s", params={"message": error.message})
            )
        values_by_row = {outcome.row: outcome.values for outcome in report.rows}
        for number, errors in sorted(errors_by_row.items()):
            result.append_invalid_row(
                number, values_by_row.get(number, {}), ValidationError(dict(errors))
            )
        return result
