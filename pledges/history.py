"""A pledge's change history read from django-simple-history, as plain data.

It is read from the historical table by id, so it still answers after the pledge is deleted.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from .models import Pledge

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
# Bookkeeping that every version changes or that never changes.
UNCOMPARED_FIELDS = {"id", "created_at"}


def _plain(value: Any) -> Any:
    """A JSON-friendly value: money as a decimal string, dates in ISO format."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def pledge_history(pledge_id: int) -> list[dict[str, Any]]:
    """Every version of the pledge, newest first, with the fields changed from the one before.

    A created version lists the fields it was given (old values null); a deleted one lists none.
    Foreign keys are given by id (``donor``, ``category``, ``event``, ``parent``). Empty when
    no pledge with this id ever existed.
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
    versions = []
    previous = None
    for record in records:
        kind = HISTORY_TYPES[record.history_type]
        changes = []
        if kind != "deleted":
            for field in fields:
                new = getattr(record, field.attname)
                old = getattr(previous, field.attname) if previous is not None else None
                if new != old and not (previous is None and new in (None, "")):
                    changes.append({"field": field.name, "old": _plain(old), "new": _plain(new)})
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
