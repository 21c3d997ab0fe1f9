"""The pledge filter ``search`` (docs/data-dictionary.md#filters): words in the title, the
description or an item's name, in any letter case, answered from an index on both databases.

What matches is defined once, by Django's ``icontains`` on the three texts; the indexes only
find the candidates quickly:
- PostgreSQL: one search document per pledge, ``UPPER`` of its title, description and item
  names, one per line, in ``pledges_pledgesearch`` (migration 0010), with a trigram GIN index.
  ``UPPER(document) LIKE UPPER(pattern)`` is the very test that ``icontains`` makes of each
  text, so the document's matches are the answer; only a text holding a line break could match
  across two of them, and gets the ``icontains`` test as well. One column, with its statistics,
  lets the planner choose: for a common word it walks the date index and stops at a page, for a
  rare one it reads the few matches (three trigram indexes joined by a UNION, before, could do
  neither: 0.6 s for a common word at a million pledges). Statement-level triggers keep the
  documents of the pledges that a statement wrote, a COPY of a million included, and record a
  change of the documents' own version when they wrote or removed one (migration 0016): a
  search's count is kept under it (``count_matching``).
- SQLite: FTS5 tables with the trigram tokenizer (migration 0005), kept by triggers. They match
  a superset (their case folding covers all of Unicode, SQLite's LIKE only ASCII), so the
  ``icontains`` test is applied to the candidates they give. A text under three characters has
  no trigram: it is answered by ``icontains`` alone.
"""

import hashlib

from django.core.cache import cache
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from . import dataversion

DOCUMENTS = "pledges_pledgesearch"
SEPARATOR = "\n"
PLEDGE_INDEX = "pledges_pledge_search"
ITEM_INDEX = "pledges_pledgeitem_search"
TRIGRAM = 3

# PostgreSQL: (table, column, index name)
TRIGRAM_INDEXES = (
    ("pledges_pledge", "title", "pledge_title_trgm_idx"),
    ("pledges_pledge", "description", "pledge_description_trgm_idx"),
    ("pledges_pledgeitem", "name", "pledgeitem_name_trgm_idx"),
)


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """The pledges of ``queryset`` whose title, description or an item's name contains
    ``text``, in any letter case."""
    from .models import PledgeItem

    text = text.strip()
    if not text:
        return queryset
    connection = connections[queryset.db]
    items = PledgeItem.objects.filter(pledge=OuterRef("pk"), name__icontains=text)
    exact = Q(title__icontains=text) | Q(description__icontains=text) | Exists(items)
    if connection.vendor == "postgresql":
        documents = RawSQL("SELECT pledge_id " + _DOCUMENTS_MATCHING, [_pattern(connection, text)])
        queryset = queryset.filter(pk__in=documents)
        return queryset.filter(exact) if SEPARATOR in text else queryset
    if connection.vendor == "sqlite" and len(text) >= TRIGRAM:
        phrase = '"' + text.replace('"', '""') + '"'
        candidates = RawSQL(
            f"SELECT rowid FROM {PLEDGE_INDEX} WHERE {PLEDGE_INDEX} MATCH %s UNION "
            f"SELECT pledge_id FROM pledges_pledgeitem WHERE id IN "
            f"(SELECT rowid FROM {ITEM_INDEX} WHERE {ITEM_INDEX} MATCH %s)",
            [phrase, phrase],
        )
        queryset = queryset.filter(pk__in=candidates)
    return queryset.filter(exact)


def count_matching(text: str, using: str) -> int | None:
    """PostgreSQL: how many pledges ``matching`` finds for ``text``, counted from the documents
    alone (a third of the time of counting the pledges they name: one document per pledge),
    and kept in the cache under the documents' version. None where the documents cannot tell:
    SQLite, and a text holding the separator."""
    connection = connections[using]
    text = text.strip()
    if connection.vendor != "postgresql" or SEPARATOR in text:
        return None
    version = dataversion.pg_version_of(DOCUMENT_CHANGES, using)
    if (count := cache.get(_count_key(version, text))) is not None:
        return count
    # Counted with the version in one statement (one snapshot): under READ COMMITTED a count
    # made by a statement after the version's may see documents written since.
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_WITH_VERSION, [_pattern(connection, text)])
        weight, last, count = cursor.fetchone()
    cache.set(_count_key(dataversion.version_text(weight, last), text), count, COUNT_TIMEOUT)
    return count


COUNT_TIMEOUT = 3600  # seconds: counts under older versions are never asked for again


def _count_key(version: str, text: str) -> str:
    return "search-count:" + hashlib.sha256(f"{version}\n{text}".encode()).hexdigest()[:32]


