"""A pledge's change history read from django-simple-history, as plain data.

It is read from the historical tables by id, so it still answers after the pledge is deleted.
Items and sources have history tables of their own; every write saves the pledge first and
then its children, so the children as they stood after a version are their rows written
before the next version of the pledge. A deletion writes the children's rows at the very time
of the owner's (``fulfilments.delete_with_children``), so they belong to the deletion. Records
(``fulfilment_history``) are read the same way.

Own diff rather than simple-history's ``diff_against``: that compares editable fields only
(``model_to_dict``), and the derived values (``value_eur`` …) must show in the history too.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .models import Fulfilment, FulfilmentItem, FulfilmentSource, Pledge, PledgeItem, Source
from .spreadsheet import ITEM_KEYS, SOURCE_KEYS

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
# Bookkeeping that every version changes or that never changes.
UNCOMPARED_FIELDS = {"id", "created_at"}


@dataclass(frozen=True)
class Children:
    """Rows written with their owner (a pledge's items, a record's sources): their model, the
    column naming the owner, and the keys they are shown with (``columns``: where each key is
    read from, when it differs)."""

    model: type
    owner: str
    keys: list[str]
    columns: list[str] | None = None

    @property
    def read(self) -> list[str]:
        return self.columns or self.keys


PLEDGE_CHILDREN = {
    "items": Children(PledgeItem, "pledge_id", ITEM_KEYS),
    "sources": Children(Source, "pledge_id", SOURCE_KEYS),
}
RECORD_CHILDREN = {
    "items": Children(
        FulfilmentItem, "fulfilment_id", ["item", "quantity"], ["item_id", "quantity"]
    ),
    "sources": Children(FulfilmentSource, "fulfilment_id", SOURCE_KEYS),
}


def _plain(value: Any) -> Any:
    """A JSON-friendly value: money as a decimal string, dates in ISO format."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _children_timeline(children: Children, owner_id: int) -> list:
    """The child history rows of an owner, oldest first."""
    return list(
        children.model.history.model.objects.filter(**{children.owner: owner_id})
        .order_by("history_date", "history_id")
        .values("id", "history_date", "history_type", *children.read)
    )


def _children_before(timeline: list, moment: dt.datetime | None, children: Children) -> list:
    """The children that existed just before ``moment`` (None: now), in the order made."""
    latest: dict[int, dict] = {}
    for row in timeline:
        if moment is not None and row["history_date"] >= moment:
            break
        latest[row["id"]] = row
    return [
        {key: _plain(row[column]) for key, column in zip(children.keys, children.read, strict=True)}
        for _, row in sorted(latest.items())
        if row["history_type"] != "-"
    ]


def pledge_history(pledge_id: int) -> list[dict[str, Any]]:
    """Every version of the pledge, newest first, with the fields changed from the one before.

    A created version lists the fields it was given (old values null); a deleted one lists none.
    Foreign keys are given by id (``donor``, ``category``, ``event``, ``parent``,
    ``reannounces``); ``items`` and ``sources`` appear as whole lists when they changed.
    ``reason`` says why a version was written when a rule wrote it (the status that records
    decide) or an import. Empty when no pledge with this id ever existed.
    """
    return history_of(Pledge, pledge_id, PLEDGE_CHILDREN)


def fulfilment_history(record_id: int) -> list[dict[str, Any]]:
    """Every version of a fulfilment record, as ``pledge_history`` (``pledge`` by id, ``items``
    as ``{"item", "quantity"}`` with the pledge item's id)."""
    return history_of(Fulfilment, record_id, RECORD_CHILDREN)


def history_of(model, pk: int, children: dict[str, Children]) -> list[dict[str, Any]]:
    """Every version of one ``model`` row and its ``children``, newest first (see
    ``pledge_history``)."""
    records = list(
        model.history.model.objects.filter(id=pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    if not records:
        return []
    fields = [f for f in model.history.model.tracked_fields if f.name not in UNCOMPARED_FIELDS]
    timelines = {name: _children_timeline(spec, pk) for name, spec in children.items()}
    versions = []
    previous = None
    for index, record in enumerate(records):
        kind = HISTORY_TYPES[record.history_type]
        changes = []
        if kind != "deleted":
            changes = _field_changes(record, previous, fields)
            following = records[index + 1].history_date if index + 1 < len(records) else None
            for name, timeline in timelines.items():
                spec = children[name]
                new = _children_before(timeline, following, spec)
                old = (
                    _children_before(timeline, record.history_date, spec)
                    if previous is not None
                    else None
                )
                if new != old and not (previous is None and not new):
                    changes.append({"field": name, "old": old, "new": new})
        user = record.history_user
        versions.append(
            {
                "history_id": record.history_id,
                "date": record.history_date,
                "user": user.get_username() if user is not None else None,
                "type": kind,
                "reason": record.history_change_reason or None,
                "changes": changes,
            }
        )
        previous = record
    versions.reverse()
    return versions


def _field_changes(record, previous, fields) -> list[dict[str, Any]]:
    changes = []
    for field in fields:
        new = getattr(record, field.attname)
        old = getattr(previous, field.attname) if previous is not None else None
        if new != old and not (previous is None and new in (None, "")):
            changes.append({"field": field.name, "old": _plain(old), "new": _plain(new)})
    return changes
