"""The one column layout of pledges in spreadsheets (CSV in UTF-8, and XLSX).

Export writes it, import reads it, so that a file round-trips exactly:

- ``external_ref`` identifies a pledge across exports and imports. A pledge without one is
  written as ``pledge-<id>``; importing that reference back into the same database updates the
  pledge (and stores the reference), it does not create a copy.
- ``parent_ref`` is the package's reference, ``reannounces_ref`` the reference of the earlier
  pledge that this one re-announces; ``donor`` is written as the donor's name (an ISO
  code is accepted on import); ``category`` is the slug; an event is its ``event`` name and
  ``event_date``, which identify it (they are unique together).
- ``items`` and ``sources`` are JSON lists of objects, so that names may hold any separator:
  ``[{"name": "drone", "quantity": 100}]``, ``[{"url": …, "publisher": …, "title": …,
  "published_on": "2025-06-05", "kind": "media", "archived_url": …, "accessed_on": …}]``
  (keys left out take their empty value; ``kind`` then is ``other``). An empty ``items`` cell
  means no items. docs/data-dictionary.md#import-and-export-layout describes every column.
- ``total_amount``, ``value_eur`` and ``rate_date`` are derived: written for information,
  ignored on import.

Fulfilment records travel beside the pledges in a layout of their own (``FULFILMENT_HEADER``):
a second sheet, ``fulfilments``, of an XLSX workbook, or a second CSV file. A record names its
pledge by ``pledge_ref`` (the pledge's reference, as above) and the pledge's items by name
(``items``: ``[{"item": "drone", "quantity": 30000}]``; a pledge lists each name once);
``currency`` (the pledge's) is written for information. Records are ordered by their pledge's
reference, then date, kind and id, so that a file round-trips exactly.

Every cell is text (amounts keep their exact decimals, which a spreadsheet float would not).
A cell that a spreadsheet could run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return) is written with a leading apostrophe, and so is a cell that starts with an
apostrophe; import removes one leading apostrophe, so every value comes back as it was.
"""

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.conf import settings
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat

from .models import SOURCE_FIELDS, Fulfilment, Pledge

# Columns that hold the pledge field of the same name, as it is.
PLAIN_FIELDS = [
    "announced_on",
    "title",
    "description",
    "status",
    "confidence",
    "amount",
    "currency",
    "amount_basis",
    "period_start_year",
    "period_end_year",
    "recipient",
]
COLUMNS = [
    "external_ref",
    "parent_ref",
    "reannounces_ref",
    "donor",
    "category",
    "event",
    "event_date",
    *PLAIN_FIELDS,
    "items",
    "sources",
]
INFORMATIONAL_COLUMNS = ["total_amount", "value_eur", "rate_date"]
HEADER = COLUMNS + INFORMATIONAL_COLUMNS

FULFILMENT_COLUMNS = ["pledge_ref", "kind", "date", "amount", "items", "note", "sources"]
FULFILMENT_INFORMATIONAL_COLUMNS = ["currency"]
FULFILMENT_HEADER = FULFILMENT_COLUMNS + FULFILMENT_INFORMATIONAL_COLUMNS
FULFILMENTS_SHEET = "fulfilments"
RECORD_ITEM_KEYS = ["item", "quantity"]  # the pledge item's name, how many

ITEM_KEYS = ["name", "quantity"]
SOURCE_KEYS = SOURCE_FIELDS
GENERATED_REF_PREFIX = "pledge-"
CSV_DELIMITERS = (",", ";", "\t")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
EXPORT_CHUNK_SIZE = 2000
# XLSX files are byte-identical across runs: fixed document and archive dates.
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1)  # noqa: DTZ001 - a constant, not a moment


class SpreadsheetError(ValueError):
    """A file that cannot be read as a pledge sheet at all (encoding, format)."""


