"""Data releases: versioned, citable snapshots of the database
(docs/data-dictionary.md#data-releases).

A release is a directory of CSV files in the import layout (``pledges.csv``, as
``export_pledges`` writes it, ``fulfilments.csv``, their allocation and delivery records, and the
reference tables ``donors.csv``, ``categories.csv`` and ``events.csv`` that they name), a
Frictionless Data Package descriptor ``datapackage.json``
(licence, release date, version, a schema for each file), and what changed since the previous
release: ``changes.csv`` (one row per pledge added, changed or removed) and ``CHANGELOG.md``,
read from the change history. ``load_release`` imports a release into a database.
"""

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .choices import (
    AmountBasis,
    Confidence,
    DonorKind,
    EventKind,
    FulfilmentKind,
    PledgeStatus,
)
from .history import UNCOMPARED_FIELDS
from .importing import ImportReport, import_file
from .models import (
    Category,
    Donor,
    Event,
    Fulfilment,
    FulfilmentItem,
    FulfilmentSource,
    Pledge,
    PledgeItem,
    Source,
)
from .spreadsheet import (
    FULFILMENT_HEADER,
    HEADER,
    csv_lines,
    export_queryset,
    fulfilments_queryset,
    generated_ref,
    iter_fulfilment_rows,
    iter_rows,
    neutralise,
    restore,
)

DESCRIPTOR = "datapackage.json"
CHANGELOG = "CHANGELOG.md"
LICENCE = {
    "name": "CC-BY-4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "path": "https://creativecommons.org/licenses/by/4.0/",
}
FIRST_VERSION = "1.0.0"


class ReleaseError(ValueError):
    """A release that cannot be written or read (the message says why)."""


# --- the tables and their schemas -----------------------------------------------------------


def _field(name: str, kind: str = "string", **constraints) -> dict:
    field = {"name": name, "type": kind}
    if constraints:
        field["constraints"] = constraints
    return field


def _enum(choices) -> list[str]:
    return [str(value) for value in choices.values]


REFERENCE_TABLES = {
    # name: (model, columns, schema fields, primary key)
    "donors": (
        Donor,
        ["name", "kind", "iso2"],
        [
            _field("name", required=True, unique=True),
            _field("kind", required=True, enum=_enum(DonorKind)),
            _field("iso2", pattern="[A-Z]{2}"),
        ],
        ["name"],
    ),
    "categories": (
        Category,
        ["slug", "name", "description"],
        [
            _field("slug", required=True, unique=True),
            _field("name", required=True),
            _field("description"),
        ],
        ["slug"],
    ),
    "events": (
        Event,
        ["name", "kind", "date", "location"],
        [
            _field("name", required=True),
            _field("kind", required=True, enum=_enum(EventKind)),
            _field("date", "date", required=True),
            _field("location"),
        ],
        ["name", "date"],
    ),
}

PLEDGE_FIELDS = {
    "external_ref": _field("external_ref", required=True, unique=True),
    "donor": _field("donor", required=True),
    "category": _field("category", required=True),
    "event_date": _field("event_date", "date"),
    "announced_on": _field("announced_on", "date", required=True),
    "title": _field("title", required=True),
    "status": _field("status", required=True, enum=_enum(PledgeStatus)),
    "confidence": _field("confidence", required=True, enum=_enum(Confidence)),
    "amount": _field("amount", "number", minimum=0.01),
    "amount_basis": _field("amount_basis", required=True, enum=_enum(AmountBasis)),
    "period_start_year": _field("period_start_year", "integer"),
    "period_end_year": _field("period_end_year", "integer"),
    "items": _field("items", "array"),
    "sources": _field("sources", "array", required=True),
    "total_amount": _field("total_amount", "number"),
    "value_eur": _field("value_eur", "number"),
    "rate_date": _field("rate_date", "date"),
}


