"""Every report over a generated dataset equals, to the cent, each pledge converted on its own
from the ECB file (``tests.ecb``) and added up by hand: every key, EUR and other
currencies, both allocations, with packages, per-year, unvalued, UAH and cancelled pledges.
And the one report query written by hand gives what the plain ORM gives."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from pledges import expressions, reports
from pledges.choices import AmountBasis, PledgeStatus
from pledges.models import Pledge
from pledges.services import store_pledge
from tests import ecb
from tests.conftest import shared_by_module
from tests.factories import PledgeFactory

GROUP_BYS = ["", "donor", "category,month", "status,currency", "event,quarter", "recipient,year"]
CURRENCIES = ["EUR", "USD", "GBP"]
PERIOD_GROUP_BYS = ["year", "donor,year", "year,currency"]


def generate() -> None:
    """A few thousand generated pledges, and packages whose components are in other currencies
    and on other dates than their package (the generator keeps them alike)."""
    call_command("generate_pledges", 2500, seed=11, batch_size=1000, verbosity=0)
    packages = list(
        Pledge.objects.filter(
            parent__isnull=True, amount_basis=AmountBasis.TOTAL, value_eur__gt=10**6
        ).exclude(components__isnull=False)[:40]
    )
    for index, package in enumerate(packages):
        for share, currency, days in ((Decimal("0.25"), "USD", 3), (Decimal("0.2"), "NOK", 9)):
            PledgeFactory(
                donor_id=package.donor_id,
                category_id=package.category_id,
                parent=package,
                announced_on=min(
                    package.announced_on + dt.timedelta(days=days), timezone.localdate()
                ),
                amount=(package.value_eur * share).quantize(Decimal("0.01")),
                currency=currency,
                status=PledgeStatus.CANCELLED if index % 7 == 0 else PledgeStatus.COMMITTED,
            )
    # A package whose components are worth more than it (written past validation).
    package = packages[1]  # (the components of packages[0] are cancelled)
    package.amount = Decimal("1.00")
    store_pledge(package)  # written past validation, through the write path
    package.refresh_from_db()
    assert package.value_eur is not None and package.counted_cents == 0


# Written once for the module's tests, which only read them.
generated = shared_by_module(generate)


def _fields(pledge) -> dict:
    return {
        "donor": pledge.donor_id,
        "category": pledge.category_id,
        "event": pledge.event_id,
        "status": pledge.status,
        "recipient": pledge.recipient,
        "currency": pledge.currency or None,
        "year": pledge.announced_on.year,
        "quarter": f"{pledge.announced_on.year}-Q{(pledge.announced_on.month - 1) // 3 + 1}",
        "month": f"{pledge.announced_on:%Y-%m}",
    }


def _value(pledge, currency: str, *, yearly: bool = False) -> Decimal | None:
    """The pledge's amount in ``currency`` at its own date, from the ECB file."""
    if pledge.amount is None:
        return None
    if pledge.amount_basis != AmountBasis.PER_YEAR:
        return ecb.convert(pledge.amount, pledge.currency, currency, pledge.announced_on)
    years = pledge.period_end_year - pledge.period_start_year + 1
    if yearly:
        each = ecb.convert(pledge.amount, pledge.currency, currency, pledge.announced_on)
        return None if each is None else each * years
    return ecb.convert(pledge.amount * years, pledge.currency, currency, pledge.announced_on)


def _expected(currency: str, group_by: str, *, period: bool = False) -> dict:
    """{row keys: [cents, pledges, unvalued, unconverted]} by hand; the row () is the total."""
    pledges = list(Pledge.objects.all())
    components = defaultdict(Decimal)
    for pledge in pledges:
        if pledge.parent_id and pledge.status != PledgeStatus.CANCELLED:
            components[pledge.parent_id] += _value(pledge, currency) or 0
    keys = [key for key in group_by.split(",") if key]
    rows = defaultdict(lambda: [0, 0, 0, 0])
    groups = defaultdict(int)  # allocation=period: cents by (keys, first year, last year)
    for pledge in pledges:
        if pledge.status == PledgeStatus.CANCELLED:
            continue
        own = _value(pledge, currency, yearly=period)
        counted = 0 if own is None else int(max(0, own - components[pledge.pk]) * 100)
        fields = _fields(pledge)
        first = last = fields["year"]
        if period and pledge.amount_basis == AmountBasis.PER_YEAR:
            first, last = pledge.period_start_year, pledge.period_end_year
        figures = [counted, 1, pledge.amount is None, pledge.amount is not None and own is None]
        for row in {(), () if period else tuple(fields[key] for key in keys)}:
            rows[row] = [a + b for a, b in zip(rows[row], figures, strict=True)]
        if period:
            other = tuple(fields[key] for key in keys if key != "year")
            groups[(other, first, last)] += counted
            for year in range(first, last + 1):
                row = tuple(year if key == "year" else fields[key] for key in keys)
                rows[row] = [a + b for a, b in zip(rows[row], [0, *figures[1:]], strict=True)]
    for (other, first, last), cents in groups.items():
        # The rule of the engine: equal shares, the odd cents in the first year.
        share, odd = divmod(cents, last - first + 1)
        for year in range(first, last + 1):
            values = iter(other)
            row = tuple(year if key == "year" else next(values) for key in keys)
            rows[row][0] += share + (odd if year == first else 0)
    return dict(rows)