def neutralise(text: str) -> str:
    """Stop a spreadsheet from running a cell as a formula; ``restore`` undoes it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised(rows: Iterable[list]) -> Iterator[list[str]]:
    """Rows of any table with every cell as text, neutralised: for every sheet the project
    writes besides the pledge layout (which ``iter_rows`` neutralises), e.g. reports."""
    for row in rows:
        yield [neutralise(_text(cell)) for cell in row]


def restore(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def generated_ref(pk: int) -> str:
    return f"{GENERATED_REF_PREFIX}{pk}"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False) if rows else ""


def _ref(pledge: Pledge | None) -> str:
    if pledge is None:
        return ""
    return pledge.external_ref or generated_ref(pledge.pk)


def _json_value(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def pledge_row(pledge: Pledge) -> list[str]:
    """One pledge as cells of ``HEADER`` (before neutralisation)."""
    event = pledge.event
    items = [{"name": item.name, "quantity": item.quantity} for item in pledge.items.all()]
    sources = [
        {key: _json_value(getattr(source, key)) for key in SOURCE_KEYS}
        for source in pledge.sources.all()
    ]
    values = [
        _ref(pledge),
        _ref(pledge.parent),
        _ref(pledge.reannounces),
        pledge.donor.name,
        pledge.category.slug,
        event.name if event else "",
        event.date if event else "",
        pledge.announced_on,
        pledge.title,
        pledge.description,
        pledge.status,
        pledge.confidence,
        pledge.amount,
        pledge.currency,
        pledge.amount_basis,
        pledge.period_start_year,
        pledge.period_end_year,
        pledge.recipient,
        _json(items),
        _json(sources),
        pledge.total_amount,
        pledge.value_eur,
        pledge.rate_date,
    ]
    return [_text(value) for value in values]


def fulfilment_row(record: Fulfilment) -> list[str]:
    """One record as cells of ``FULFILMENT_HEADER`` (before neutralisation)."""
    items = [{"item": row.item.name, "quantity": row.quantity} for row in record.items.all()]
    sources = [
        {key: _json_value(getattr(source, key)) for key in SOURCE_KEYS}
        for source in record.sources.all()
    ]
    values = [
        _ref(record.pledge),
        record.kind,
        record.date,
        record.amount,
        _json(items),
        record.note,
        _json(sources),
        record.pledge.currency,
    ]
    return [_text(value) for value in values]


def _reference_of(prefix: str = "") -> Coalesce:
    """The reference a pledge is written with (``external_ref`` or ``pledge-<id>``), in SQL."""
    return Coalesce(
        f"{prefix}external_ref",
        Concat(Value(GENERATED_REF_PREFIX), Cast(f"{prefix}id", CharField())),
        output_field=CharField(),
    )


def fulfilments_queryset(pledges: QuerySet | None = None) -> QuerySet:
    """The records of ``pledges`` (every record without), with what a row needs, ordered by
    their pledge's reference, date, kind and id: byte-identical exports, and identical again
    after an import into another database (records are created in the file's order)."""
    records = Fulfilment.objects.all()
    if pledges is not None:
        records = records.filter(pledge_id__in=pledges.order_by().values("pk"))
    return (
        records.select_related("pledge")
        .prefetch_related("items__item", "sources")
        .order_by(_reference_of("pledge__"), "date", "kind", "id")
    )


def iter_fulfilment_rows(queryset: QuerySet) -> Iterator[list[str]]:
    """The header, then one neutralised row per record, read in chunks."""
    yield FULFILMENT_HEADER
    for record in queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield [neutralise(cell) for cell in fulfilment_row(record)]


def export_queryset(queryset: QuerySet, *, keep_order: bool = False) -> QuerySet:
    """``queryset`` with what a row needs, ordered by reference unless ``keep_order``.

    Ordering by the written reference makes an export byte-identical across runs, and identical
    again after the file is imported into another database.
    """
    queryset = queryset.select_related(
        "donor", "category", "event", "parent", "reannounces"
    ).prefetch_related("items", "sources")
    if keep_order:
        return queryset
    return queryset.order_by(_reference_of(), "id")


def iter_rows(queryset: QuerySet, *, columns: list[str] | None = None) -> Iterator[list[str]]:
    """The header, then one neutralised row per pledge, reading in chunks (flat memory)."""
    indexes = [HEADER.index(name) for name in columns] if columns else None
    yield columns or HEADER
    for pledge in queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        row = [neutralise(cell) for cell in pledge_row(pledge)]
        yield [row[index] for index in indexes] if indexes else row


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]], *, lineterminator: str = "\r\n") -> Iterator[str]:
    """CSV text line by line, for streaming: the project's one CSV writer. The rows given are
    already neutralised (``iter_rows``, ``neutralised``)."""
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    for row in rows:
        yield writer.writerow(row)


def write_csv(rows: Iterable[list[str]], stream) -> int:
    """Write CSV text to a text stream; returns the number of data rows."""
    count = -1
    for count, line in enumerate(csv_lines(rows)):  # noqa: B007 - the count is the result
        stream.write(line)
    return max(count, 0)