def _pledge_schema() -> dict:
    own_ref = {"resource": "", "fields": "external_ref"}
    return {
        "fields": [PLEDGE_FIELDS.get(name, _field(name)) for name in HEADER],
        "primaryKey": ["external_ref"],
        "foreignKeys": [
            {"fields": "parent_ref", "reference": own_ref},
            {"fields": "reannounces_ref", "reference": own_ref},
            {"fields": "donor", "reference": {"resource": "donors", "fields": "name"}},
            {"fields": "category", "reference": {"resource": "categories", "fields": "slug"}},
            {
                "fields": ["event", "event_date"],
                "reference": {"resource": "events", "fields": ["name", "date"]},
            },
        ],
    }


RECORD_FIELDS = {
    "pledge_ref": _field("pledge_ref", required=True),
    "kind": _field("kind", required=True, enum=_enum(FulfilmentKind)),
    "date": _field("date", "date", required=True),
    "amount": _field("amount", "number", minimum=0.01),
    "items": _field("items", "array"),
    "sources": _field("sources", "array", required=True),
}


def _fulfilment_schema() -> dict:
    return {
        "fields": [RECORD_FIELDS.get(name, _field(name)) for name in FULFILMENT_HEADER],
        "foreignKeys": [
            {
                "fields": "pledge_ref",
                "reference": {"resource": "pledges", "fields": "external_ref"},
            }
        ],
    }


CHANGE_COLUMNS = ["change", "external_ref", "title", "date", "fields"]
CHANGE_KINDS = ("added", "changed", "removed")
CHANGES_SCHEMA = {
    "fields": [
        _field("change", required=True, enum=list(CHANGE_KINDS)),
        _field("external_ref", required=True),
        _field("title", required=True),
        _field("date", "datetime", required=True),
        _field("fields"),
    ]
}


