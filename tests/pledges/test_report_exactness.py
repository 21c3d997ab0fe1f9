"""Every report over a generated dataset equals, to the cent, each pledge converted on its own
from the ECB file (``tests.ecb``) and added up by hand: every key, EUR and other
currencies, both allocations, with packages, per-year, unvalued, UAH, cancelled pledges and
re-announcements, and what the fulfilment records say was allocated and delivered (worked out
here from the records themselves). And the one report query written by hand gives what the
plain ORM gives."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from pledges import expressions, reports
from pledges.choices import AmountBasis, FulfilmentKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment, Pledge
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
    _unusual_records(packages)


def _unusual_records(packages):
    """Beside the generator's records: packages delivered beyond what their components leave
    them, records beyond a pledge's total, records without an amount, and re-announcements
    (with records of their own, which count nowhere)."""
    today = timezone.localdate()
    touched = []
    for package in packages[:12]:
        day = min(package.announced_on + dt.timedelta(days=40), today)
        for kind, share in ((FulfilmentKind.DELIVERED, "0.9"), (FulfilmentKind.ALLOCATED, "1.2")):
            amount = (package.total_amount * Decimal(share)).quantize(Decimal("0.01"))
            Fulfilment.objects.create(pledge=package, kind=kind, date=day, amount=amount)
        Fulfilment.objects.create(pledge=package, kind=FulfilmentKind.DELIVERED, date=day)
        touched.append(package.pk)
    originals = Pledge.objects.filter(
        parent__isnull=True, reannounces__isnull=True, amount__isnull=False
    ).exclude(status=PledgeStatus.CANCELLED)[:15]
    for index, original in enumerate(originals):
        again = PledgeFactory(
            donor_id=original.donor_id,
            category_id=original.category_id,
            announced_on=min(original.announced_on + dt.timedelta(days=30), today),
            amount=original.amount if index % 3 else None,
            currency=original.currency if index % 3 else "",
            status=PledgeStatus.DELIVERED if index % 2 else PledgeStatus.COMMITTED,
            reannounces=original,
        )
        if again.amount is not None and index % 4 == 0:
            Fulfilment.objects.create(
                pledge=again,
                kind=FulfilmentKind.DELIVERED,
                date=again.announced_on,
                amount=again.amount,
            )
            touched.append(again.pk)
    refresh_counted_values(touched)


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


def _recorded(pledge, records) -> tuple[Decimal | None, Decimal | None]:
    """(allocated, delivered) of ``pledge`` in its own currency, from its records alone: what
    was delivered, all of it when marked delivered without delivery records; what was allocated
    or delivered; neither beyond its total."""
    if pledge.amount is None:
        return None, None
    mine = records.get(pledge.pk, [])
    delivered_records = [r for r in mine if r.kind == FulfilmentKind.DELIVERED]
    total = pledge.total_amount
    if pledge.status == PledgeStatus.DELIVERED and not delivered_records:
        delivered = total
    else:
        delivered = min(sum((r.amount or 0 for r in delivered_records), Decimal(0)), total)
    allocated_records = [r for r in mine if r.kind == FulfilmentKind.ALLOCATED]
    allocated = sum((r.amount or 0 for r in allocated_records), Decimal(0))
    return min(max(allocated, delivered), total), delivered


def _cents(value) -> int:
    return 0 if value is None else int(value * 100)


def _pledge_money(pledge, currency, components, records, *, period) -> list[int]:
    """[counted, allocated, delivered] cents of one pledge in ``currency``."""
    own = _value(pledge, currency, yearly=period)
    if own is None:
        return [0, 0, 0]
    counted = max(Decimal(0), own - components[pledge.pk])
    whole = max(Decimal(0), _value(pledge, currency) - components[pledge.pk])
    money = [counted]
    for amount in _recorded(pledge, records):
        converted = ecb.convert(amount, pledge.currency, currency, pledge.announced_on)
        if period and amount >= pledge.total_amount:
            money.append(counted)  # covers its whole total: all of its period value
        else:
            money.append(min(converted, whole, counted))
    return [_cents(value) for value in money]


def _expected(currency: str, group_by: str, *, period: bool = False) -> dict:
    """{row keys: [cents, allocated cents, delivered cents, pledges, unvalued, unconverted,
    reannounced]} by hand; the row () is the total."""
    pledges = list(Pledge.objects.all())
    records = defaultdict(list)
    for record in Fulfilment.objects.all():
        records[record.pledge_id].append(record)
    components = defaultdict(Decimal)
    for pledge in pledges:
        if pledge.parent_id and pledge.status != PledgeStatus.CANCELLED:
            components[pledge.parent_id] += _value(pledge, currency) or 0
    keys = [key for key in group_by.split(",") if key]
    rows = defaultdict(lambda: [0] * 7)
    groups = defaultdict(lambda: [0, 0, 0])  # allocation=period: money by (keys, years)
    for pledge in pledges:
        if pledge.status == PledgeStatus.CANCELLED:
            continue
        new = pledge.reannounces_id is None
        money = _pledge_money(pledge, currency, components, records, period=period)
        money = money if new else [0, 0, 0]
        unconverted = pledge.amount is not None and _value(pledge, currency) is None
        counts = [1, new and pledge.amount is None, new and unconverted, not new]
        fields = _fields(pledge)
        first = last = fields["year"]
        if period and pledge.amount_basis == AmountBasis.PER_YEAR:
            first, last = pledge.period_start_year, pledge.period_end_year
        for row in {(), () if period else tuple(fields[key] for key in keys)}:
            rows[row] = [a + b for a, b in zip(rows[row], money + counts, strict=True)]
        if period:
            other = tuple(fields[key] for key in keys if key != "year")
            groups[(other, first, last)] = [
                a + b for a, b in zip(groups[(other, first, last)], money, strict=True)
            ]
            for year in range(first, last + 1):
                row = tuple(year if key == "year" else fields[key] for key in keys)
                rows[row] = [a + b for a, b in zip(rows[row], [0, 0, 0, *counts], strict=True)]
    for (other, first, last), money in groups.items():
        # The rule of the engine: equal shares, the odd cents one each to the first years.
        years = last - first + 1
        for index, year in enumerate(range(first, last + 1)):
            values = iter(other)
            row = tuple(year if key == "year" else next(values) for key in keys)
            for figure, cents in enumerate(money):
                share, odd = divmod(cents, years)
                rows[row][figure] += share + (index < odd)
    return dict(rows)


def _answered(currency: str, group_by: str, allocation: str | None = None) -> dict:
    options = reports.parse_options(group_by=group_by, currency=currency, allocation=allocation)
    report = reports.totals(Pledge.objects.all(), options)
    keys = options.group_by

    def identity(value):
        return value["id"] if isinstance(value, dict) else value

    def figures(target):
        assert target.outstanding == target.total - target.delivered
        money = [target.total, target.allocated, target.delivered]
        counts = [target.pledges, target.unvalued, target.unconverted, target.reannounced]
        return [int(value * 100) for value in money] + counts

    rows = {(): figures(report)}
    for row in report.rows:
        rows[tuple(identity(row.keys[key]) for key in keys)] = figures(row)
    return rows


def test_every_report_equals_the_pledges_converted_one_by_one(generated, db, subtests):
    assert Pledge.objects.filter(currency="UAH").exists()
    assert Pledge.objects.filter(amount_basis=AmountBasis.PER_YEAR).exists()
    assert Pledge.objects.filter(status=PledgeStatus.CANCELLED, parent__isnull=False).exists()
    # Records of every kind, on per-year pledges and packages; undated and re-announced ones.
    recorded = Pledge.objects.filter(fulfilments__isnull=False).distinct()
    assert recorded.filter(amount_basis=AmountBasis.PER_YEAR, delivery="partial").exists()
    assert recorded.filter(components__isnull=False, delivered_cents__gt=0).exists()
    assert recorded.filter(reannounces__isnull=False).exists()
    assert Pledge.objects.filter(undated=True, reannounces__isnull=True).exists()
    assert Fulfilment.objects.filter(kind=FulfilmentKind.ALLOCATED, pledge__undated=True).exists()
    for currency in CURRENCIES:
        for group_by in GROUP_BYS:
            with subtests.test(currency=currency, group_by=group_by):
                assert _answered(currency, group_by) == _expected(currency, group_by)
        for group_by in PERIOD_GROUP_BYS:
            with subtests.test(currency=currency, group_by=group_by, allocation="period"):
                expected = _expected(currency, group_by, period=True)
                assert _answered(currency, group_by, "period") == expected


def test_counted_values_are_what_every_write_left(generated, db):
    """What the database keeps equals what the pledges count computed from scratch, their
    records' allocated and delivered money too."""
    expected = _expected("EUR", "")[()][:3]
    stored = (
        Pledge.objects.exclude(status=PledgeStatus.CANCELLED)
        .filter(reannounces__isnull=True)
        .aggregate(
            total=Sum("counted_cents"),
            allocated=Sum("allocated_cents"),
            delivered=Sum("delivered_cents"),
        )
    )
    assert [stored["total"], stored["allocated"], stored["delivered"]] == expected


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

    def lifecycle(amount: str):
        converted = expressions.ConvertedCents(F(amount), F("eur_rate"), target)
        return Case(
            When(**{f"{amount}__gt": 0}, then=Least(converted, counted)),
            default=Value(0),
            output_field=BigIntegerField(),
        )

    new = Q(reannounces__isnull=True)
    columns = [c for key in group_by for c in reports.GROUP_KEYS[key].columns]
    return list(
        pledges.annotate(converted=own)
        .values(*columns)
        .annotate(
            total_cents=Coalesce(Sum(counted, filter=new), Value(0)),
            allocated_sum=Coalesce(Sum(lifecycle("allocated_amount"), filter=new), Value(0)),
            delivered_sum=Coalesce(Sum(lifecycle("delivered_amount"), filter=new), Value(0)),
            n_pledges=Count("pk"),
            n_unvalued=Count("pk", filter=new & Q(amount__isnull=True)),
            n_unconverted=Count("pk", filter=new & Q(amount__isnull=False, converted__isnull=True)),
            n_reannounced=Count("reannounces"),
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
    assert sum(row["n_reannounced"] for row in plain) > 0
    assert sum(row["delivered_sum"] for row in plain) > 0


# --- the timeline ------------------------------------------------------------------------


def _period(day: dt.date, interval: str):
    if interval == "year":
        return day.year
    if interval == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def _pledge_steps(pledge, currency, components, records):
    """[(day, allocated cents, delivered cents)] of one pledge: its levels after each of its
    records in date order, the differences of the levels."""
    own = _value(pledge, currency)
    if own is None or pledge.reannounces_id:
        return []
    counted = max(Decimal(0), own - components[pledge.pk])
    if pledge.undated:
        return [(pledge.announced_on, _cents(counted), _cents(counted))]

    def converted(amount):
        return ecb.convert(amount, pledge.currency, currency, pledge.announced_on)

    steps, running, before = [], {"allocated": Decimal(0), "delivered": Decimal(0)}, (0, 0)
    mine = [r for r in records.get(pledge.pk, []) if r.amount is not None]
    for record in sorted(mine, key=lambda r: (r.date, r.pk)):
        running[record.kind] += record.amount
        delivered = min(converted(running["delivered"]), counted)
        allocated = min(max(converted(running["allocated"]), delivered), counted)
        level = (_cents(allocated), _cents(delivered))
        steps.append((record.date, level[0] - before[0], level[1] - before[1]))
        before = level
    return steps


def _expected_timeline(currency: str, interval: str) -> dict:
    """{period: [pledged, allocated, delivered]} by hand from the records."""
    pledges = [p for p in Pledge.objects.all() if p.status != PledgeStatus.CANCELLED]
    records = defaultdict(list)
    for record in Fulfilment.objects.all():
        records[record.pledge_id].append(record)
    components = defaultdict(Decimal)
    for pledge in pledges:
        if pledge.parent_id:
            components[pledge.parent_id] += _value(pledge, currency) or 0
    rows = defaultdict(lambda: [0, 0, 0])
    for pledge in pledges:
        money = _pledge_money(pledge, currency, components, records, period=False)
        pledged = money[0] if pledge.reannounces_id is None else 0
        rows[_period(pledge.announced_on, interval)][0] += pledged
        for day, allocated, delivered in _pledge_steps(pledge, currency, components, records):
            rows[_period(day, interval)][1] += allocated
            rows[_period(day, interval)][2] += delivered
    return dict(rows)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_timeline_equals_the_records_worked_out_one_by_one(generated, db, currency):
    from pledges import timeline

    report = reports.totals(Pledge.objects.all(), reports.parse_options(currency=currency))
    for interval in timeline.INTERVALS:
        options = timeline.parse_options(interval=interval, currency=currency)
        data = timeline.timeline_data(timeline.timeline(Pledge.objects.all(), options))
        answered = {
            row["period"]: [int(Decimal(row[f]) * 100) for f in timeline.MONEY]
            for row in data["rows"]
        }
        assert answered == _expected_timeline(currency, interval)
        last = data["rows"][-1]
        assert [last[f"cumulative_{f}"] for f in timeline.MONEY] == [
            reports.money(report.total),
            reports.money(report.allocated),
            reports.money(report.delivered),
        ]
