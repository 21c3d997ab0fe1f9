"""The number of pledges a list selects, where the database can tell it without counting
them (README, performance): the whole list, and on PostgreSQL a ``search`` alone, counted from
its documents (``search.count_matching``).

PostgreSQL counts a million rows in some 25 ms, the better part of an unfiltered page computed
after a write; SQLite counts them from an index in about 4 ms. On PostgreSQL the database
therefore keeps the number itself (migration 0011): statement-level triggers on the pledges
table add one row per writing statement to ``pledges_pledgecount``, holding how many pledges
it inserted or deleted (a COPY of a million is one row), and a truncate empties it. The number
is the sum of the rows a transaction sees: as with ``COUNT(*)``, its own statements and the
committed ones of others. Writers never wait for each other on it (no shared counter row), and
now and then one of them folds the older rows into one, as the data version's triggers do
(``dataversion.fold_older_rows``).
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
    ordering, by name) selects, where the database keeps the number: the whole list, or a
    ``search`` alone (``search.count_matching``), on PostgreSQL; None otherwise. An empty value
    filters nothing, nor does a blank search (the filter strips it)."""
    search_text = (filters.get("search") or "").strip()
    if any(value != "" for name, value in filters.items() if name != "search"):
        return None
    if search_text:
        return search.count_matching(search_text, using)
    return current(using)


def current(using: str) -> int | None:
    """The number of pledges that a query on database ``using`` sees; None on SQLite, which
    keeps no number (its ``COUNT(*)`` is quick)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(SUM(delta), 0) FROM {TABLE}")
        return int(cursor.fetchone()[0])


def recount(using: str) -> None:
    """PostgreSQL: the kept number set to ``COUNT(*)`` again, for a database whose pledges
    were written with its triggers off (a data-only restore, ``session_replication_role``)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE pledges_pledge IN SHARE MODE")  # no writer meanwhile
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(_COUNT_NOW)


def _trigger(event: str) -> str:
    return f"pledges_pledge_counted_{event.lower()}"


def install(schema_editor) -> None:
    """PostgreSQL: the table, its triggers, and the number of pledges there are now."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, delta bigint NOT NULL)")
    schema_editor.execute(_FUNCTION, params=None)  # % is SQL here
    for event, transitions in _TRIGGERS.items():
        schema_editor.execute(
            f"CREATE TRIGGER {_trigger(event)} AFTER {event} ON pledges_pledge {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
    schema_editor.execute(_COUNT_NOW)


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for event in _TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(event)} ON pledges_pledge")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
