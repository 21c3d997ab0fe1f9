"""On SQLite a report reads its pledges from the covering report index (migration 0009) and
never from the table's wide rows: checked in SQLite's own query plan, for every key, both
currencies and both allocations."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges import reports, timeline
from pledges.models import Pledge

REPORT_INDEX = "pledge_report_covering_idx"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the covering report index is SQLite's alone"
    ),
]

OPTIONS = [
    *(
        {"group_by": key, "currency": currency}
        for key in reports.KEYS
        for currency in ("EUR", "USD")
    ),
    {"group_by": "category,month"},
    {"group_by": "status,donor", "currency": "USD"},
    *({"group_by": "donor,year", "allocation": "period", "currency": c} for c in ("EUR", "USD")),
    {},
    {"currency": "USD"},
]


def plan(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [detail for *_, detail in cursor.fetchall()]


def aggregates(run) -> list[str]:
    """The SQL of the aggregate queries ``run()`` makes, as run (SQLite's log has the
    parameters in)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [query["sql"] for query in captured.captured_queries if "SUM(" in query["sql"]]


def report_query(options: dict) -> str:
    [sql] = aggregates(
        lambda: reports.totals(Pledge.objects.all(), reports.parse_options(**options))
    )
    return sql


def pledge_reads(sql: str) -> list[str]:
    """The steps of the plan that read pledges, but for look-ups of single pledges by id (a
    report in another currency finds one pledge per date; the timeline its records' pledges)."""
    return [
        step
        for step in plan(sql)
        if step.startswith(("SCAN pledges_pledge", "SEARCH pledges_pledge"))
        and "INTEGER PRIMARY KEY" not in step
    ]


def assert_reads_the_pledges_from_the_index(sql: str) -> None:
    reads = pledge_reads(sql)
    assert reads, "no read of the pledges in the plan"
    assert all(f"USING COVERING INDEX {REPORT_INDEX}" in step for step in reads), reads


@pytest.mark.parametrize("options", OPTIONS, ids=lambda options: repr(options))
def test_every_report_reads_the_pledges_from_the_covering_index(options):
    assert_reads_the_pledges_from_the_index(report_query(options))


@pytest.mark.parametrize("currency", ["EUR", "USD"])
@pytest.mark.parametrize("group_by", ["", "donor"])
def test_the_timeline_reads_the_pledges_from_the_covering_index(group_by, currency):
    options = timeline.parse_options(interval="month", group_by=group_by, currency=currency)
    queries = aggregates(lambda: timeline.timeline(Pledge.objects.all(), options))
    assert len(queries) == 2  # pledged, and allocated and delivered by the records' dates
    for sql in queries:
        assert_reads_the_pledges_from_the_index(sql)


def test_the_plan_test_sees_a_report_that_reads_the_table():
    """The check above fails where it should: grouped on the key's own column (no unary
    ``+``), SQLite walks the donor index and fetches each row from the table."""
    sql = report_query({"group_by": "donor"}).replace(
        '+"pledges_pledge"."donor_id"', '"pledges_pledge"."donor_id"'
    )
    assert plan(sql) == ["SCAN pledges_pledge USING INDEX pledge_donor_date_status_idx"]
    with pytest.raises(AssertionError):
        assert_reads_the_pledges_from_the_index(sql)
