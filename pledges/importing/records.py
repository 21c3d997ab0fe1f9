"""Import of fulfilment records (the ``fulfilments`` sheet of a workbook, or a CSV file of
their own) with the pledges: all or nothing with them.

A file that carries records gives the whole list of records of the pledges of its pledge rows
(a file without records leaves every record as it is). A stored record of one of them that the
file repeats exactly (kind, date, amount, note, items and sources) is kept as it is, unwritten;
the others are deleted before the pledges are written, so that the pledges' rules see only the
records that stay; the file's new records are created after the pledges, each checked by
``fulfilments.validate_fulfilment`` against its pledge as the file leaves it and against the
records before it. A record names its pledge by ``pledge_ref`` (a reference of the file's
pledge rows) and the pledge's items by name (docs/data-dictionary.md#import-and-export-layout).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from ..bulk import create_with_history
from ..fulfilments import (
    FulfilmentValidationError,
    FulfilmentWrite,
    PledgeRecords,
    delete_with_children,
    pledge_records,
    settle,
    source_values,
    validate_fulfilment,
)
from ..models import Fulfilment, FulfilmentItem, FulfilmentSource, PledgeItem
from ..spreadsheet import (
    FULFILMENT_COLUMNS,
    FULFILMENT_HEADER,
    FULFILMENTS_SHEET,
    RECORD_ITEM_KEYS,
    SOURCE_KEYS,
)
from .parse import Row, RowError, parse_json_rows, to_python

CHANGE_REASON = "Imported from a spreadsheet"
RECORD_FIELDS = ["kind", "date", "amount", "note"]


class _ItemCells:
    """What an entry of a record's ``items`` cell holds: a pledge item's name (``item``) and
    a quantity, converted by the model fields they are stored in."""

    class _meta:  # read as a model's _meta by ``parse.to_python``
        @staticmethod
        def get_field(name: str):
            if name == "item":
                return PledgeItem._meta.get_field("name")
            return FulfilmentItem._meta.get_field(name)


@dataclass
class RecordRow:
    number: int  # the row number in its sheet; the header is row 1
    values: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)  # {"item": name, "quantity": n}
    sources: list[dict] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    kept: bool = False  # the same as a stored record, which stays as it is

    @property
    def pledge_ref(self) -> str:
        return self.values.get("pledge_ref", "").strip()

    def refuse(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)

    def signature(self) -> tuple:
        items = sorted((entry["item"], entry["quantity"]) for entry in self.items)
        sources = tuple(tuple(source[key] for key in SOURCE_KEYS) for source in self.sources)
        return (*(self.fields.get(name) for name in RECORD_FIELDS), tuple(items), sources)


def stored_signature(record: Fulfilment) -> tuple:
    items = sorted((row.item.name, row.quantity) for row in record.items.all())
    sources = tuple(source_values(source) for source in record.sources.all())
    return (*(getattr(record, name) for name in RECORD_FIELDS), tuple(items), sources)


def record_rows(table: list[list[str]]) -> tuple[list[RecordRow], list[RowError]]:
    """The record rows of a sheet, paired with its header (checked)."""

    def error(row: int, column: str, message: str) -> RowError:
        return RowError(row, column, message, sheet=FULFILMENTS_SHEET)

    if not table or not any(cell.strip() for cell in table[0]):
        return [], [error(1, "header", "The records have no header row.")]
    header = [cell.strip() for cell in table[0]]
    errors = []
    for problem, names in (
        ("Missing columns", [name for name in FULFILMENT_COLUMNS if name not in header]),
        ("Unknown columns", [name for name in header if name not in FULFILMENT_HEADER]),
        ("Repeated columns", sorted({name for name in header if header.count(name) > 1})),
    ):
        if names:
            errors.append(error(1, "header", f"{problem}: {', '.join(names)}."))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            errors.append(error(number, "row", "More cells than columns."))
        padded = [*cells, *[""] * (len(header) - len(cells))]
        rows.append(RecordRow(number, dict(zip(header, padded, strict=False))))
    return rows, errors


def parse_record(row: RecordRow) -> None:
    """Cells to fields, items and sources; bad cells refused."""
    if not row.pledge_ref:
        row.refuse("pledge_ref", "A record names its pledge by its reference.")
    for name in RECORD_FIELDS:
        try:
            row.fields[name] = to_python(Fulfilment, name, row.values.get(name, ""))
        except ValidationError as error:
            row.refuse(name, " ".join(error.messages))
            row.fields[name] = None
    row.items = parse_json_rows(
        row.values.get("items", ""), "items", _ItemCells, RECORD_ITEM_KEYS, ["item"], row.refuse
    )
    row.sources = parse_json_rows(
        row.values.get("sources", ""),
        "sources",
        FulfilmentSource,
        SOURCE_KEYS,
        ["publisher"],
        row.refuse,
    )


@dataclass
class RecordImport:
    """The records of a file, from parsing to writing (see the module's docstring)."""

    rows: list[RecordRow]
    user: Any
    now: dt.datetime
    counts: dict[str, int] = field(default_factory=lambda: {"new": 0, "kept": 0, "removed": 0})
    touched: set[int] = field(default_factory=set)

    def prepare(self, row_by_ref: dict[str, Row], pk_by_ref: dict[str, int]) -> None:
        """Parse every row, check its pledge, keep the stored records the file repeats and
        delete the others of the file's stored pledges (before the pledges are written)."""
        for row in self.rows:
            parse_record(row)
            if row.pledge_ref and row.pledge_ref not in row_by_ref:
                row.refuse(
                    "pledge_ref",
                    f"No pledge row has the reference {row.pledge_ref!r}: a record goes with "
                    "its pledge's row.",
                )
        stored = {pk_by_ref[ref]: ref for ref in row_by_ref if ref in pk_by_ref}
        waiting: dict[tuple, list[RecordRow]] = defaultdict(list)
        for row in self.rows:
            if row.pledge_ref in row_by_ref and not row.errors:
                waiting[row.pledge_ref, row.signature()].append(row)
        records = Fulfilment.objects.filter(pledge_id__in=list(stored)).order_by("id")
        for record in records.prefetch_related("items__item", "sources"):
            same = waiting.get((stored[record.pledge_id], stored_signature(record)))
            if same:
                same.pop(0).kept = True
                self.counts["kept"] += 1
            else:
                delete_with_children(record, "items", "sources", moment=self.now)
                self.counts["removed"] += 1
                self.touched.add(record.pledge_id)

    def write(self, row_by_ref: dict[str, Row], pk_by_ref: dict[str, int]) -> None:
        """Check and create the new records (after the pledges are written); settle every
        pledge whose records changed."""
        new = [
            row
            for row in self.rows
            if not row.kept
            and not row.errors
            and row.pledge_ref in pk_by_ref
            and not row_by_ref[row.pledge_ref].errors
        ]
        contexts = pledge_records({pk_by_ref[row.pledge_ref] for row in new})
        writes = [self._check(row, contexts[pk_by_ref[row.pledge_ref]]) for row in new]
        if any(write is None for write in writes):
            return  # refused: the import is rolled back
        self._create(writes)
        self.counts["new"] = len(writes)
        self.touched.update(write.fulfilment.pledge_id for write in writes)
        settle(self.touched)

    def _check(self, row: RecordRow, context: PledgeRecords) -> FulfilmentWrite | None:
        names = {item.name: item.pk for item in context.items.values()}
        items = []
        for index, entry in enumerate(row.items, start=1):
            if entry["item"] not in names:
                row.refuse(f"items[{index}].item", f"The pledge has no item {entry['item']!r}.")
            items.append({"item_id": names.get(entry["item"]), "quantity": entry["quantity"]})
        if row.errors:
            return None
        try:
            write = validate_record(row, context, items)
        except FulfilmentValidationError as error:
            _refuse_all(row, error)
            return None
        record = write.fulfilment
        pairs = [(item.item_id, item.quantity) for item in write.items or []]
        context.held.add(record.kind, record.date, record.amount, pairs)  # the next ones see it
        return write

    def _create(self, writes: list[FulfilmentWrite]) -> None:
        history = {"user": self.user, "change_reason": CHANGE_REASON, "date": self.now}
        create_with_history([write.fulfilment for write in writes], Fulfilment, **history)
        for model, name in ((FulfilmentItem, "items"), (FulfilmentSource, "sources")):
            children = []
            for write in writes:
                for child in getattr(write, name) or []:
                    child.fulfilment_id = write.fulfilment.pk  # built before it had one
                    children.append(child)
            create_with_history(children, model, **history)

    def errors(self) -> list[RowError]:
        return [
            RowError(row.number, column, message, sheet=FULFILMENTS_SHEET)
            for row in self.rows
            for column, messages in row.errors.items()
            for message in messages
        ]


def validate_record(row: RecordRow, context: PledgeRecords, items: list[dict]) -> FulfilmentWrite:
    return validate_fulfilment(
        fields={"pledge": context.pledge, **row.fields},
        items=items,
        sources=row.sources,
        context=context,
    )


def _refuse_all(row: RecordRow, error: FulfilmentValidationError) -> None:
    """The rules' objections in the row's columns (``items[2].quantity``, ``pledge_ref``)."""
    for name, messages in error.message_dict.items():
        if name in error.children:
            for index, child in enumerate(error.children[name], start=1):
                for key, child_messages in child.items():
                    key = "item" if key == "item_id" else key
                    row.refuse(f"{name}[{index}].{key}", " ".join(child_messages))
        else:
            row.refuse("pledge_ref" if name == "pledge" else name, " ".join(messages))