def write_xlsx(
    rows: Iterable[list[str]], stream, *, more: dict[str, Iterable[list[str]]] | None = None
) -> int:
    """Write an XLSX workbook (a ``pledges`` sheet of text cells, then the sheets ``more``, by
    name) to a binary stream; returns the data rows of the first."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("pledges")
    count = -1
    for count, row in enumerate(rows):  # noqa: B007 - the count is the result
        sheet.append(row)
    for name, more_rows in (more or {}).items():
        other = workbook.create_sheet(name)
        for row in more_rows:
            other.append(row)
    workbook.properties.created = workbook.properties.modified = FIXED_TIMESTAMP
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    # openpyxl stamps each archive member with the current time: copy with a fixed one.
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return max(count, 0)


# --- reading -------------------------------------------------------------------------------


def cell_text(value) -> str:
    """A cell as text; spreadsheets may have turned text into numbers or dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


def read_csv(data: bytes) -> list[list[str]]:
    """Rows of a UTF-8 CSV file (a byte order mark is allowed; commas or semicolons)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpreadsheetError(
            f"The file is not UTF-8 text: byte 0x{data[error.start]:02x} on line {line} "
            "cannot be read. Save it as CSV UTF-8."
        ) from error
    # Spreadsheets in some locales save CSV with semicolons: the header line tells.
    header_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=header_line.count)
    try:
        return [
            [restore(cell) for cell in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise SpreadsheetError(f"The file is not valid CSV: {error}.") from error


def check_archive(file) -> None:
    """Refuse a zip archive (an XLSX workbook) whose members would unpack to more than
    ``IMPORT_MAX_UNCOMPRESSED_SIZE`` bytes, or that has more than ``IMPORT_MAX_ARCHIVE_MEMBERS``
    members, before anything unpacks it: a small file must not exhaust a worker (a zip bomb).

    Only the archive's directory is read. Python's zipfile, which openpyxl reads with, never
    unpacks a member past the size the directory declares."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise SpreadsheetError(f"The file is not a readable XLSX workbook ({error}).") from error
    finally:
        if hasattr(file, "seek"):
            file.seek(0)
    if len(members) > settings.IMPORT_MAX_ARCHIVE_MEMBERS:
        raise SpreadsheetError(
            f"The workbook has {len(members):,} parts; at most "
            f"{settings.IMPORT_MAX_ARCHIVE_MEMBERS:,} are accepted."
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > settings.IMPORT_MAX_UNCOMPRESSED_SIZE:
        raise SpreadsheetError(
            f"The workbook would unpack to {unpacked:,} bytes; at most "
            f"{settings.IMPORT_MAX_UNCOMPRESSED_SIZE:,} are accepted."
        )


def read_xlsx(data: bytes) -> list[list[str]]:
    """Rows of the first sheet of an XLSX workbook, as text."""
    return read_workbook(data)[0]


def read_workbook(data: bytes) -> tuple[list[list[str]], list[list[str]] | None]:
    """Rows of the first sheet of an XLSX workbook and of its ``fulfilments`` sheet (None
    without one), as text (its archive checked first; the XML parsed by defusedxml, which
    refuses entity definitions)."""
    from openpyxl import load_workbook

    check_archive(io.BytesIO(data))
    workbook = None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = [workbook.worksheets[0]]
        if FULFILMENTS_SHEET in workbook.sheetnames[1:]:
            sheets.append(workbook[FULFILMENTS_SHEET])
        tables = [
            [[restore(cell_text(value)) for value in row] for row in rows]
            for rows in (sheet.iter_rows(values_only=True) for sheet in sheets)
        ]
    except Exception as error:  # openpyxl and defusedxml raise many kinds for a bad file
        raise SpreadsheetError(f"The file is not a readable XLSX workbook ({error}).") from error
    finally:
        if workbook is not None:
            workbook.close()
    return tables[0], tables[1] if len(tables) > 1 else None


def read_rows(data: bytes, file_format: str) -> list[list[str]]:
    if file_format == "xlsx":
        return read_xlsx(data)
    if file_format == "csv":
        return read_csv(data)
    raise SpreadsheetError(f"Unknown format {file_format!r}: use csv or xlsx.")


def format_of(file_name: str) -> str:
    return "xlsx" if file_name.lower().endswith(".xlsx") else "csv"
