"""The unfiltered pledge list's count, kept by triggers (``pledges.pledge_count``) instead of
counted: it must equal ``COUNT(*)`` after every kind of write, on both databases."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges import dataversion, pledge_count
from pledges.models import Category, Donor, Pledge
from pledges.services import delete_pledge
from tests.api.test_search import expected
from tests.conftest import load_reference_data
from tests.factories import PledgeFactory

URL = "/api/v1/pledges/"
POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's folds and TRUNCATE"
)


def listed_count(client, **params) -> int:
    response = client.get(URL, {"page_size": 1, **params})
    assert response.status_code == 200, response.content
    return response.json()["count"]


def assert_counted(client) -> None:
    counted = Pledge.objects.count()
    assert pledge_count.current(connection.alias) == counted
    assert listed_count(client) == counted
    assert listed_count(client, ordering="-value_eur", page=2) == counted


def test_the_count_follows_every_write(anon, editor, db):
    load_reference_data()
    assert_counted(anon)
    # A COPY on PostgreSQL (one statement for every row), bulk inserts on SQLite.
    call_command("generate_pledges", "150", "--seed", "3", verbosity=0, stdout=StringIO())
    assert_counted(anon)
    source = {"url": "https://example.org/a", "publisher": "A", "published_on": "2025-06-04"}
    pledge = {
        "donor": Donor.objects.first().pk,
        "category": Category.objects.first().pk,
        "announced_on": "2025-06-04",
        "title": "Counted",
        "sources": [source],
    }
    created = editor.post(URL, pledge, format="json")
    assert created.status_code == 201
    PledgeFactory.create_batch(3)
    assert_counted(anon)
    assert editor.delete(f"{URL}{created.json()['id']}/").status_code == 204
    delete_pledge(PledgeFactory())
    assert_counted(anon)
    # Several rows in one statement, and a statement that deletes none.
    doomed = [pledge.pk for pledge in PledgeFactory.create_batch(4)]
    Pledge.objects.filter(pk__in=doomed).delete()
    Pledge.objects.filter(pk=-1).delete()
    assert_counted(anon)


def test_a_filter_is_counted_by_the_database(anon, db):
    load_reference_data()
    donor = Pledge.objects.values_list("donor", flat=True).first()
    expected = Pledge.objects.filter(donor=donor).count()
    with CaptureQueriesContext(connection) as captured:
        assert listed_count(anon, donor=donor) == expected
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and 'FROM "pledges_pledge"' in counts[0]


def test_a_search_with_another_filter_is_counted_with_both(anon, db):
    load_reference_data()
    call_command("generate_pledges", "150", "--seed", "3", verbosity=0, stdout=StringIO())
    found = expected("drone")
    donor = Pledge.objects.filter(pk__in=found).values_list("donor", flat=True).first()
    both = found & set(Pledge.objects.filter(donor=donor).values_list("pk", flat=True))
    assert 0 < len(both) < len(found)
    assert listed_count(anon, search="drone", donor=donor) == len(both)
    assert listed_count(anon, search="drone") == len(found)
    # Empty values filter nothing; a blank search neither.
    assert listed_count(anon, search="  ", date_from="") == Pledge.objects.count()


def test_the_whole_list_reads_the_kept_number_not_the_rows(anon, db):
    load_reference_data()
    with CaptureQueriesContext(connection) as captured:
        count = listed_count(anon)
    sql = [q["sql"] for q in captured.captured_queries]
    assert count == Pledge.objects.count() > 0
    assert any(pledge_count.TABLE in q for q in sql)
    assert not any("COUNT(" in q.upper() for q in sql)


@POSTGRESQL_ONLY
def test_postgresql_folds_the_rows_and_a_truncate_empties_them(anon, db):
    load_reference_data()
    for _ in range(2 * dataversion.FOLD_EVERY + 1):
        PledgeFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pledges_pledgecount")
        rows = cursor.fetchone()[0]
    assert rows <= dataversion.FOLD_EVERY
    assert_counted(anon)
    with connection.cursor() as cursor:
        # The foreign keys' checks of this transaction's inserts first, or TRUNCATE refuses.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE pledges_pledge CASCADE")
    assert pledge_count.current(connection.alias) == 0 == Pledge.objects.count()
    PledgeFactory()
    assert pledge_count.current(connection.alias) == 1


def test_recompute_pledge_values_counts_the_pledges_again(anon, db):
    """After a restore that bypassed the triggers the kept number is wrong until recounted."""
    load_reference_data()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO pledges_pledgecount (delta) VALUES (1000)")
    assert pledge_count.current(connection.alias) == Pledge.objects.count() + 1000
    call_command("recompute_pledge_values", stdout=StringIO())
    assert_counted(anon)
