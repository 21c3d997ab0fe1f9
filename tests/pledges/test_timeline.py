"""The timeline report (docs/methodology.md#the-timeline): hand-computed figures by month,
quarter and year, by a key and in another currency; its final cumulative figures equal the
totals report's; a query count that does not grow with the pledges."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges import reports, timeline
from pledges.choices import PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Pledge
from tests import ecb
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory
from tests.timeline_scenario import (
    ALLOCATED,
    ALLOCATED_TOTAL,
    DELIVERED,
    DELIVERED_TOTAL,
    MONTHS,
    PLEDGED,
    record,
    timeline_pledges_fixture,  # noqa: F401 - the scenario fixture
)


def run(pledges=None, include_cancelled=False, **options):
    chosen = timeline.parse_options(**options)
    queryset = pledges if pledges is not None else Pledge.objects.all()
    result = timeline.timeline(queryset, chosen, include_cancelled=include_cancelled)
    return timeline.timeline_data(result)


def figures(rows, *names) -> list[tuple]:
    return [tuple(row[name] for name in names) for row in rows]


def test_by_month_by_hand(timeline_pledges):
    data = run(interval="month")
    assert (data["currency"], data["interval"], data["group_by"]) == ("EUR", "month", [])
    rows = data["rows"]
    assert figures(rows, "period", "pledged", "allocated", "delivered") == MONTHS
    running = [Decimal(0)] * 3
    for row in rows:
        for index, figure in enumerate(("pledged", "allocated", "delivered")):
            running[index] += Decimal(row[figure])
            assert row[f"cumulative_{figure}"] == f"{running[index]:.2f}"
    last = rows[-1]
    assert [Decimal(last[f"cumulative_{f}"]) for f in ("pledged", "allocated", "delivered")] == [
        PLEDGED,
        ALLOCATED_TOTAL,
        DELIVERED_TOTAL,
    ]


def test_by_quarter_and_year(timeline_pledges):
    quarters = run(interval="quarter")["rows"]
    assert figures(quarters, "period", "pledged", "allocated", "delivered") == [
        ("2025-Q1", "1350000.00", "650000.00", "300000.00"),
        ("2025-Q2", "318750.74", "540000.00", "490000.00"),
        ("2025-Q3", "0.00", "198750.74", "198750.74"),
        ("2026-Q1", "0.00", "30000.00", "30000.00"),
    ]
    years = run(interval="year")["rows"]
    assert figures(years, "period", "pledged", "cumulative_allocated", "cumulative_delivered") == [
        (2025, str(PLEDGED), "1388750.74", "988750.74"),
        (2026, "0.00", str(ALLOCATED_TOTAL), str(DELIVERED_TOTAL)),
    ]


def test_by_donor_cumulative_per_donor(timeline_pledges):
    data = run(interval="year", group_by="donor")
    assert data["group_by"] == ["donor"]
    alpha = timeline_pledges["alpha"].donor
    rows = [(row["period"], row["donor"]["name"]) for row in data["rows"]]
    assert rows == [(2025, "Alpha"), (2025, "Beta"), (2025, "Gamma"), (2026, "Beta")]
    assert data["rows"][0]["donor"] == {"id": alpha.pk, "name": "Alpha", "iso2": None}
    assert figures(data["rows"], "pledged", "allocated", "delivered", "cumulative_delivered") == [
        ("1200000.00", "1100000.00", "700000.00", "700000.00"),
        ("350000.00", "170000.00", "170000.00", "170000.00"),
        ("118750.74", "118750.74", "118750.74", "118750.74"),
        ("0.00", "30000.00", "30000.00", "200000.00"),
    ]


def test_in_another_currency(timeline_pledges):
    """Each pledge's records at its own announcement date's rates: Alpha's euros at 1.03 USD
    (15 January 2025), the pounds at 1.1384 / 0.8421 (4 June 2025)."""
    rows = {row["period"]: row for row in run(interval="month", currency="usd")["rows"]}
    assert (rows["2025-01"]["pledged"], rows["2025-02"]["allocated"]) == (
        "1030000.00",
        "618000.00",
    )
    assert (rows["2025-05"]["allocated"], rows["2025-05"]["delivered"]) == (
        "309000.00",
        "257500.00",
    )
    assert rows["2025-08"]["delivered"] == "54074.34"  # 40,000 GBP
    pounds = ecb.convert(Decimal(100000), "GBP", "USD", dt.date(2025, 6, 4))
    assert Decimal(rows["2025-09"]["delivered"]) == pounds - Decimal("54074.34")


@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP"])
@pytest.mark.parametrize("interval", timeline.INTERVALS)
def test_the_end_of_the_timeline_is_the_totals_report(timeline_pledges, currency, interval):
    for group_by in ("", "donor", "category"):
        data = run(interval=interval, currency=currency, group_by=group_by)
        report = reports.totals(
            Pledge.objects.all(), reports.parse_options(group_by=group_by, currency=currency)
        )
        targets = [report] if not group_by else report.rows
        for target in targets:
            key = target.keys.get(group_by) if group_by else None
            last = [row for row in data["rows"] if not group_by or row[group_by]["id"] == key["id"]]
            assert [last[-1][f"cumulative_{f}"] for f in ("pledged", "allocated", "delivered")] == [
                reports.money(target.total),
                reports.money(target.allocated),
                reports.money(target.delivered),
            ]


def test_cancelled_pledges_and_their_records_only_when_asked(timeline_pledges):
    asked = Pledge.objects.filter(status=PledgeStatus.CANCELLED)
    rows = run(pledges=asked, include_cancelled=True, interval="month")["rows"]
    assert figures(rows, "period", "pledged", "delivered") == [
        ("2025-06", "5000.00", "0.00"),
        ("2025-07", "0.00", "5000.00"),
    ]
    everything = run(interval="month")["rows"]
    assert "5000.00" not in {row["delivered"] for row in everything}


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"interval": "week"}, "interval"),
        ({"group_by": "donor,category"}, "group_by"),
        ({"group_by": "month"}, "group_by"),
        ({"group_by": "flavour"}, "group_by"),
        ({"currency": "UAH"}, "currency"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_named(db, params, bad):
    with pytest.raises(reports.ReportError) as raised:
        timeline.parse_options(**params)
    assert set(raised.value.errors) == {bad}


@pytest.mark.parametrize("currency", ["EUR", "USD"])
def test_query_count_does_not_grow_with_pledges(db, django_assert_num_queries, currency):
    donor, category = DonorFactory(), CategoryFactory()
    options = timeline.parse_options(interval="month", group_by="donor", currency=currency)

    def add(count):
        for index in range(count):
            pledge = PledgeFactory(
                donor=donor,
                category=category,
                announced_on=dt.date(2024, 1 + index % 12, 3),
                amount=Decimal(1000 + index),
                status=PledgeStatus.DELIVERED if index % 4 == 0 else PledgeStatus.COMMITTED,
            )
            record(pledge, DELIVERED, dt.date(2025, 1 + index % 12, 1), "500")
            record(pledge, ALLOCATED, dt.date(2025, 1 + index % 12, 1), "900")
            refresh_counted_values([pledge.pk])

    add(3)
    # The pledged money, the records, the donors' names.
    with django_assert_num_queries(3):
        few = timeline.timeline(Pledge.objects.all(), options)
    add(30)
    with django_assert_num_queries(3):
        many = timeline.timeline(Pledge.objects.all(), options)
    assert len(few.rows) < len(many.rows)