# PostgreSQL: the documents that contain a pattern of ``_pattern``.
_DOCUMENTS_MATCHING = f"FROM {DOCUMENTS} WHERE document LIKE UPPER(%s)"
# The documents' own version, kept in its rows (migration 0016, below), read with a count.
DOCUMENT_CHANGES = "pledges_documentchange"
_COUNT_WITH_VERSION = (
    f"SELECT version.weight, version.last, (SELECT COUNT(*) {_DOCUMENTS_MATCHING}) "
    f"FROM ({dataversion.pg_version_sql(DOCUMENT_CHANGES)}) AS version (weight, last)"
)


def _pattern(connection, text: str) -> str:
    return f"%{connection.ops.prep_for_like_query(text)}%"


def _sqlite_index(table: str, index: str, columns: tuple[str, ...]) -> list[str]:
    """An external-content FTS5 table over ``columns`` of ``table``, and the triggers that keep
    it in step (https://www.sqlite.org/fts5.html#external_content_tables)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    delete = f"INSERT INTO {index} ({index}, rowid, {names}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO {index} (rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE {index} USING fts5({names}, content='{table}', "
        "content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {index}_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {index}_delete AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {index}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {delete} {insert} END",
        f"INSERT INTO {index} ({index}) VALUES ('rebuild')",
    ]


SQLITE_INDEXES = (
    ("pledges_pledge", PLEDGE_INDEX, ("title", "description")),
    ("pledges_pledgeitem", ITEM_INDEX, ("name",)),
)


def install(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, column, name in TRIGRAM_INDEXES:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin (UPPER({column}) gin_trgm_ops)"
            )
    elif schema_editor.connection.vendor == "sqlite":
        for table, index, columns in SQLITE_INDEXES:
            for statement in _sqlite_index(table, index, columns):
                schema_editor.execute(statement)


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for _, _, name in TRIGRAM_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    elif schema_editor.connection.vendor == "sqlite":
        for _, index, _ in SQLITE_INDEXES:
            for suffix in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {index}_{suffix}")
            schema_editor.execute(f"DROP TABLE IF EXISTS {index}")


# --- PostgreSQL: one search document per pledge (migration 0010) --------------------------

_DOCUMENT_OF_PLEDGES = f"""
INSERT INTO {DOCUMENTS} (pledge_id, document)
SELECT p.id, UPPER(concat_ws('{SEPARATOR}', p.title, p.description, (
    SELECT string_agg(i.name, '{SEPARATOR}' ORDER BY i.id)
    FROM pledges_pledgeitem i WHERE i.pledge_id = p.id)))
