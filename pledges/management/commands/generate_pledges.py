"""Generated pledges for benchmarks: realistic shapes, written in bulk (no history rows).

About 30% of the valued pledges that are not cancelled get 1 to 3 fulfilment records
(allocated or delivered, each with a source), dated after the announcement and never in the
future, within the pledge's total; a pledge delivered in full by them is ``delivered``, one
partly delivered or allocated ``committed``. Pledges marked delivered without records are
``undated`` (delivered in full on their announcement date). What the records make of each
pledge (``lifecycle``, ``counted``) is computed before the rows are written, so the command
writes each row once; the same --seed gives the same pledges and records. Packages are made of
pledges without records.
"""

import datetime as dt
import itertools
import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from pledges.bulk import refresh_planner_statistics
from pledges.choices import AmountBasis, DonorKind, FulfilmentKind, PledgeStatus
from pledges.conversion import round_money, to_cents
from pledges.counted import lifecycle_cents, refresh_counted_values
from pledges.lifecycle import Recorded, lifecycle_values
from pledges.models import (
    LIFECYCLE_FIELDS,
    Category,
    Donor,
    ExchangeRate,
    Fulfilment,
    FulfilmentSource,
    Pledge,
    PledgeItem,
    Source,
)
from pledges.services import prepare_write

CURRENCIES = ["EUR"] * 8 + ["USD"] * 4 + ["GBP"] * 2 + ["NOK", "SEK", "CAD", "PLN", "DKK", "UAH"]
STATUSES = (
    [PledgeStatus.ANNOUNCED] * 6
    + [PledgeStatus.COMMITTED] * 3
    + [
        PledgeStatus.DELIVERED,
        PledgeStatus.CANCELLED,
    ]
)
ITEM_NAMES = ["drone", "artillery shell", "air defence missile", "armoured vehicle", "radar"]
RECORDED_SHARE = 0.3  # of the valued pledges that are not cancelled
CENT = Decimal("0.01")


def write_with_sources(pledges: list[Pledge]) -> None:
    Pledge.objects.bulk_create(pledges)
    Source.objects.bulk_create(
        Source(pledge=p, url=f"https://example.org/pledge/{p.pk}", publisher="Generator")
        for p in pledges
    )


