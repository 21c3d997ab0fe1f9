"""The report engine (docs/methodology.md#reports): hand-computed figures, invariants over
generated data, and a query count that does not grow with the pledges."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledges import reports
from pledges.choices import AmountBasis, FulfilmentKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment, Pledge
from tests import ecb
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory
from tests.report_scenario import (
    BELGIUM_EUR,
    DRONES_EUR,
    NORWAY_EUR,
    PACKAGE_EUR,
    REMAINDER_EUR,
    SATURDAY,
    TOTAL_EUR,
    TRAINING_EUR,
    WEDNESDAY,
    scenario_fixture,  # noqa: F401 - the scenario fixture
)


def money(text: str) -> Decimal:
    return Decimal(text)


def report(group_by="", currency="EUR", allocation=None, pledges=None, **kwargs):
    options = reports.parse_options(group_by=group_by, currency=currency, allocation=allocation)
    return reports.totals(
        pledges if pledges is not None else Pledge.objects.all(), options, **kwargs
    )


def rows_by(result, key):
    return {reports.key_label(row.keys[key]): row for row in result.rows}


def test_overall_figures_count_each_amount_once(scenario):
    result = report()
    assert result.rows == []
    assert result.total == TOTAL_EUR == money("6840919164.66")
    # 8 non-cancelled pledges: package, drones, training, unvalued component, Belgium, UAH,
    # Canada's unvalued and Norway's.
    assert (result.pledges, result.unvalued, result.unconverted) == (8, 2, 1)


def test_package_counts_only_its_remainder_under_its_own_keys(scenario):
    by_category = rows_by(report("category"), "category")
    assert by_category["Other"].total == REMAINDER_EUR + BELGIUM_EUR + NORWAY_EUR
    assert by_category["Drones"].total == DRONES_EUR
    assert by_category["Training"].total == TRAINING_EUR
    assert by_category["Drones"].pledges == 3  # the drones, the unvalued component, UAH
    assert by_category["Drones"].unconverted == 1
    assert by_category["Other"].unvalued == 1


def test_components_are_subtracted_when_the_filter_leaves_them_out(scenario):
    only_other = report(pledges=Pledge.objects.filter(category__slug="other"))
    assert only_other.total == REMAINDER_EUR + BELGIUM_EUR + NORWAY_EUR
    only_drones = report(pledges=Pledge.objects.filter(category__slug="drones"))
    assert only_drones.total == DRONES_EUR


def test_remainder_is_never_negative(scenario):
    package = scenario["package"]
    # Written in bulk, past validation: components worth more than the package.
    Pledge.objects.filter(pk=scenario["training"].pk).update(
        total_amount=Decimal("2000000000"),
        amount=Decimal("2000000000"),
        value_eur=Decimal("2000000000"),
    )
    refresh_counted_values([scenario["training"].pk])
    by_donor = rows_by(report("donor", pledges=Pledge.objects.filter(pk=package.pk)), "donor")
    assert by_donor["United Kingdom"].total == Decimal("0.00")


def test_cancelled_pledges_count_only_when_the_status_filter_asks(scenario):
    asked = Pledge.objects.filter(status__in=[PledgeStatus.CANCELLED])
    result = report("donor", pledges=asked, include_cancelled=True)
    by_donor = rows_by(result, "donor")
    assert by_donor["Norway"].total == ecb.convert(Decimal("50000000"), "USD", "EUR", WEDNESDAY)
    assert by_donor["United Kingdom"].total == ecb.convert(
        Decimal("200000000"), "GBP", "EUR", WEDNESDAY
    )
    assert result.pledges == 2
    # The package's remainder is the same with the cancelled component in the report.
    everything = rows_by(report("category", include_cancelled=True), "category")
    assert everything["Other"].total == (
        REMAINDER_EUR + BELGIUM_EUR + NORWAY_EUR + by_donor["Norway"].total
    )


def test_usd_report_converts_each_pledge_at_its_own_date(scenario):
    result = rows_by(report("donor", currency="usd"), "donor")
    package = Decimal("1351858449.12")  # 1e9 * 1.1384 / 0.8421
    drones = Decimal("405557534.73")  # 3e8 * 1.1384 / 0.8421
    training = Decimal("114110000.00")  # 1e8 * 1.1411 (Friday's rate for a Saturday)
    assert result["United Kingdom"].total == package  # remainder + drones + training
    assert result["Belgium"].total == Decimal("5692000000.00")  # 5e9 * 1.1384
    assert result["Norway"].total == Decimal("700000000.00")
    assert result["Canada"].total == Decimal("0.00")
    assert (result["Canada"].unvalued, result["Canada"].unconverted) == (1, 1)
    by_category = rows_by(report("category", currency="USD"), "category")
    assert by_category["Drones"].total == drones
    assert by_category["Training"].total == training
    assert by_category["Other"].total == (
        package - drones - training + Decimal("5692000000.00") + Decimal("700000000.00")
    )


def test_half_cents_round_up_on_every_database(db):
    """170.76 USD is 126.315 GBP on 2025-06-04 (x 0.8421 / 1.1384): half a cent, rounded up.
    In floating point it is 126.31499999…, which would round down."""
    PledgeFactory(announced_on=WEDNESDAY, amount=Decimal("170.76"), currency="USD")
    assert report(currency="GBP").total == Decimal("126.32")
    assert ecb.convert(Decimal("170.76"), "USD", "GBP", WEDNESDAY) == Decimal("126.32")


def test_ecb_oracle_agrees_with_the_hand_figures():
    assert ecb.convert(Decimal("1000000000"), "GBP", "EUR", WEDNESDAY) == PACKAGE_EUR
    assert ecb.convert(Decimal("100000000"), "EUR", "USD", SATURDAY) == Decimal("114110000.00")


def test_rows_are_ordered_by_total_largest_first(scenario):
    totals = [row.total for row in report("donor").rows]
    assert totals == sorted(totals, reverse=True)
    assert [reports.key_label(row.keys["donor"]) for row in report("donor").rows] == [
        "Belgium",
        "United Kingdom",
        "Norway",
        "Canada",
    ]


def test_row_keys(scenario):
    result = report("event,month")
    keys = [row.keys for row in result.rows]
    event = scenario["package"].event
    assert {"event": None, "month": "2025-06"} in keys
    assert {"event": None, "month": "2024-02"} in keys
    assert {
        "event": {"id": event.pk, "name": "UDCG 28", "date": WEDNESDAY},
        "month": "2025-06",
    } in keys
    quarters = {row.keys["quarter"] for row in report("quarter").rows}
    assert quarters == {"2025-Q2", "2024-Q1"}
    donor = report("donor,status").rows[0].keys
    assert donor == {
        "donor": {"id": scenario["belgium"].donor_id, "name": "Belgium", "iso2": None},
        "status": "announced",
    }
    currencies = {row.keys["currency"] for row in report("currency").rows}
    assert currencies == {"GBP", "EUR", "USD", "UAH", None}
    years = {row.keys["year"]: row.total for row in report("year,recipient").rows}
    assert years == {2025: TOTAL_EUR - NORWAY_EUR, 2024: NORWAY_EUR}


def test_per_year_pledge_under_announcement_allocation(scenario):
    by_year = rows_by(report("year"), "year")
    assert set(by_year) == {"2024", "2025"}
    assert by_year["2025"].total == TOTAL_EUR - NORWAY_EUR
    assert by_year["2025"].pledges == 7


def test_per_year_pledge_under_period_allocation(scenario):
    result = report("year", allocation="period")
    by_year = rows_by(result, "year")
    assert set(by_year) == {"2024", "2025", "2026", "2027", "2028", "2029"}
    yearly = Decimal("1000000000.00")
    assert by_year["2025"].total == REMAINDER_EUR + DRONES_EUR + TRAINING_EUR + yearly
    assert by_year["2025"].pledges == 7
    for year in ("2026", "2027", "2028", "2029"):
        assert (by_year[year].total, by_year[year].pledges) == (yearly, 1)
    assert by_year["2024"].total == NORWAY_EUR
    # Belgium counts once overall, in each year of its period in the rows.
    assert (result.total, result.pledges) == (TOTAL_EUR, 8)
    assert sum(row.total for row in result.rows) == result.total


def test_period_allocation_with_a_second_key_and_another_currency(scenario):
    result = report("donor,year", currency="GBP", allocation="period")
    belgium = {
        row.keys["year"]: row.total for row in result.rows if row.keys["donor"]["name"] == "Belgium"
    }
    assert belgium == dict.fromkeys(range(2025, 2030), Decimal("842100000.00"))  # 1e9 * 0.8421
    assert sum(row.total for row in result.rows) == result.total


# --- allocated and delivered (docs/methodology.md#reports) --------------------------------

JULY, AUGUST = dt.date(2025, 7, 1), dt.date(2025, 8, 1)
# By hand from the ECB file (see tests/report_scenario.py for the rates).
DRONES_ALLOCATED_EUR = Decimal("178126113.29")  # 1.5e8 GBP / 0.8421
BELGIUM_DELIVERED_EUR = Decimal("1500000000.00")
UK_USD_COUNTED = Decimal("832190914.39")  # 1351858449.12 - 405557534.73 - 114110000.00
DRONES_ALLOCATED_USD = Decimal("202778767.37")  # 1.5e8 * 1.1384 / 0.8421
BELGIUM_DELIVERED_USD = Decimal("1707600000.00")  # 1.5e9 * 1.1384


@pytest.fixture
def recorded(scenario):
    """The scenario with records: the UK's package delivered beyond what its components leave
    it (8e8 of its 1e9 GBP, its remainder is 731 million euros), its drones half allocated,
    Belgium's per-year pledge 1.5 of its 5 billion delivered, a record of the UAH pledge (no
    rate: it counts nothing), one of a cancelled pledge and a re-announcement of Norway's
    pledge with a record of its own (Norway's pledge is marked delivered without records)."""

    def record(pledge, kind, day, amount):
        Fulfilment.objects.create(pledge=pledge, kind=kind, date=day, amount=Decimal(amount))

    delivered, allocated = FulfilmentKind.DELIVERED, FulfilmentKind.ALLOCATED
    record(scenario["package"], delivered, JULY, "600000000")
    record(scenario["package"], delivered, AUGUST, "200000000")
    record(scenario["drones"], allocated, JULY, "150000000")
    record(scenario["belgium"], delivered, AUGUST, "1500000000")
    record(scenario["uah"], delivered, JULY, "100000000")
    record(scenario["norway_cancelled"], delivered, JULY, "20000000")
    norway = scenario["norway"]
    again = PledgeFactory(
        donor=norway.donor,
        category=norway.category,
        announced_on=dt.date(2024, 3, 1),
        amount=norway.amount,
        currency="USD",
        reannounces=norway,
    )
    record(again, delivered, dt.date(2024, 4, 1), "100000000")
    refresh_counted_values(Pledge.objects.values_list("pk", flat=True))
    return {**scenario, "again": again}


def test_allocated_and_delivered_by_hand(recorded):
    result = report()
    delivered = REMAINDER_EUR + BELGIUM_DELIVERED_EUR + NORWAY_EUR
    assert (result.delivered, result.allocated) == (delivered, delivered + DRONES_ALLOCATED_EUR)
    assert result.outstanding == TOTAL_EUR - delivered
    assert (result.pledges, result.reannounced) == (9, 1)
    by_donor = rows_by(report("donor"), "donor")
    uk = by_donor["United Kingdom"]
    assert (uk.allocated, uk.delivered) == (REMAINDER_EUR + DRONES_ALLOCATED_EUR, REMAINDER_EUR)
    assert uk.outstanding == DRONES_EUR + TRAINING_EUR
    belgium = by_donor["Belgium"]
    assert (belgium.allocated, belgium.delivered) == (BELGIUM_DELIVERED_EUR,) * 2
    assert belgium.outstanding == BELGIUM_EUR - BELGIUM_DELIVERED_EUR
    # Marked delivered without records: all of it; its re-announcement's record: nothing.
    norway = by_donor["Norway"]
    assert (norway.allocated, norway.delivered, norway.outstanding) == (
        NORWAY_EUR,
        NORWAY_EUR,
        Decimal("0.00"),
    )
    assert by_donor["Canada"].delivered == Decimal("0.00")  # the UAH pledge has no rate


def test_allocated_and_delivered_in_another_currency(recorded):
    by_donor = rows_by(report("donor", currency="USD"), "donor")
    uk = by_donor["United Kingdom"]
    # 8e8 GBP is 1,081,486,759.29 USD: never more than the package's remainder in dollars.
    assert (uk.delivered, uk.allocated) == (
        UK_USD_COUNTED,
        UK_USD_COUNTED + DRONES_ALLOCATED_USD,
    )
    assert (by_donor["Belgium"].delivered, by_donor["Norway"].delivered) == (
        BELGIUM_DELIVERED_USD,
        Decimal("700000000.00"),
    )


def test_delivered_is_spread_over_the_years_like_the_total(recorded):
    result = report("year", allocation="period")
    by_year = rows_by(result, "year")
    yearly = Decimal("300000000.00")  # Belgium's 1.5e9 over 2025-2029
    assert by_year["2025"].delivered == REMAINDER_EUR + yearly
    assert by_year["2025"].allocated == REMAINDER_EUR + DRONES_ALLOCATED_EUR + yearly
    for year in ("2026", "2027", "2028", "2029"):
        assert (by_year[year].allocated, by_year[year].delivered) == (yearly, yearly)
        assert by_year[year].outstanding == Decimal("700000000.00")
    assert by_year["2024"].delivered == NORWAY_EUR
    assert result.delivered == REMAINDER_EUR + BELGIUM_DELIVERED_EUR + NORWAY_EUR


def test_cancelled_records_count_with_their_pledge_only_when_asked(recorded):
    asked = Pledge.objects.filter(status__in=[PledgeStatus.CANCELLED])
    result = report("donor", pledges=asked, include_cancelled=True)
    norway = rows_by(result, "donor")["Norway"]
    expected = ecb.convert(Decimal("20000000"), "USD", "EUR", WEDNESDAY)
    assert (norway.delivered, norway.allocated) == (expected, expected)
    assert report().delivered == REMAINDER_EUR + BELGIUM_DELIVERED_EUR + NORWAY_EUR


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"group_by": "donor,flavour"}, "group_by"),
        ({"group_by": "donor,category,year"}, "group_by"),
        ({"group_by": "donor,donor"}, "group_by"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "UAH"}, "currency"),  # valid ISO 4217, but no ECB rates
        ({"currency": "€"}, "currency"),
        ({"allocation": "evenly"}, "allocation"),
        ({"allocation": "period", "group_by": "donor"}, "allocation"),
        ({"allocation": "period", "group_by": "year,month"}, "allocation"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_named(db, params, bad):
    with pytest.raises(reports.ReportError) as raised:
        reports.parse_options(**params)
    assert set(raised.value.errors) == {bad}


def test_every_bad_parameter_is_named_at_once(db):
    with pytest.raises(reports.ReportError) as raised:
        reports.parse_options(group_by="x", currency="x", allocation="x", format="x")
    assert set(raised.value.errors) == {"group_by", "currency", "allocation", "format"}


def test_parameters_are_normalised(db):
    options = reports.parse_options(group_by=" Donor , YEAR", currency="usd", allocation="Period")
    assert options == reports.ReportOptions(("donor", "year"), "USD", "period", "json")


def _pledges(count, donor, category):
    """``count`` pledges, a third of them with records."""
    for index in range(count):
        pledge = PledgeFactory(
            donor=donor,
            category=category,
            amount=Decimal(1000 + index),
            currency=["EUR", "USD", "GBP", "UAH"][index % 4],
            amount_basis=AmountBasis.PER_YEAR if index % 5 == 0 else AmountBasis.TOTAL,
            period_start_year=2025 if index % 5 == 0 else None,
            period_end_year=2027 if index % 5 == 0 else None,
        )
        if index % 3 == 0:
            _record(
                pledge, [(FulfilmentKind.DELIVERED, 30, 400), (FulfilmentKind.ALLOCATED, 9, 700)]
            )
            refresh_counted_values([pledge.pk])


# The report, and one per key on a foreign key to read the names it shows (with
# allocation=period too: the overall figures are its groups added up).
@pytest.mark.parametrize(
    ("group_by", "allocation", "queries"),
    [("", None, 1), ("donor,month", None, 2), ("category,year", "period", 2)],
)
def test_query_count_does_not_grow_with_pledges(
    db, django_assert_num_queries, group_by, allocation, queries
):
    donor, category = DonorFactory(), CategoryFactory()
    options = reports.parse_options(group_by=group_by, currency="USD", allocation=allocation)
    _pledges(3, donor, category)
    with django_assert_num_queries(queries):
        few = reports.totals(Pledge.objects.all(), options)
    _pledges(30, DonorFactory(), CategoryFactory())
    with django_assert_num_queries(queries):
        many = reports.totals(Pledge.objects.all(), options)
    assert (few.pledges, many.pledges) == (3, 33)


@pytest.mark.parametrize(("currency", "look_ups"), [("EUR", 0), ("USD", 1)])
def test_each_rate_look_up_is_written_once(db, django_assert_num_queries, currency, look_ups):
    """The query's cost is its rate look-ups. In euros there is none: the counted
    values are stored, and the report is one aggregate over the pledges. In another currency
    the report currency's rate is looked up once per date, for the pledges and their
    components; the pledges' own rates are stored. Never one per aggregate."""
    options = reports.parse_options(group_by="status,month", currency=currency)
    with django_assert_num_queries(1) as captured:
        reports.totals(Pledge.objects.all(), options)
    sql = captured.captured_queries[0]["sql"]
    assert sql.count('"pledges_exchangerate"') == look_ups
    if currency == "EUR":
        assert sql.count("SELECT") == 1
        assert 'SUM("pledges_pledge"."counted_cents")' in sql


# --- invariants over generated data ------------------------------------------------------

CURRENCIES = ["EUR", "USD", "GBP", "NOK", "JPY", "UAH"]

pledge_specs = st.lists(
    st.fixed_dictionaries(
        {
            "donor": st.integers(0, 2),
            "category": st.integers(0, 2),
            "day": st.dates(dt.date(2019, 1, 1), dt.date(2025, 12, 31)),
            "cents": st.one_of(st.none(), st.integers(1, 10**11)),
            "currency": st.sampled_from(CURRENCIES),
            "status": st.sampled_from(PledgeStatus.values),
            "years": st.one_of(st.none(), st.integers(1, 4)),
            # The index of an earlier pledge that becomes this one's package, if any.
            "parent": st.one_of(st.none(), st.integers(0, 30)),
            # The index of an earlier pledge that this one re-announces, if any.
            "reannounces": st.one_of(st.none(), st.integers(0, 30)),
            # Fulfilment records: kind, days after the announcement, share of the total (in
            # per mille; beyond 1000 the records say more than was pledged), or no amount.
            "records": st.lists(
                st.tuples(
                    st.sampled_from(FulfilmentKind.values),
                    st.integers(0, 800),
                    st.one_of(st.none(), st.integers(1, 1300)),
                ),
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=14,
)


def _make(specs):
    donors = [DonorFactory(name=f"Donor {i}") for i in range(3)]
    categories = [CategoryFactory(slug=f"c{i}", name=f"C{i}") for i in range(3)]
    made = []
    for spec in specs:
        parent = None
        if spec["parent"] is not None and spec["parent"] < len(made):
            candidate = made[spec["parent"]]
            parent = candidate if candidate.parent_id is None else None
        per_year = spec["years"] is not None and spec["cents"] is not None
        earlier = None
        if spec["reannounces"] is not None and spec["reannounces"] < len(made):
            earlier = made[spec["reannounces"]]
        made.append(
            PledgeFactory(
                donor=parent.donor if parent else donors[spec["donor"]],
                category=categories[spec["category"]],
                announced_on=spec["day"],
                amount=Decimal(spec["cents"]).scaleb(-2) if spec["cents"] else None,
                currency=spec["currency"] if spec["cents"] else "",
                status=spec["status"],
                amount_basis=AmountBasis.PER_YEAR if per_year else AmountBasis.TOTAL,
                period_start_year=spec["day"].year if per_year else None,
                period_end_year=spec["day"].year + spec["years"] - 1 if per_year else None,
                parent=parent,
                reannounces=earlier,
            )
        )
        _record(made[-1], spec["records"])
    refresh_counted_values(pledge.pk for pledge in made)
    return made


def _record(pledge, records):
    for kind, days, per_mille in records:
        amount = None
        if per_mille is not None and pledge.total_amount is not None:
            amount = max(
                Decimal("0.01"), (pledge.total_amount * per_mille / 1000).quantize(Decimal("0.01"))
            )
        day = pledge.announced_on + dt.timedelta(days=days)
        Fulfilment.objects.create(pledge=pledge, kind=kind, date=day, amount=amount)


def _expected_total(made, currency):
    """Each pledge converted on its own with the ECB file, its components subtracted."""

    def value(pledge):
        if pledge.amount is None:
            return None
        years = (
            pledge.period_end_year - pledge.period_start_year + 1
            if pledge.amount_basis == AmountBasis.PER_YEAR
            else 1
        )
        return ecb.convert(pledge.amount * years, pledge.currency, currency, pledge.announced_on)

    total = Decimal(0)
    for pledge in made:
        if pledge.status == PledgeStatus.CANCELLED or pledge.reannounces_id:
            continue
        own = value(pledge)
        if own is None:
            continue
        components = [
            value(c)
            for c in made
            if c.parent_id == pledge.pk and c.status != PledgeStatus.CANCELLED
        ]
        total += max(Decimal(0), own - sum((v for v in components if v is not None), Decimal(0)))
    return total


def _assert_consistent(result, *, rows_add_up: bool) -> None:
    """Every row and the overall figures: delivered ≤ allocated ≤ total, outstanding = total -
    delivered; with ``rows_add_up``, the rows add up to the overall figures."""
    for target in [*result.rows, result]:
        assert Decimal(0) <= target.delivered <= target.allocated <= target.total, target
        assert target.outstanding == target.total - target.delivered
    if rows_add_up:
        for figure in (*reports.MONEY, *reports.COUNTS):
            assert sum(getattr(row, figure) for row in result.rows) == getattr(result, figure)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=pledge_specs, currency=st.sampled_from(["EUR", "USD", "JPY"]))
def test_invariants_over_generated_pledges(db, specs, currency):
    with transaction.atomic():
        made = _make(specs)
        overall = report(currency=currency)
        assert overall.total == _expected_total(made, currency)
        _assert_consistent(overall, rows_add_up=False)
        for group_by in ("donor", "category", "category,month", "status,currency", "year"):
            result = report(group_by, currency=currency)
            _assert_consistent(result, rows_add_up=True)
            assert (result.total, result.pledges) == (overall.total, overall.pledges)
            assert (result.allocated, result.delivered) == (overall.allocated, overall.delivered)
        for group_by in ("year", "donor,year"):
            period = report(group_by, currency=currency, allocation="period")
            # A per-year pledge is in each year's pledges, but its money counts once.
            _assert_consistent(period, rows_add_up=False)
            for figure in reports.MONEY:
                assert sum(getattr(row, figure) for row in period.rows) == getattr(period, figure)
            assert period.pledges == overall.pledges
        transaction.set_rollback(True)
