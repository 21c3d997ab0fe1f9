"""The number of pledges a list selects, where the database can tell it without counting
them (README, performance): the whole list, and on PostgreSQL a ``search`` alone, counted from
its documents (``search.count_matching``).

Counting a million rows takes PostgreSQL some 25 ms and SQLite 4 ms (from an index), the
better part of an unfiltered page computed after a write. The database therefore keeps the
number itself, in ``pledges_pledgecount``; the number is the sum of its rows.

- PostgreSQL (migration 0011): statement-level triggers on the pledges table add one row per
  writing statement, holding how many pledges it inserted or deleted (a COPY of a million is
  one row), and a truncate empties it. A transaction sees its own statements and the committed
  ones of others, as with ``COUNT(*)``. Writers never wait for each other on it (no shared
  counter row), and now and then one of them folds the older rows into one, as the data
  version's triggers do (``dataversion.fold_older_rows``).
- SQLite (migration 0015), which has one writer at a time: row-level triggers add one to or
  take one from its single row.
"""

from collections.abc import Mapping

from django.db import connections, transaction

from . import search
from .dataversion import fold_older_rows

TABLE = "pledges_pledgecount"
FUNCTION = "pledges_pledge_counted"

_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM {TABLE};
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO {TABLE} (delta) SELECT COUNT(*) FROM added RETURNING id INTO new_id;
    ELSE
        INSERT INTO {TABLE} (delta) SELECT -COUNT(*) FROM removed RETURNING id INTO new_id;
    END IF;{fold_older_rows(TABLE, "delta", "SUM(delta)")}
    RETURN NULL;
END $$;
"""
_COUNT_NOW = f"INSERT INTO {TABLE} (delta) SELECT COUNT(*) FROM pledges_pledge"
# Each event its own trigger: a trigger with a transition table has one event.
_TRIGGERS = {
    "INSERT": "REFERENCING NEW TABLE AS added",
    "DELETE": "REFERENCING OLD TABLE AS removed",
    "TRUNCATE": "",
}


def known(filters: Mapping[str, str], using: str) -> int | None:
    """How many pledges a list with ``filters`` (its parameters other than paging and
    ordering, by name) selects, where the database keeps the number: the whole list, or on
    PostgreSQL a ``search`` alone (``search.count_matching``); None otherwise. An empty value
    filters nothing, nor does a blank search (the filter strips it)."""
    search_text = (filters.get("search") or "").strip()
    if any(value != "" for name, value in filters.items() if name != "search"):
        return None
    if search_text:
        return search.count_matching(search_text, using)
    return current(using)


def current(using: str) -> int | None:
    """The number of pledges that a query on database ``using`` sees; None where no number is
    kept (another database)."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(delta), 0) FROM {TABLE}")
        return int(cursor.fetchone()[0])


def recount(using: str) -> None:
    """The kept number set to ``COUNT(*)`` again, for a database whose pledges were written
    with its triggers off (a data-only restore, ``session_replication_role``) or, on SQLite,
    by a ``REPLACE`` from another tool (SQLite fires no delete trigger for the row it
    replaces)."""
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE pledges_pledge IN SHARE MODE")  # no writer meanwhile
        # (SQLite: the transaction holds the only write lock.)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(_COUNT_NOW)


def _trigger(event: str) -> str:
    return f"pledges_pledge_counted_{event.lower()}"


# SQLite: one row, kept by a trigger per inserted or deleted row.
_SQLITE_TRIGGERS = {"INSERT": "+ 1", "DELETE": "- 1"}
# What keeps the number on each database: its table, and the statements that make and that
# drop its triggers.
_TABLES = {
    "postgresql": f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, delta bigint NOT NULL)",
    "sqlite": f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, delta integer NOT NULL)",
}
_MAKE = {
    "postgresql": [
        _FUNCTION,
        *(
            f"CREATE TRIGGER {_trigger(event)} AFTER {event} ON pledges_pledge {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
            for event, transitions in _TRIGGERS.items()
        ),
    ],
    "sqlite": [
        f"CREATE TRIGGER {_trigger(event)} AFTER {event} ON pledges_pledge "
        f"BEGIN UPDATE {TABLE} SET delta = delta {change}; END"
        for event, change in _SQLITE_TRIGGERS.items()
    ],
}
_DROP = {
    "postgresql": [
        *(f"DROP TRIGGER IF EXISTS {_trigger(event)} ON pledges_pledge" for event in _TRIGGERS),
        f"DROP FUNCTION IF EXISTS {FUNCTION}()",
    ],
    "sqlite": [f"DROP TRIGGER IF EXISTS {_trigger(event)}" for event in _SQLITE_TRIGGERS],
}


def install(schema_editor, vendor: str) -> None:
    """On ``vendor``'s database only (its migration: 0011 PostgreSQL, 0015 SQLite): the table,
    the triggers that keep it, and the number of pledges there are now."""
    if schema_editor.connection.vendor != vendor:
        return
    schema_editor.execute(_TABLES[vendor])
    for statement in _MAKE[vendor]:
        schema_editor.execute(statement, params=None)  # % is SQL in the function
    schema_editor.execute(_COUNT_NOW)


def uninstall(schema_editor, vendor: str) -> None:
    if schema_editor.connection.vendor != vendor:
        return
    for statement in _DROP[vendor]:
        schema_editor.execute(statement)
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