class Command(BaseCommand):
    help = "Generate COUNT random pledges (about 50 donors, 12 categories, 5 years) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--first-year", type=int, default=2021)
        parser.add_argument("--years", type=int, default=5)
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, count, seed, first_year, years, batch_size, **options):
        if count < 1:
            raise CommandError("count must be positive")
        rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        # The records draw from a generator of their own, not from the pledges' draws.
        records = Records(random.Random(f"{seed}-records"), timezone.localdate())  # noqa: S311
        donors = self._ensure_donors(50)
        categories = self._ensure_categories(12)
        rates = ExchangeRate.objects.table()
        start = dt.date(first_year, 1, 1)
        end = min(dt.date(first_year + years, 1, 1), timezone.localdate())
        span = (end - start).days
        made = 0
        with tqdm(total=count, unit="pledge", disable=options["verbosity"] == 0) as progress:
            while made < count:
                size = min(batch_size, count - made)
                with transaction.atomic():
                    self._write_batch(rng, size, donors, categories, rates, start, span, records)
                made += size
                progress.update(size)
        refresh_planner_statistics(Pledge, PledgeItem, Source, Fulfilment, FulfilmentSource)
        self.stdout.write(self.style.SUCCESS(f"Generated {count} pledges."))

    def _ensure_donors(self, number):
        existing = list(Donor.objects.all()[:number])
        existing.extend(
            Donor.objects.get_or_create(
                name=f"Generated donor {index}", defaults={"kind": DonorKind.ORGANISATION}
            )[0]
            for index in range(len(existing), number)
        )
        return existing

    def _ensure_categories(self, number):
        existing = list(Category.objects.all()[:number])
        existing.extend(
            Category.objects.get_or_create(
                slug=f"generated-{index}", defaults={"name": f"Generated {index}"}
            )[0]
            for index in range(len(existing), number)
        )
        return existing

    def _write_batch(self, rng, size, donors, categories, rates, start, span, records):
        pledges = []
        for _ in range(size):
            announced_on = start + dt.timedelta(days=rng.randrange(span))
            valued = rng.random() > 0.08
            per_year = valued and rng.random() < 0.05
            first = announced_on.year
            pledge = Pledge(
                donor=rng.choice(donors),
                category=rng.choice(categories),
                announced_on=announced_on,
                title=f"Generated pledge {rng.randrange(10**9)}",
                status=rng.choice(STATUSES),
                amount=Decimal(rng.randrange(10_000, 2_000_000_000_00)) / 100 if valued else None,
                currency=rng.choice(CURRENCIES) if valued else "",
                amount_basis=AmountBasis.PER_YEAR if per_year else AmountBasis.TOTAL,
                period_start_year=first if per_year else None,
                period_end_year=first + rng.randrange(1, 5) if per_year else None,
            )
            prepare_write(pledge, rates)
            pledges.append(pledge)
        planned = records.plan(pledges)
        write_with_sources(pledges)
        records.write(planned)
        PledgeItem.objects.bulk_create(
            PledgeItem(pledge=p, name=rng.choice(ITEM_NAMES), quantity=rng.randrange(1, 10_000))
            for p in pledges
            if rng.random() < 0.3
        )
        self._make_packages(rng, pledges, rates, {pledge.pk for pledge, _ in planned})

    def _make_packages(self, rng, pledges, rates, recorded: set[int]):
        """Turn a few pledges into packages with two smaller components of the same donor; not
        those with records, which may hold more than the components would leave them."""
        components = []
        for package in rng.sample(pledges, k=max(1, len(pledges) // 50)):
            if (
                package.value_eur is None
                or package.amount_basis != AmountBasis.TOTAL
                or package.pk in recorded
            ):
                continue
            for share in (Decimal("0.3"), Decimal("0.2")):
                component = Pledge(
                    donor_id=package.donor_id,
                    category=rng.choice(pledges).category,
                    announced_on=package.announced_on,
                    title=f"Component of {package.title}",
                    status=package.status,
                    amount=(package.amount * share).quantize(Decimal("0.01")),
                    currency=package.currency,
                    parent_id=package.pk,
                )
                prepare_write(component, rates)
                components.append(component)
        write_with_sources(components)
        refresh_counted_values(component.parent_id for component in components)


class Records:
    """Fulfilment records for generated pledges, planned before the pledges are written (their
    status and lifecycle values follow the records) and written after them."""

    def __init__(self, rng: random.Random, today: dt.date):
        self.rng = rng
        self.today = today

    def plan(self, pledges: list[Pledge]) -> list[tuple[Pledge, list[Fulfilment]]]:
        planned = []
        for pledge in pledges:
            if (
                pledge.amount is None
                or pledge.status == PledgeStatus.CANCELLED
                or self.rng.random() >= RECORDED_SHARE
            ):
                continue
            made = self._records(pledge)
            self._follow(pledge, made)
            planned.append((pledge, made))
        return planned

    def _records(self, pledge: Pledge) -> list[Fulfilment]:
        """1 to 3 records in date order, delivered and allocated within the total."""
        kinds = [
            self.rng.choice([FulfilmentKind.DELIVERED, FulfilmentKind.ALLOCATED])
            for _ in range(self.rng.randint(1, 3))
        ]
        delivered_share = 1.0 if self.rng.random() < 0.3 else self.rng.uniform(0.05, 0.95)
        shares = {
            FulfilmentKind.DELIVERED: delivered_share,
            FulfilmentKind.ALLOCATED: self.rng.uniform(delivered_share, 1.0),
        }
        amounts = {}
        for kind, share in shares.items():
            count = kinds.count(kind)
            whole = (pledge.total_amount * Decimal(share)).quantize(CENT)
            amounts[kind] = self._split(min(whole, pledge.total_amount), count)
        span = (self.today - pledge.announced_on).days
        dates = sorted(
            pledge.announced_on + dt.timedelta(days=self.rng.randint(min(span, 1), span))
            for _ in kinds
        )
        return [
            Fulfilment(kind=kind, date=date, amount=amounts[kind].pop(0))
            for kind, date in zip(kinds, dates, strict=True)
        ]

    def _split(self, whole: Decimal, count: int) -> list[Decimal]:
        """``whole`` in ``count`` positive parts (of at least a cent each)."""
        if count == 0:
            return []
        cents = int(whole / CENT)  # a generated total is at least 100.00: enough cents
        cuts = sorted(self.rng.sample(range(1, cents), count - 1)) if count > 1 else []
        return [Decimal(b - a) * CENT for a, b in itertools.pairwise([0, *cuts, cents])]

    def _follow(self, pledge: Pledge, made: list[Fulfilment]) -> None:
        """The records' running totals and euro cents, and what they make of the pledge, as
        ``lifecycle.refresh_lifecycle`` and ``counted`` compute them from the stored rows."""
        recorded, cents = Recorded(), {}
        for record in made:
            delivered = record.kind == FulfilmentKind.DELIVERED
            before = recorded.delivered if delivered else recorded.allocated
            after = before + record.amount
            record.cumulative_amount = after
            if pledge.eur_rate is not None:
                record.eur_cents = _eur_cents(after, pledge.eur_rate) - _eur_cents(
                    before, pledge.eur_rate
                )
                cents[record.kind] = cents.get(record.kind, 0) + record.eur_cents
            if delivered:
                recorded.delivered = after
                recorded.delivered_records += 1
            else:
                recorded.allocated = after
        if recorded.delivered_records:
            full = recorded.delivered >= pledge.total_amount
            pledge.status = PledgeStatus.DELIVERED if full else PledgeStatus.COMMITTED
        elif pledge.status != PledgeStatus.DELIVERED:
            pledge.status = PledgeStatus.COMMITTED
        values = lifecycle_values(pledge, recorded)
        for name, value in zip(LIFECYCLE_FIELDS, values, strict=True):
            setattr(pledge, name, value)
        pledge.allocated_cents, pledge.delivered_cents = lifecycle_cents(
            pledge.undated, pledge.counted_cents, cents
        )

    def write(self, planned: list[tuple[Pledge, list[Fulfilment]]]) -> None:
        made = []
        for pledge, records in planned:
            for record in records:
                record.pledge_id = pledge.pk
                made.append(record)
        Fulfilment.objects.bulk_create(made)
        FulfilmentSource.objects.bulk_create(
            FulfilmentSource(
                fulfilment=record,
                url=f"https://example.org/pledge/{record.pledge_id}/record/{record.pk}",
                publisher="Generator",
            )
            for record in made
        )


def _eur_cents(amount: Decimal, eur_rate: Decimal) -> int:
    """A running total in euro cents at the pledge's rate (``lifecycle``'s arithmetic)."""
    return to_cents(round_money(amount / eur_rate))
