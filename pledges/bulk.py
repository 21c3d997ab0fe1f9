"""Bulk creation of rows with their history rows, as fast as the database allows.

On PostgreSQL the rows are sent with ``COPY … FROM STDIN``: the primary keys are taken from the
table's sequence first (so children can point at their parents), and each history row is built
from its object exactly as django-simple-history's ``bulk_history_create`` builds it. Elsewhere
(SQLite) it is simple_history's ``bulk_create_with_history``. Neither sends model signals, and
the database checks every constraint either way.
"""

import datetime as dt
import io
from collections.abc import Iterable, Sequence
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
    _copy_create(objs, model)
    _copy_history(objs, model.history.model, user, change_reason, date)


def _copy_create(objs: Sequence[models.Model], model: type[models.Model]) -> None:
    """What ``bulk_create`` does, with the pks reserved from the sequence and the rows copied."""
    meta = model._meta
    fields = meta.concrete_fields
    stamped = [field for field in fields if getattr(field, "auto_now_add", False)] + [
        field for field in fields if getattr(field, "auto_now", False)
    ]
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
    attnames = [field.attname for field in fields]
    _copy(
        meta.db_table,
        [field.column for field in fields],
        ([getattr(obj, name) for name in attnames] for obj in objs),
    )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _copy_history(objs, history_model, user, change_reason: str, date: dt.datetime) -> None:
    """The rows of ``HistoryManager.bulk_history_create`` (history_type ``+``), copied."""
    tracked = [field.attname for field in history_model.tracked_fields]
    extra = ["history_date", "history_user_id", "history_change_reason", "history_type"]
    columns = [history_model._meta.get_field(name).column for name in tracked + extra]
    auto = {history_model._meta.pk.attname}
    unknown = {f.attname for f in history_model._meta.concrete_fields} - set(tracked + extra) - auto
    if unknown:  # a field this copy would leave out: refuse rather than write partial rows
        raise NotImplementedError(f"History fields not copied: {', '.join(sorted(unknown))}.")

    def rows():
        for obj in objs:
            history_user = getattr(
                obj, "_history_user", user or history_model.get_default_history_user(obj)
            )
            yield [
                *(getattr(obj, name) for name in tracked),
                getattr(obj, "_history_date", date),
                history_user.pk if history_user is not None else None,
                get_change_reason_from_object(obj) or change_reason,
                "+",
            ]

    _copy(history_model._meta.db_table, columns, rows())


def _copy(table: str, columns: list[str], rows: Iterable[list]) -> None:
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    buffer, count = io.StringIO(), 0
    with connection.cursor() as cursor:
        for row in rows:
            buffer.write("\t".join([_copy_text(value) for value in row]))
            buffer.write("\n")
            count += 1
            if count == COPY_CHUNK:
                _send(cursor, statement, buffer)
                buffer, count = io.StringIO(), 0
        if count:
            _send(cursor, statement, buffer)


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
