"""The timeline report (docs/methodology.md#the-timeline): hand-computed figures by month,
quarter and year, by a key and in another currency; its final cumulative figures equal the
totals report's; a query count that does not grow with the pledges."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges import reports, timeline
from pledges.choices import AmountBasis, FulfilmentKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment, Pledge
from tests import ecb
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory

ALLOCATED, DELIVERED = FulfilmentKind.ALLOCATED, FulfilmentKind.DELIVERED


def record(pledge, kind, day, amount):
    amount = None if amount is None else Decimal(amount)
    Fulfilment.objects.create(pledge=pledge, kind=kind, date=day, amount=amount)


@pytest.fixture
def pledges(db):
    """Alpha's euro pledge allocated, then delivered in two parts; Beta's per-year pledge and
    its undated delivered pledge; Alpha's package with a component, the package delivered
    beyond its remainder; Gamma's pound pledge delivered in two parts; a re-announcement and
    a cancelled pledge with records of their own (which count nowhere)."""
    alpha, beta, gamma = (DonorFactory(name=name) for name in ("Alpha", "Beta", "Gamma"))
    category = CategoryFactory(slug="timeline", name="Timeline")

    def pledge(donor, day, amount, **fields):
        return PledgeFactory(
            donor=donor, category=category, announced_on=day, amount=Decimal(amount), **fields
        )

    made = {
        "alpha": pledge(alpha, dt.date(2025, 1, 15), "1000000"),
        "per_year": pledge(
            beta,
            dt.date(2025, 2, 1),
            "100000",
            amount_basis=AmountBasis.PER_YEAR,
            period_start_year=2025,
            period_end_year=2027,
        ),
        "undated": pledge(beta, dt.date(2025, 3, 10), "50000", status=PledgeStatus.DELIVERED),
        "package": pledge(alpha, dt.date(2025, 4, 10), "200000"),
        "pounds": pledge(gamma, dt.date(2025, 6, 4), "100000", currency="GBP"),
        "cancelled": pledge(gamma, dt.date(2025, 6, 4), "5000", status=PledgeStatus.CANCELLED),
    }
    made["component"] = pledge(alpha, dt.date(2025, 4, 10), "80000", parent=made["package"])
    made["again"] = pledge(alpha, dt.date(2025, 5, 1), "1000000", reannounces=made["alpha"])
    record(made["alpha"], ALLOCATED, dt.date(2025, 2, 10), "600000")
    record(made["alpha"], DELIVERED, dt.date(2025, 3, 5), "250000")
    record(made["alpha"], DELIVERED, dt.date(2025, 5, 20), "250000")
    record(made["alpha"], ALLOCATED, dt.date(2025, 5, 20), "300000")
    record(made["alpha"], DELIVERED, dt.date(2025, 5, 21), None)  # quantities only
    record(made["per_year"], DELIVERED, dt.date(2025, 4, 1), "120000")
    record(made["per_year"], DELIVERED, dt.date(2026, 1, 15), "30000")
    record(made["undated"], ALLOCATED, dt.date(2025, 6, 1), "10000")
    record(made["package"], DELIVERED, dt.date(2025, 6, 15), "150000")
    record(made["component"], DELIVERED, dt.date(2025, 7, 1), "80000")
    record(made["pounds"], DELIVERED, dt.date(2025, 8, 1), "40000")
    record(made["pounds"], DELIVERED, dt.date(2025, 9, 1), "60000")
    record(made["again"], DELIVERED, dt.date(2025, 5, 2), "100000")
    record(made["cancelled"], DELIVERED, dt.date(2025, 7, 1), "5000")
    refresh_counted_values(pledge.pk for pledge in made.values())
    return made


def run(pledges=None, include_cancelled=False, **options):
    chosen = timeline.parse_options(**options)
    queryset = pledges if pledges is not None else Pledge.objects.all()
    result = timeline.timeline(queryset, chosen, include_cancelled=include_cancelled)
    return timeline.timeline_data(result)


def figures(rows, *names) -> list[tuple]:
    return [tuple(row[name] for name in names) for row in rows]


# By hand, in euros. The pound pledge: 100,000 GBP / 0.8421 = 118,750.74 (4 June 2025), its
# first 40,000 GBP 47,500.30 and the rest the difference, 71,250.44.
MONTHS = [
    # period, pledged, allocated, delivered
    ("2025-01", "1000000.00", "0.00", "0.00"),
    ("2025-02", "300000.00", "600000.00", "0.00"),  # the per-year pledge's 3 years
    ("2025-03", "50000.00", "50000.00", "300000.00"),  # undated: all of it; Alpha 250,000
    ("2025-04", "200000.00", "120000.00", "120000.00"),  # the package's 120,000 and 80,000
    ("2025-05", "0.00", "300000.00", "250000.00"),  # the re-announcement counts nothing
    ("2025-06", "118750.74", "120000.00", "120000.00"),  # the package: its remainder only
    ("2025-07", "0.00", "80000.00", "80000.00"),
    ("2025-08", "0.00", "47500.30", "47500.30"),
    ("2025-09", "0.00", "71250.44", "71250.44"),
    ("2026-01", "0.00", "30000.00", "30000.00"),
]
PLEDGED, ALLOCATED_TOTAL, DELIVERED_TOTAL = (
    Decimal("1668750.74"),
    Decimal("1418750.74"),
    Decimal("1018750.74"),
)


def test_by_month_by_hand(pledges):
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


def test_by_quarter_and_year(pledges):
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


def test_by_donor_cumulative_per_donor(pledges):
    data = run(interval="year", group_by="donor")
    assert data["group_by"] == ["donor"]
    alpha = pledges["alpha"].donor
    rows = [(row["period"], row["donor"]["name"]) for row in data["rows"]]
    assert rows == [(2025, "Alpha"), (2025, "Beta"), (2025, "Gamma"), (2026, "Beta")]
    assert data["rows"][0]["donor"] == {"id": alpha.pk, "name": "Alpha", "iso2": None}
    assert figures(data["rows"], "pledged", "allocated", "delivered", "cumulative_delivered") == [
        ("1200000.00", "1100000.00", "700000.00", "700000.00"),
        ("350000.00", "170000.00", "170000.00", "170000.00"),
        ("118750.74", "118750.74", "118750.74", "118750.74"),
        ("0.00", "30000.00", "30000.00", "200000.00"),
    ]


def test_in_another_currency(pledges):
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
def test_the_end_of_the_timeline_is_the_totals_report(pledges, currency, interval):
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


def test_cancelled_pledges_and_their_records_only_when_asked(pledges):
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
    with django_assert_num_queries(2):
        few = timeline.timeline(Pledge.objects.all(), options)
    add(30)
    with django_assert_num_queries(2):
        many = timeline.timeline(Pledge.objects.all(), options)
    assert len(few.rows) < len(many.rows)
