"""Migration 0014: an analysed SQLite database gets the statistics of the new donor, date and
status index when it is made; without them SQLite took it for the best index of all (2 s for
the unfiltered page of a million pledges instead of 2 ms). What the index saves is measured by
bench/vs_datasette.py."""

import importlib

import pytest
from django.db import connection

from pledges.models import Pledge
from tests.factories import PledgeFactory

INDEX = "pledge_donor_date_status_idx"
MIGRATION = importlib.import_module("pledges.migrations.0014_donor_date_status_index")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner statistics"),
]


def index_statistics() -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone():
            return []
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = %s", [INDEX])
        return cursor.fetchall()


class Editor:
    connection = connection


def test_the_migration_adds_the_statistics_of_the_index_where_there_are_statistics():
    PledgeFactory.create_batch(3)  # ANALYZE leaves out an empty table
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE idx = %s", [INDEX])
    assert index_statistics() == []
    MIGRATION.analyze_if_analysed(INDEX, None, Editor)
    [[stat]] = index_statistics()
    assert stat.split()[0] == str(Pledge.objects.count())


def test_the_migration_makes_no_statistics_where_there_are_none():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        assert not cursor.fetchone(), "the test database was analysed"
    MIGRATION.analyze_if_analysed(INDEX, None, Editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        assert not cursor.fetchone()
