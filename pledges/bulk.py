"""Bulk creation of rows with their history rows, as fast as the database allows.

On PostgreSQL the rows are sent with ``COPY … FROM STDIN``: the primary keys are taken from the
table's sequence first (so children can point at their parents), and each history row is built
from its object exactly as django-simple-history's ``bulk_history_create`` builds it. Elsewhere
(SQLite) it is simple_history's ``bulk_create_with_history``. Neither sends model signals, and
the database checks every constraint either way.

Two internals are used on purpose: Django's ``_prepare_related_fields_for_save`` (what
``bulk_create`` itself runs, so COPY refuses unsaved related objects exactly as it does; there
is no public equivalent), and simple-history's ``tracked_fields`` for the history columns (a
history field this copy would not fill is refused, so a library upgrade cannot go unnoticed).
"""

import datetime as dt
import operator
from collections.abc import Iterator, Sequence
from decimal import Decimal

from django.db import connection, models
from simple_history.utils import bulk_create_with_history, get_change_reason_from_object

COPY_READ_SIZE = 2**16  # characters handed to the database at a time


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


def refresh_planner_statistics(*tables: type[models.Model]) -> None:
    """After a bulk load on PostgreSQL, the planner's statistics of ``tables`` (their models),
    which autovacuum refreshes only a minute or so later: until then a table filled from empty
    is planned as if it were empty (a sequential scan of 100,000 sources for the 100 of a page,
    12 ms instead of 0.1). Not on SQLite, whose planner uses no statistics unless ANALYZE has
    made them once; the report queries' plans there are tested without them."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
        cursor.execute(f"ANALYZE {names}")


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
    history_lines: list[str] = []
    values_of = operator.attrgetter(*attnames)  # a tuple: a model has a pk and other fields
    tracked_indexes = [attnames.index(name) for name in tracked]

    def lines():
        for obj in objs:
            # Each value is written once, and used again for the history row.
            text = [_copy_text(value) for value in values_of(obj)]
            history_user = getattr(
                obj, "_history_user", user or history_model.get_default_history_user(obj)
            )
            history_values = [
                *(text[index] for index in tracked_indexes),
                _copy_text(getattr(obj, "_history_date", date)),
                _copy_text(history_user.pk if history_user is not None else None),
                _copy_text(get_change_reason_from_object(obj) or change_reason),
                "+",
            ]
            history_lines.append("\t".join(history_values) + "\n")
            yield "\t".join(text) + "\n"

    # Django's own cursor has no copy_expert: psycopg2's, with its errors made Django's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(statements[0], _LinesFile(lines()), size=COPY_READ_SIZE)
        cursor.cursor.copy_expert(
            statements[1], _LinesFile(iter(history_lines)), size=COPY_READ_SIZE
        )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


class _LinesFile:
    """A read-only text file over lines made on demand: the database stores the rows already
    sent while the next ones are made."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._rest = ""

    def read(self, size: int = -1) -> str:
        parts, length = [self._rest], len(self._rest)
        for line in self._lines:
            parts.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        text = "".join(parts)
        if size < 0:
            self._rest = ""
            return text
        self._rest = text[size:]
        return text[:size]


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if value is None:
        return r"\N"
    if kind is int or kind is Decimal:
        return str(value)
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, str):  # choices enums hold their text
        return _copy_text(str.__str__(value))
    if isinstance(value, int):
        return str(int(value))
    raise TypeError(f"No COPY text for {value!r}.")
