"""Bulk creation of rows with their history rows, as fast as the database allows.

On PostgreSQL the rows are sent with ``COPY … FROM STDIN``: the primary keys are taken from the
table's sequence first (so children can point at their parents), and each history row is built
from its object exactly as django-simple-history's ``bulk_history_create`` builds it. Elsewhere
(SQLite) it is simple_history's ``bulk_create_with_history``. Neither sends model signals, and
the database checks every constraint either way.
"""

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection, models
from simple_history.utils import bulk_create_with_history, get_change_reason_from_object

COPY_CHUNK = 20_000  # rows per COPY statement, to bound the size of the text buffer


def create_with_history(
    objs: Sequence[models.Model],
    model: type[models.Model],
    *,
    user,
    change_reason: str,
    date: dt.datetime,
    batch_size: int = 1000,
) -> None:
    """Insert ``objs`` (unsaved, without pks) and one ``+`` history row each, by ``user``."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        bulk_create_with_history(
            objs,
            model,
            batch_size=batch_size,
            default_user=user,
            default_change_reason=change_reason,
            default_date=date,
        )
        return
    _prepare(objs, model)
    _copy_with_history(objs, model, user, change_reason, date)


def _prepare(objs: Sequence[models.Model], model: type[models.Model]) -> None:
    """What ``bulk_create`` does before inserting, with the pks reserved from the sequence."""
    meta = model._meta
    stamped = [field for field in meta.concrete_fields if getattr(field, "auto_now_add", False)]
    stamped += [field for field in meta.concrete_fields if getattr(field, "auto_now", False)]
    for obj in objs:
        if obj.pk is not None:
            raise ValueError(f"{obj!r} already has a primary key.")
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        pks = sorted(pk for (pk,) in cursor.fetchall())
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        for field in stamped:
            field.pre_save(obj, add=True)


def _copy_with_history(objs, model, user, change_reason: str, date: dt.datetime) -> None:
    """COPY the rows, and the rows of ``HistoryManager.bulk_history_create`` (type ``+``)."""
    history_model = model.history.model
    fields = model._meta.concrete_fields
    attnames = [field.attname for field in fields]
    tracked = [field.attname for field in history_model.tracked_fields]
    extra = ["history_date", "history_user_id", "history_change_reason", "history_type"]
    history_fields = [history_model._meta.get_field(name) for name in tracked + extra]
    known = {*tracked, *extra, history_model._meta.pk.attname}
    unknown = {field.attname for field in history_model._meta.concrete_fields} - known
    if unknown:  # a field this copy would leave out: refuse rather than write partial rows
        raise NotImplementedError(f"History fields not copied: {', '.join(sorted(unknown))}.")
    quote = connection.ops.quote_name
    statements = [
        f"COPY {quote(table)} ({', '.join(quote(field.column) for field in columns)}) FROM STDIN"
        for table, columns in (
            (model._meta.db_table, fields),
            (history_model._meta.db_table, history_fields),
        )
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), COPY_CHUNK):
            rows, history_rows = io.StringIO(), io.StringIO()
            for obj in objs[start : start + COPY_CHUNK]:
                # Each value is written once, and used again for the history row.
                text = {name: _copy_text(getattr(obj, name)) for name in attnames}
                history_user = getattr(
                    obj, "_history_user", user or history_model.get_default_history_user(obj)
                )
                rows.write("\t".join([text[name] for name in attnames]))
                rows.write("\n")
                history_rows.write("\t".join([text[name] for name in tracked]))
                history_rows.write("\t")
                history_rows.write(
                    "\t".join(
                        [
                            _copy_text(getattr(obj, "_history_date", date)),
                            _copy_text(history_user.pk if history_user is not None else None),
                            _copy_text(get_change_reason_from_object(obj) or change_reason),
                            "+",
                        ]
                    )
                )
                history_rows.write("\n")
            _send(cursor, statements[0], rows)
            _send(cursor, statements[1], history_rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _send(cursor, statement: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.cursor.copy_expert(statement, buffer)


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    kind = type(value)
    if value is None:
        return r"\N"
    if kind is not str and isinstance(value, str):  # choices enums hold their text
        value, kind = str.__str__(value), str
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(int(value)) if isinstance(value, int) else str(value)
    if kind is dt.datetime or kind is dt.date:
        return value.isoformat()
    raise TypeError(f"No COPY text for {value!r}.")