def _answered(currency: str, group_by: str, allocation: str | None = None) -> dict:
    options = reports.parse_options(group_by=group_by, currency=currency, allocation=allocation)
    report = reports.totals(Pledge.objects.all(), options)
    keys = options.group_by

    def identity(value):
        return value["id"] if isinstance(value, dict) else value

    rows = {(): [int(report.total * 100), report.pledges, report.unvalued, report.unconverted]}
    for row in report.rows:
        identity_of_row = tuple(identity(row.keys[key]) for key in keys)
        rows[identity_of_row] = [int(row.total * 100), row.pledges, row.unvalued, row.unconverted]
    return rows


def test_every_report_equals_the_pledges_converted_one_by_one(generated, db, subtests):
    assert Pledge.objects.filter(currency="UAH").exists()
    assert Pledge.objects.filter(amount_basis=AmountBasis.PER_YEAR).exists()
    assert Pledge.objects.filter(status=PledgeStatus.CANCELLED, parent__isnull=False).exists()
    for currency in CURRENCIES:
        for group_by in GROUP_BYS:
            with subtests.test(currency=currency, group_by=group_by):
                assert _answered(currency, group_by) == _expected(currency, group_by)
        for group_by in PERIOD_GROUP_BYS:
            with subtests.test(currency=currency, group_by=group_by, allocation="period"):
                expected = _expected(currency, group_by, period=True)
                assert _answered(currency, group_by, "period") == expected


def test_counted_values_are_what_every_write_left(generated, db):
    """What the database keeps equals what the pledges count computed from scratch."""
    expected = _expected("EUR", "")[()][0]
    assert (
        Pledge.objects.exclude(status=PledgeStatus.CANCELLED).aggregate(total=Sum("counted_cents"))[
            "total"
        ]
        == expected
    )


def _plain_orm(pledges, currency: str, group_by: list[str]) -> list[dict]:
    """The converted report with nothing but the ORM: every look-up repeated for each pledge
    and each aggregate (slow), the same arithmetic."""
    target = expressions.rate_of_currency(currency, "announced_on")
    components = (
        Pledge.objects.filter(parent_id=OuterRef("pk"), eur_rate__isnull=False)
        .exclude(status=PledgeStatus.CANCELLED)
        .order_by()
        .values("parent_id")
        .annotate(cents=Sum(expressions.ConvertedCents(F("total_amount"), F("eur_rate"), target)))
        .values("cents")
    )
    own = expressions.ConvertedCents(F("total_amount"), F("eur_rate"), target)
    counted = Greatest(
        own - Coalesce(Subquery(components), Value(0)), Value(0), output_field=BigIntegerField()
    )
    columns = [c for key in group_by for c in reports.GROUP_KEYS[key].columns]
    return list(
        pledges.annotate(converted=own)
        .values(*columns)
        .annotate(
            total_cents=Coalesce(Sum(counted), Value(0)),
            n_pledges=Count("pk"),
            n_unvalued=Count("pk", filter=Q(amount__isnull=True)),
            n_unconverted=Count("pk", filter=Q(amount__isnull=False, converted__isnull=True)),
            n_reannounced=Count("reannounces"),  # none among the generated pledges
        )
        .order_by(*columns)
    )


@pytest.mark.parametrize("group_by", [["donor"], ["category", "status"]])
def test_the_hand_written_query_is_the_plain_orm(generated, db, group_by):
    pledges = Pledge.objects.exclude(status=PledgeStatus.CANCELLED).filter(
        announced_on__year__gte=2022
    )
    columns = [c for key in group_by for c in reports.GROUP_KEYS[key].columns]
    answered = reports._summed_converted(pledges, columns, "USD", period=False)
    plain = _plain_orm(pledges, "USD", group_by)
    assert sorted(answered, key=lambda row: [row[c] for c in columns]) == plain
    assert sum(row["n_pledges"] for row in plain) == pledges.count()