FROM pledges_pledge p WHERE p.id IN (%s)
ON CONFLICT (pledge_id) DO UPDATE SET document = EXCLUDED.document;"""

# Each trigger names its statement's rows ``added`` and ``removed`` (transition tables); these
# select the pledges whose documents an update changed.
_PLEDGES_RETITLED = (
    "SELECT a.id FROM added a JOIN removed r ON r.id = a.id "
    "WHERE (a.title, a.description) IS DISTINCT FROM (r.title, r.description)"
)
_PLEDGES_OF_ITEMS_CHANGED = (  # an item renamed or moved: its pledge before and after
    "SELECT unnest(ARRAY[a.pledge_id, r.pledge_id]) FROM added a JOIN removed r ON r.id = a.id "
    "WHERE (a.name, a.pledge_id) IS DISTINCT FROM (r.name, r.pledge_id)"
)
_EVERY_PLEDGE = "SELECT id FROM pledges_pledge"


def _by_event(insert: str, update: str, delete: str, truncate: str) -> dict[str, str]:
    """The statement of a trigger function for each event that fires it."""
    return {"INSERT": insert, "UPDATE": update, "DELETE": delete, "TRUNCATE": truncate}


def _function_body(statements: dict[str, str], versioned: bool) -> str:
    """PL/pgSQL: the statement for the event that fired the trigger. ``versioned``: and a
    change of the documents' version recorded when it wrote or removed a document, or emptied
    them (migration 0016)."""
    counted = " GET DIAGNOSTICS changed = ROW_COUNT;" if versioned else ""
    branches = " ELSIF ".join(
        f"TG_OP = '{event}' THEN {statement}{counted}" for event, statement in statements.items()
    )
    body = f"IF {branches} END IF;"
    if versioned:
        record = dataversion.pg_record_change(DOCUMENT_CHANGES)
        body += f" IF changed > 0 OR TG_OP = 'TRUNCATE' THEN{record} END IF;"
    return body


_DOCUMENT_FUNCTIONS = {
    "pledges_search_pledges": _by_event(
        insert=_DOCUMENT_OF_PLEDGES % "SELECT id FROM added",
        update=_DOCUMENT_OF_PLEDGES % _PLEDGES_RETITLED,
        delete=f"DELETE FROM {DOCUMENTS} WHERE pledge_id IN (SELECT id FROM removed);",
        truncate=f"TRUNCATE {DOCUMENTS};",
    ),
    "pledges_search_items": _by_event(
        insert=_DOCUMENT_OF_PLEDGES % "SELECT pledge_id FROM added",
        update=_DOCUMENT_OF_PLEDGES % _PLEDGES_OF_ITEMS_CHANGED,
        delete=_DOCUMENT_OF_PLEDGES % "SELECT pledge_id FROM removed",
        truncate=_DOCUMENT_OF_PLEDGES % _EVERY_PLEDGE,
    ),
}
_DOCUMENT_TRIGGERS = {
    "pledges_pledge": "pledges_search_pledges",
    "pledges_pledgeitem": "pledges_search_items",
}
_TRANSITIONS = {
    "INSERT": "REFERENCING NEW TABLE AS added",
    "UPDATE": "REFERENCING OLD TABLE AS removed NEW TABLE AS added",
    "DELETE": "REFERENCING OLD TABLE AS removed",
    "TRUNCATE": "",
}


def _create_document_functions(schema_editor, versioned: bool) -> None:
    declare = "DECLARE changed bigint; new_id bigint; " if versioned else ""
    for function, statements in _DOCUMENT_FUNCTIONS.items():
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"{declare}BEGIN {_function_body(statements, versioned)} RETURN NULL; END $$",
            params=None,  # % is SQL here
        )


def install_documents(schema_editor) -> None:
    """The documents table, its index, the triggers that keep it, and every pledge's document;
    the three trigram indexes of 0006 go, as nothing reads them any more."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TABLE {DOCUMENTS} (pledge_id bigint PRIMARY KEY, document text NOT NULL)"
    )
    _create_document_functions(schema_editor, versioned=False)
    for table, function in _DOCUMENT_TRIGGERS.items():
        for event, transitions in _TRANSITIONS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_search_{event.lower()} AFTER {event} ON {table} "
                f"{transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    schema_editor.execute(_DOCUMENT_OF_PLEDGES % _EVERY_PLEDGE, params=None)
    schema_editor.execute(
        f"CREATE INDEX {DOCUMENTS}_trgm_idx ON {DOCUMENTS} USING gin (document gin_trgm_ops)"
    )
    for _, _, name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


# PostgreSQL: the documents' statistics sampled ten times finer than by default (migration
# 0012). The planner estimates from them how many documents a pattern matches; at the default
# it guessed anywhere from 20,000 to 41,000 of the 60,436 that hold "drone" at a million
# pledges, from one ANALYZE to the next, and chose between a walk of the date index (20 ms)
# and a parallel plan that waits some 19 ms for its workers before its first row.
DOCUMENT_STATISTICS = 1000
DEFAULT_STATISTICS = -1


def set_document_statistics(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE {DOCUMENTS} ALTER COLUMN document SET STATISTICS {int(target)}"
    )
    schema_editor.execute(f"ANALYZE {DOCUMENTS}")


# PostgreSQL: the documents' own version (migration 0016, ``DOCUMENT_CHANGES``), as the data
# version's rows: a search counted under it stays right through every write that changes no
# document (a status, a record, a rate, reference data), when the data version changes.

# Writers in progress finish first, and others wait for the migration: a statement that ran
# the functions before they changed would commit a document change without its version's.
_NO_WRITER = "LOCK TABLE pledges_pledge, pledges_pledgeitem IN SHARE MODE"


def install_document_version(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_NO_WRITER)
    schema_editor.execute(
        f"CREATE TABLE {DOCUMENT_CHANGES} (id bigserial PRIMARY KEY, weight bigint NOT NULL)"
    )
    # A first version: a database that has documents must not share an empty one's.
    schema_editor.execute(
        f"DO $$ DECLARE new_id bigint; BEGIN"
        f"{dataversion.pg_record_change(DOCUMENT_CHANGES)} END $$",
        params=None,
    )
    _create_document_functions(schema_editor, versioned=True)


def uninstall_document_version(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_NO_WRITER)
    _create_document_functions(schema_editor, versioned=False)
    schema_editor.execute(f"DROP TABLE IF EXISTS {DOCUMENT_CHANGES}")


def uninstall_documents(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _DOCUMENT_TRIGGERS:
        for event in _TRANSITIONS:
            trigger = f"{table}_search_{event.lower()}"
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in _DOCUMENT_FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")
    schema_editor.execute(f"DROP TABLE IF EXISTS {DOCUMENTS}")
    install(schema_editor)
