"""The pledge filter ``search`` (docs/data-dictionary.md#filters): words in the title, the
description or an item's name, in any letter case, answered from an index on both databases.

What matches is defined once, by Django's ``icontains`` on the three texts; the indexes only
find the candidates quickly:
- PostgreSQL: trigram GIN indexes on ``UPPER(text)`` (migration 0005), which serve the very
  ``UPPER(text) LIKE UPPER(pattern)`` that ``icontains`` is, one per text, joined by a UNION.
- SQLite: FTS5 tables with the trigram tokenizer (migration 0005), kept by triggers. They match
  a superset (their case folding covers all of Unicode, SQLite's LIKE only ASCII), so the
  ``icontains`` test is applied to the candidates they give. A text under three characters has
  no trigram: it is answered by ``icontains`` alone.
"""

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

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
    from .models import Pledge, PledgeItem

    text = text.strip()
    if not text:
        return queryset
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        candidates = (
            Pledge.objects.filter(title__icontains=text)
            .values("pk")
            .union(
                Pledge.objects.filter(description__icontains=text).values("pk"),
                PledgeItem.objects.filter(name__icontains=text).values("pledge_id"),
            )
        )
        return queryset.filter(pk__in=candidates)
    items = PledgeItem.objects.filter(pledge=OuterRef("pk"), name__icontains=text)
    exact = Q(title__icontains=text) | Q(description__icontains=text) | Exists(items)
    if vendor == "sqlite" and len(text) >= TRIGRAM:
        phrase = '"' + text.replace('"', '""') + '"'
        candidates = RawSQL(
            f"SELECT rowid FROM {PLEDGE_INDEX} WHERE {PLEDGE_INDEX} MATCH %s UNION "
            f"SELECT pledge_id FROM pledges_pledgeitem WHERE id IN "
            f"(SELECT rowid FROM {ITEM_INDEX} WHERE {ITEM_INDEX} MATCH %s)",
            [phrase, phrase],
        )
        queryset = queryset.filter(pk__in=candidates)
    return queryset.filter(exact)


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
