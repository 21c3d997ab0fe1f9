"""PostgreSQL: a search's count is kept under the search documents' own version (migration
0016), which changes when a statement writes or removes a document and with nothing else: the
count stays right, and is not made again, through writes that change no document."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges import dataversion, search
from pledges.models import Category, Pledge, PledgeItem
from tests.api.test_search import expected
from tests.conftest import load_reference_data
from tests.factories import PledgeFactory, PledgeItemFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's documents"),
    pytest.mark.django_db,
]
URL = "/api/v1/pledges/"


def documents_version() -> str:
    return dataversion.pg_version_of(search.DOCUMENT_CHANGES, connection.alias)


def test_the_documents_version_follows_the_documents_and_nothing_else(db):
    pledge = PledgeFactory(title="Trucks")
    item = PledgeItemFactory(pledge=pledge, name="truck")

    def changes(write) -> bool:
        before = documents_version()
        write()
        return documents_version() != before

    # No document changes: a status, a delivered quantity, reference data, an empty statement.
    assert not changes(lambda: Pledge.objects.filter(pk=pledge.pk).update(status="committed"))
    assert not changes(lambda: PledgeItem.objects.filter(pk=item.pk).update(quantity=4))
    assert not changes(lambda: Category.objects.update(description="changed"))
    assert not changes(lambda: execute("DELETE FROM pledges_pledge WHERE false"))
    # Every document change.
    assert changes(lambda: Pledge.objects.filter(pk=pledge.pk).update(title="Drones"))
    assert changes(lambda: Pledge.objects.filter(pk=pledge.pk).update(description="new"))
    assert changes(lambda: PledgeItem.objects.filter(pk=item.pk).update(name="drone"))
    assert changes(lambda: PledgeItemFactory(pledge=pledge, name="radar"))
    assert changes(lambda: PledgeItem.objects.filter(pk=item.pk).delete())
    assert changes(lambda: PledgeFactory())
    other = PledgeFactory()
    assert changes(lambda: PledgeItem.objects.filter(pledge=pledge).update(pledge=other))
    assert changes(lambda: Pledge.objects.filter(pk=other.pk).delete())
    # The foreign keys' checks of this transaction's inserts first, or TRUNCATE refuses.
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert changes(lambda: execute("TRUNCATE pledges_pledgeitem CASCADE"))
    assert changes(lambda: execute("TRUNCATE pledges_pledge CASCADE"))


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_the_documents_version_rows_are_folded(db):
    pledge = PledgeFactory()
    versions = set()
    for n in range(2 * dataversion.FOLD_EVERY + 1):
        Pledge.objects.filter(pk=pledge.pk).update(title=f"Title {n}")
        versions.add(documents_version())
    assert len(versions) == 2 * dataversion.FOLD_EVERY + 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pledges_documentchange")
        assert cursor.fetchone()[0] <= dataversion.FOLD_EVERY


def counted(client, **params) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, {"page_size": 1, **params})
    assert response.status_code == 200, response.content
    counts = [
        query["sql"]
        for query in captured.captured_queries
        if "COUNT(" in query["sql"].upper() and search.DOCUMENTS in query["sql"]
    ]
    return response.json()["count"], counts


def test_a_search_is_counted_again_only_when_the_documents_change(anon, db):
    load_reference_data()
    call_command("generate_pledges", "150", "--seed", "3", verbosity=0, stdout=StringIO())
    drones = len(expected("drone"))
    assert drones > 0
    count, made = counted(anon, search="drone")
    assert count == drones and len(made) == 1
    count, made = counted(anon, search="drone")
    assert count == drones and made == []  # the page and its count from the cache
    # A write that changes no document: the page is made again, its count is not.
    version = dataversion.current()
    Pledge.objects.update(status="committed")
    assert dataversion.current() != version
    count, made = counted(anon, search="drone")
    assert count == drones and made == []
    # A new document with the word: counted again.
    PledgeFactory(title="Drone parts")
    count, made = counted(anon, search="drone")
    assert count == drones + 1 == len(expected("drone")) and len(made) == 1
    # Each word is counted once under a version, then kept.
    with CaptureQueriesContext(connection) as captured:
        first = search.count_matching("radar", connection.alias)
        again = search.count_matching(" radar ", connection.alias)
    assert first == again == len(expected("radar"))
    assert [q["sql"] for q in captured.captured_queries].count(captured[1]["sql"]) == 1
    assert "COUNT(*)" in captured[1]["sql"] and len(captured) == 3  # version, both; version


def test_each_version_keeps_its_own_count(db):
    """A count is kept under the version read with it (one statement, one snapshot), and a
    document change gives a new version with its own count."""
    PledgeFactory(title="Drone")
    before = documents_version()
    key = search._count_key
    search.count_matching("drone", connection.alias)
    assert cache.get(key(before, "drone")) == 1
    PledgeFactory(title="Drone two")
    assert search.count_matching("drone", connection.alias) == 2
    assert cache.get(key(documents_version(), "drone")) == 2
    assert cache.get(key(before, "drone")) == 1
