"""The data version (README): a token that changes with every write to the data the API
shows, so that an answer cached under it is never stale.

Every write path (admin, API, imports, PostgreSQL COPY, rate reloads, recomputes, deletes,
fixtures) goes through the database, so the database advances the version itself: triggers on
every table of ``TRACKED_TABLES`` write to ``pledges_datachange`` (created by migration 0004).

- PostgreSQL: a statement-level trigger inserts one row per writing statement (a COPY of a
  million rows is one row), with a random weight. Writers never wait for each other on it (no
  shared counter row), and now and then one of them folds the older rows into one. The version
  is the sum of the weights and the highest id that a transaction sees: it sees its own
  statements, and another transaction's only once committed, so a version read before the data
  never names data older than it.
- SQLite has a single writer at a time: row-level triggers give the one row a new random weight.

The weights are random so that a restored backup or a recreated database cannot meet a version
it had before, with other data, in a shared cache.
"""

from django.db import connections, router

# Every table whose rows the API, the reports or the dashboard show.
TRACKED_TABLES = (
    "pledges_category",
    "pledges_donor",
    "pledges_event",
    "pledges_exchangerate",
    "pledges_fulfilment",
    "pledges_fulfilmentitem",
    "pledges_fulfilmentsource",
    "pledges_pledge",
    "pledges_pledgeitem",
    "pledges_source",
)
CHANGE_TABLE = "pledges_datachange"
FOLD_EVERY = 64  # PostgreSQL: fold the older rows into one every this many statements
WEIGHT_MODULUS = 2**62


# Every name in the SQL below is a constant of this module: nothing comes from outside.
def pg_version_sql(table: str) -> str:
    """PostgreSQL: the (weight, last id) of the version kept in ``table``'s rows (``mod()``,
    not ``%``: the query may take parameters)."""
    return (
        f"SELECT mod(COALESCE(SUM(weight), 0), {WEIGHT_MODULUS}), COALESCE(MAX(id), 0) FROM {table}"
    )


# SQLite adds 64-bit integers and fails on an overflow ("integer overflow"). A database that ran
# migration 0008 before its triggers updated the one row holds up to four rows of random
# weights up to 2**62: they are added in Python. PostgreSQL adds bigints as numeric.
_READ_ROWS = f"SELECT weight, id FROM {CHANGE_TABLE}"


def current(using: str | None = None) -> str:
    """The version of the data that the database reads go to (or ``using``) sees."""
    if using is None:
        from .models import DataChange

        using = router.db_for_read(DataChange)
    if connections[using].vendor != "sqlite":
        return pg_version_of(CHANGE_TABLE, using)
    with connections[using].cursor() as cursor:
        cursor.execute(_READ_ROWS)
        rows = cursor.fetchall()
    weight = sum(row[0] for row in rows) % WEIGHT_MODULUS
    return version_text(weight, max((row[1] for row in rows), default=0))


def version_text(weight: int, last: int) -> str:
    return f"{int(weight):x}.{int(last):x}"


def pg_version_of(table: str, using: str) -> str:
    """PostgreSQL: the version kept in ``table`` by ``pg_record_change`` (as the data
    version's rows), as the reading statement sees it."""
    with connections[using].cursor() as cursor:
        cursor.execute(pg_version_sql(table))
        return version_text(*cursor.fetchone())


_PG_WEIGHT = "1 + floor(random() * 2147483646)::bigint"


def fold_older_rows(table: str, column: str, total: str) -> str:
    """PL/pgSQL, after a trigger function added row ``new_id`` to ``table``: every
    ``FOLD_EVERY`` rows, the rows before it replaced by one holding ``total`` of their
    ``column`` (this module's rows and ``pledges.pledge_count``'s). One writer folds at a time
    (an advisory lock, not waited for). A fold deletes rows other writers may have folded since
    its snapshot: under REPEATABLE READ or SERIALIZABLE that fails the write ("could not
    serialize access due to concurrent delete"), so only a READ COMMITTED writer folds
    (migration 0013)."""
    return f"""
    IF new_id % {FOLD_EVERY} = 0
       AND current_setting('transaction_isolation') = 'read committed'
       AND pg_try_advisory_xact_lock(hashtext('{table}')) THEN
        WITH gone AS (DELETE FROM {table} WHERE id < new_id RETURNING {column})
        INSERT INTO {table} ({column}) SELECT {total} FROM gone HAVING COUNT(*) > 0;
    END IF;"""


def pg_record_change(table: str) -> str:
    """PL/pgSQL: a row of a random weight added to ``table`` (a ``bigserial`` id and a
    ``bigint`` weight) into the declared ``new_id``, the older rows folded now and then."""
    total = f"(SUM(weight) % {WEIGHT_MODULUS})::bigint"
    return f"""
    INSERT INTO {table} (weight) VALUES ({_PG_WEIGHT}) RETURNING id INTO new_id;""" + (
        fold_older_rows(table, "weight", total)
    )


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pledges_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
BEGIN{pg_record_change(CHANGE_TABLE)}
    RETURN NULL;
END $$;
"""

_SQLITE_WEIGHT = f"random() % {WEIGHT_MODULUS}"
_SQLITE_BUMP = (
    f"INSERT INTO {CHANGE_TABLE} (id, weight) VALUES (1, {_SQLITE_WEIGHT}) "
    "ON CONFLICT (id) DO UPDATE SET weight = excluded.weight;"
)


def replace_function(schema_editor) -> None:
    """PostgreSQL: the triggers' function as this module writes it (migration 0013)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PG_FUNCTION, params=None)  # % is SQL here


def _trigger(table: str, event: str) -> str:
    return f"{table}_data_{event.lower()}"


def install(schema_editor, tables=TRACKED_TABLES) -> None:
    """Create the triggers that advance the version on writes to ``tables``, and a first
    version: a database that had rows before must not share an empty database's version."""
    postgresql = schema_editor.connection.vendor == "postgresql"
    # On SQLite the one row the triggers update: a migration that installs triggers again
    # must not add rows, whose random weights could overflow SQLite's SUM.
    first = (
        f"INSERT INTO {CHANGE_TABLE} (weight) VALUES ({_PG_WEIGHT})" if postgresql else _SQLITE_BUMP
    )
    schema_editor.execute(first, params=None)
    if postgresql:
        schema_editor.execute(_PG_FUNCTION, params=None)  # % is SQL here
        for table in tables:
            schema_editor.execute(
                f"CREATE TRIGGER {_trigger(table, 'changed')} "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION pledges_data_changed()"
            )
        return
    for table in tables:
        for event in ("INSERT", "UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {_trigger(table, event)} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN {_SQLITE_BUMP} END",
                params=None,
            )


def uninstall(schema_editor, tables=TRACKED_TABLES) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, 'changed')} ON {table}")
        schema_editor.execute("DROP FUNCTION IF EXISTS pledges_data_changed()")
        return
    for table in tables:
        for event in ("INSERT", "UPDATE", "DELETE"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, event)}")
