"""Import step 1, parse: cells of text into pledge fields, items and sources, and the problems
of each cell. Reads nothing from the database but the ``References`` it is given."""

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError

from ..models import Category, Donor, Event, Pledge, PledgeItem, Source
from ..spreadsheet import COLUMNS, HEADER, ITEM_KEYS, PLAIN_FIELDS, SOURCE_KEYS


@dataclass
class RowError:
    row: int  # spreadsheet row number; the header is row 1
    column: str
    message: str
    sheet: str = ""  # "fulfilments" for the records' sheet or file; empty for the pledges'

    def __str__(self) -> str:
        where = f"{self.sheet} row" if self.sheet else "row"
        return f"{where} {self.row}, {self.column}: {self.message}"


@dataclass
class RowOutcome:
    """What happened to one row: ``new``, ``update``, ``skip`` (unchanged) or ``invalid``."""

    row: int
    ref: str
    values: dict[str, str]
    action: str = "invalid"
    pledge: Pledge | None = None


@dataclass
class Row:
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


@dataclass
class References:
    """Donors (by name, folded name and ISO code), categories (by slug) and events (by name
    and date) that rows name."""

    donors: list[Donor]
    categories: dict[str, Category]
    events: dict[tuple, Event]

    def __post_init__(self):
        self.donors_by_name = {donor.name: donor for donor in self.donors}
        self.donors_by_folded_name = {donor.name.casefold(): donor for donor in self.donors}
        self.donors_by_iso = {donor.iso2: donor for donor in self.donors if donor.iso2}

    @classmethod
    def load(cls) -> "References":
        return cls(
            list(Donor.objects.all()),
            {category.slug: category for category in Category.objects.all()},
            {(event.name, event.date): event for event in Event.objects.all()},
        )


def table_rows(table: list[list[str]]) -> tuple[list[Row], list[RowError]]:
    """Check the header and pair every data row's cells with it."""
    if not table or not any(cell.strip() for cell in table[0]):
        return [], [RowError(1, "header", "The file has no header row.")]
    errors = []
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
            errors.append(RowError(1, "header", f"{problem}: {', '.join(names)}."))
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            errors.append(RowError(number, "row", "More cells than columns."))
        values = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=False))
        outcome = RowOutcome(number, values.get("external_ref", "").strip(), values)
        rows.append(
            Row(
                outcome,
                parent_ref=values.get("parent_ref", "").strip(),
                reannounces_ref=values.get("reannounces_ref", "").strip(),
            )
        )
    if not rows and not errors:
        errors.append(RowError(2, "row", "The file has no pledge rows."))
    return rows, errors


@cache
def _field(model, name: str):
    return model._meta.get_field(name)


def to_python(model, name: str, text: str):
    """A cell converted by the model field itself; an empty cell is the field's empty value."""
    model_field = _field(model, name)
    if text == "":
        if model_field.has_default():
            return model_field.get_default()
        return None if model_field.null else ""
    return model_field.to_python(text)


def parse_row(row: Row, references: References) -> None:
    """Fill ``row.fields``, ``row.items`` and ``row.sources`` from its cells; refuse bad cells."""
    values = row.outcome.values
    if not row.ref:
        row.refuse("external_ref", "A reference is required: it tells new pledges apart.")
    elif len(row.ref) > _field(Pledge, "external_ref").max_length:
        row.refuse("external_ref", "At most 64 characters.")
    row.fields["donor"] = _donor(row, references, values["donor"].strip())
    row.fields["category"] = _category(row, references, values["category"].strip())
    row.fields["event"] = _event(row, references, values["event"], values["event_date"].strip())
    for name in PLAIN_FIELDS:
        try:
            row.fields[name] = to_python(Pledge, name, values[name])
        except ValidationError as error:
            row.refuse(name, " ".join(error.messages))
            row.fields[name] = None
    row.items = _parse_children(row, "items", PledgeItem, ITEM_KEYS, required=["name"])
    row.sources = _parse_children(row, "sources", Source, SOURCE_KEYS, required=["publisher"])


def _donor(row: Row, references: References, text: str) -> Donor | None:
    donor = (
        references.donors_by_iso.get(text.upper()) if len(text) == 2 else None
    ) or references.donors_by_name.get(text, references.donors_by_folded_name.get(text.casefold()))
    if donor is None:
        row.refuse(
            "donor",
            f"Unknown donor {text!r}: give a donor's name or ISO code."
            if text
            else "A donor is required.",
        )
    return donor


def _category(row: Row, references: References, text: str) -> Category | None:
    category = references.categories.get(text) or references.categories.get(text.lower())
    if category is None:
        row.refuse(
            "category",
            f"Unknown category {text!r}: give a category slug."
            if text
            else "A category is required.",
        )
    return category


def _event(row: Row, references: References, name: str, date_text: str) -> Event | None:
    if not name and not date_text:
        return None
    if not name or not date_text:
        row.refuse("event", "An event is given by its name and its event_date together.")
        return None
    try:
        date = to_python(Event, "date", date_text)
    except ValidationError as error:
        row.refuse("event_date", " ".join(error.messages))
        return None
    event = references.events.get((name, date))
    if event is None:
        row.refuse("event", f"Unknown event {name!r} on {date_text}.")
    return event


def _parse_children(row: Row, column: str, model, keys, required) -> list[dict]:
    return parse_json_rows(row.outcome.values[column], column, model, keys, required, row.refuse)


def parse_json_rows(text: str, column: str, model, keys, required, refuse) -> list[dict]:
    """A cell holding a JSON list of objects with ``keys``, each value converted by the
    ``model`` field of its name; problems go to ``refuse(column, message)``."""
    text = text.strip()
    if not text:
        return []
    shape = f"a JSON list of objects with the keys {', '.join(keys)}"
    try:
        data = json.loads(text)
    except ValueError as error:
        refuse(column, f"Not valid JSON ({error}); expected {shape}.")
        return []
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        refuse(column, f"Expected {shape}.")
        return []
    children = []
    for index, entry in enumerate(data, start=1):
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            refuse(column, f"Entry {index}: unknown keys {', '.join(unknown)}.")
        child = {}
        for key in keys:
            value = entry.get(key)
            text_value = "" if value is None else str(value)
            if key in required and not text_value:
                refuse(f"{column}[{index}].{key}", "This field is required.")
            try:
                child[key] = to_python(model, key, text_value)
            except ValidationError as error:
                refuse(f"{column}[{index}].{key}", " ".join(error.messages))
                child[key] = None
        children.append(child)
    return children
