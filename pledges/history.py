"""A pledge's change history read from django-simple-history, as plain data.

It is read from the historical tables by id, so it still answers after the pledge is deleted.
Items and sources have history tables of their own; every write saves the pledge first and
then its children, so the children as they stood after a version are their rows written
before the next version of the pledge.

Own diff rather than simple-history's ``diff_against``: that compares editable fields only
(``model_to_dict``), and the derived values (``value_eur`` …) must show in the history too.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from .models import Pledge, PledgeItem, Source
from .spreadsheet import ITEM_KEYS, SOURCE_KEYS

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
# Bookkeeping that every version changes or that never changes.
UNCOMPARED_FIELDS = {"id", "created_at"}
CHILD_FIELDS = {"items": ITEM_KEYS, "sources": SOURCE_KEYS}


def _plain(value: Any) -> Any:
    """A JSON-friendly value: money as a decimal string, dates in ISO format."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _children_timeline(model, pledge_id: int, names: list[str]) -> list:
    """The child history rows of a pledge, oldest first."""
    return list(
        model.history.model.objects.filter(pledge_id=pledge_id)
        .order_by("history_date", "history_id")
        .values("id", "history_date", "history_type", *names)
    )


def _children_before(timeline: list, moment: dt.datetime | None, names: list[str]) -> list:
    """The children that existed just before ``moment`` (None: now), in the order made."""
    latest: dict[int, dict] = {}
    for row in timeline:
        if moment is not None and row["history_date"] >= moment:
            break
        latest[row["id"]] = row
    return [
        {name: _plain(row[name]) for name in names}
        for _, row in sorted(latest.items())
        if row["history_type"] != "-"
    ]


def pledge_history(pledge_id: int) -> list[dict[str, Any]]:
    """Every version of the pledge, newest first, with the fields changed from the one before.

    A created version lists the fields it was given (old values null); a deleted one lists none.
    Foreign keys are given by id (``donor``, ``category``, ``event``, ``parent``,
    ``reannounces``); ``items``
    and ``sources`` appear as whole lists when they changed. Empty when no pledge with this id
    ever existed.
    """
    records = list(
        Pledge.history.model.objects.filter(id=pledge_id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    fields = [
        field
        for field in Pledge.history.model.tracked_fields
        if field.name not in UNCOMPARED_FIELDS
    ]
    if not records:
        return []
    timelines = {
        name: _children_timeline(model, pledge_id, CHILD_FIELDS[name])
        for name, model in (("items", PledgeItem), ("sources", Source))
    }
    versions = []
    previous = None
    for index, record in enumerate(records):
        kind = HISTORY_TYPES[record.history_type]
        changes = []
        if kind != "deleted":
            for field in fields:
                new = getattr(record, field.attname)
                old = getattr(previous, field.attname) if previous is not None else None
                if new != old and not (previous is None and new in (None, "")):
                    changes.append({"field": field.name, "old": _plain(old), "new": _plain(new)})
            following = records[index + 1].history_date if index + 1 < len(records) else None
            for name, timeline in timelines.items():
                new = _children_before(timeline, following, CHILD_FIELDS[name])
                old = (
                    _children_before(timeline, record.history_date, CHILD_FIELDS[name])
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
                "changes": changes,
            }
        )
        previous = record
    versions.reverse()
    return versions