def _resource(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "path": f"{name}.csv",
        "profile": "tabular-data-resource",
        "description": description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


# --- what changed since the previous release ------------------------------------------------


@dataclass
class Change:
    change: str  # added, changed or removed
    external_ref: str
    title: str
    date: dt.datetime  # of the latest version
    fields: list[str]

    def row(self) -> list[str]:
        return [
            self.change,
            self.external_ref,
            self.title,
            self.date.isoformat(),
            " ".join(self.fields),
        ]


def _compared(record) -> dict:
    return {
        field.attname: getattr(record, field.attname)
        for field in Pledge.history.model.tracked_fields
        if field.name not in UNCOMPARED_FIELDS
    }


def changes_since(since: dt.datetime | None) -> list[Change]:
    """Pledges added, changed and removed after ``since``, read from the change history,
    ordered by reference. A pledge added and removed in between is left out; a change of its
    items or sources is a change of the pledge. With no ``since`` (a first release) every
    stored pledge is added."""
    if since is None:
        pledges = Pledge.objects.order_by().values_list("id", "external_ref", "title", "updated_at")
        changes = [
            Change("added", ref or generated_ref(pk), title, updated_at, [])
            for pk, ref, title, updated_at in pledges.iterator(chunk_size=2000)
        ]
        return sorted(changes, key=lambda change: change.external_ref)
    records = Pledge.history.model.objects.order_by("id", "history_date", "history_id")
    children_changed: set[int] = set()
    for model in (PledgeItem, Source):
        children_changed.update(
            model.history.model.objects.filter(history_date__gt=since).values_list(
                "pledge_id", flat=True
            )
        )
    records_changed = _records_changed_since(since)
    changed_ids = set(records.filter(history_date__gt=since).values_list("id", flat=True))
    records = records.filter(id__in=changed_ids | children_changed | records_changed)
    by_pledge: dict[int, list] = {}
    for record in records.iterator(chunk_size=2000):
        by_pledge.setdefault(record.id, []).append(record)
    changes = []
    for pledge_id, versions in by_pledge.items():
        before = [version for version in versions if version.history_date <= since]
        old = before[-1] if before and before[-1].history_type != "-" else None
        new = versions[-1] if versions[-1].history_type != "-" else None
        change = _change(
            old,
            new,
            versions[-1],
            pledge_id in children_changed,
            pledge_id in records_changed,
        )
        if change is not None:
            changes.append(change)
    return sorted(changes, key=lambda change: (change.external_ref, change.change))


def _records_changed_since(since: dt.datetime) -> set[int]:
    """The pledges whose fulfilment records (with their items and sources) changed."""
    record_ids = set(
        Fulfilment.history.model.objects.filter(history_date__gt=since).values_list("id", flat=True)
    )
    for model in (FulfilmentItem, FulfilmentSource):
        record_ids.update(
            model.history.model.objects.filter(history_date__gt=since).values_list(
                "fulfilment_id", flat=True
            )
        )
    return set(
        Fulfilment.history.model.objects.filter(id__in=record_ids).values_list(
            "pledge_id", flat=True
        )
    )


def _change(
    old, new, latest, children_changed: bool, records_changed: bool = False
) -> Change | None:
    shown = new or old
    if shown is None:  # added and removed since the previous release
        return None
    ref = shown.external_ref or generated_ref(shown.id)
    if old is None:
        return Change("added", ref, shown.title, latest.history_date, [])
    if new is None:
        return Change("removed", ref, shown.title, latest.history_date, [])
    before, after = _compared(old), _compared(new)
    fields = [name.removesuffix("_id") for name in after if after[name] != before[name]]
    if children_changed:
        fields += ["items/sources"]
    if records_changed:
        fields += ["fulfilments"]
    if not fields:
        return None
    return Change("changed", ref, shown.title, latest.history_date, fields)


def _changelog(version: str, created: dt.datetime, previous: dict | None, changes) -> str:
    since = (
        f"since release {previous['version']} of {previous['created']}"
        if previous
        else "(first release: every pledge is new)"
    )
    lines = [f"# Release {version} ({created.isoformat()})", "", f"Changes {since}.", ""]
    for kind in CHANGE_KINDS:
        chosen = [change for change in changes if change.change == kind]
        lines.append(f"## {kind.capitalize()} ({len(chosen)})")
        lines.append("")
        lines += [
            f"- `{change.external_ref}` {change.title}"
            + (f" ({', '.join(change.fields)})" if change.fields else "")
            for change in chosen
        ]
        lines.append("")
    return "\n".join(lines)


# --- writing and reading ----------------------------------------------------------------------


def read_descriptor(directory: Path) -> dict:
    """The ``datapackage.json`` of a release, with its ``created`` date as a datetime."""
    try:
        descriptor = json.loads((Path(directory) / DESCRIPTOR).read_text(encoding="utf-8"))
        created = dt.datetime.fromisoformat(descriptor["created"])
        version = descriptor["version"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReleaseError(f"{directory} is not a release: {error}") from error
    if created.tzinfo is None:
        raise ReleaseError(f"{directory}: the release date has no time zone.")
    return {**descriptor, "created": created, "version": version}


def next_version(previous: str | None) -> str:
    """1.0.0 first, then the minor number up: 1.1.0, 1.2.0 …"""
    if previous is None:
        return FIRST_VERSION
    try:
        major, minor, _ = (int(part) for part in previous.split("."))
    except ValueError as error:
        message = f"The previous version {previous!r} is not MAJOR.MINOR.PATCH."
        raise ReleaseError(message) from error
    return f"{major}.{minor + 1}.0"


def _write_csv(path: Path, rows: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        for line in csv_lines(rows):
            stream.write(line)


def _reference_rows(model, columns: list[str]) -> Iterator[list[str]]:
    yield columns
    for values in model.objects.order_by(*columns[:2]).values_list(*columns):
        yield [neutralise("" if value is None else str(value)) for value in values]


def _write_tables(directory: Path) -> list[dict]:
    """The reference tables, the pledges and their records as CSV files; their resources."""
    resources = []
    for name, (model, columns, fields, key) in REFERENCE_TABLES.items():
        _write_csv(directory / f"{name}.csv", _reference_rows(model, columns))
        schema = {"fields": fields, "primaryKey": key}
        resources.append(_resource(name, schema, f"{model._meta.verbose_name_plural}."))
    _write_csv(directory / "pledges.csv", iter_rows(export_queryset(Pledge.objects.all())))
    resources.append(_resource("pledges", _pledge_schema(), "Pledges in the import layout."))
    _write_csv(directory / "fulfilments.csv", iter_fulfilment_rows(fulfilments_queryset()))
    resources.append(
        _resource(
            "fulfilments",
            _fulfilment_schema(),
            "Allocation and delivery records of the pledges, in their import layout.",
        )
    )
    return resources


def write_release(
    directory: Path,
    *,
    since: Path | None = None,
    version: str | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Write a release of the whole database into ``directory`` (new or empty) and return its
    descriptor. ``since`` is the directory of the previous release: the changes are counted
    from its date and the version follows its own unless ``version`` is given."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ReleaseError(f"{directory} is not empty: write each release to a new directory.")
    previous = read_descriptor(since) if since is not None else None
    created = (now or timezone.now()).astimezone(dt.UTC)
    version = version or next_version(previous["version"] if previous else None)
    directory.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():  # one consistent snapshot (REPEATABLE READ on PostgreSQL)
        resources = _write_tables(directory)
        changes = changes_since(previous["created"] if previous else None)
    _write_csv(directory / "changes.csv", [CHANGE_COLUMNS, *(c.row() for c in changes)])
    resources.append(
        _resource(
            "changes",
            CHANGES_SCHEMA,
            "Pledges added, changed and removed since the previous release.",
        )
    )
    descriptor = {
        "profile": "tabular-data-package",
        "name": "military-aid-pledges-ukraine",
        "title": "Military aid pledged to Ukraine",
        "description": "Pledges of military aid to Ukraine with their sources, as recorded by "
        "the editors. See docs/methodology.md and docs/data-dictionary.md of the project.",
        "version": version,
        "created": created.isoformat(),
        "licenses": [LICENCE],
        "resources": resources,
    }
    if previous:
        descriptor["previous_release"] = {
            "version": previous["version"],
            "created": previous["created"].isoformat(),
        }
    (directory / DESCRIPTOR).write_text(
        json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (directory / CHANGELOG).write_text(
        _changelog(version, created, previous and descriptor["previous_release"], changes),
        encoding="utf-8",
    )
    return descriptor


def _read_table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return [
            {key: restore(value) for key, value in row.items()} for row in csv.DictReader(stream)
        ]


def _load_reference_tables(directory: Path) -> None:
    """Create or update the donors, categories and events of a release (by their keys)."""
    for name, (model, columns, _, key) in REFERENCE_TABLES.items():
        for number, row in enumerate(_read_table(directory / f"{name}.csv"), start=2):
            values = {column: row.get(column, "") for column in columns}
            if model is Donor:
                values["iso2"] = values["iso2"] or None
            obj = model.objects.filter(**{k: values[k] for k in key}).first() or model()
            for column, value in values.items():
                setattr(obj, column, value)
            try:
                obj.full_clean()
            except ValidationError as error:
                raise ReleaseError(f"{name}.csv, row {number}: {error}") from error
            obj.save()


def load_release(directory: Path, *, dry_run: bool = False, user=None) -> ImportReport:
    """Import a release: its reference tables, then its pledges with their records (all or
    nothing; a release without ``fulfilments.csv`` leaves the stored records as they are)."""
    directory = Path(directory)
    read_descriptor(directory)
    records = directory / "fulfilments.csv"
    with transaction.atomic():
        _load_reference_tables(directory)
        report = import_file(
            (directory / "pledges.csv").read_bytes(),
            "csv",
            fulfilments=records.read_bytes() if records.exists() else None,
            dry_run=dry_run,
            user=user,
        )
        if not report.written:
            transaction.set_rollback(True)
    return report
