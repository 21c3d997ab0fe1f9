"""Generated pledges for benchmarks: realistic shapes, written in bulk (no history rows)."""

import datetime as dt
import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from pledges.choices import AmountBasis, DonorKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Category, Donor, ExchangeRate, Pledge, PledgeItem, Source
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
                    self._write_batch(rng, size, donors, categories, rates, start, span)
                made += size
                progress.update(size)
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

    def _write_batch(self, rng, size, donors, categories, rates, start, span):
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
        write_with_sources(pledges)
        PledgeItem.objects.bulk_create(
            PledgeItem(pledge=p, name=rng.choice(ITEM_NAMES), quantity=rng.randrange(1, 10_000))
            for p in pledges
            if rng.random() < 0.3
        )
        self._make_packages(rng, pledges, rates)

    def _make_packages(self, rng, pledges, rates):
        """Turn a few pledges into packages with two smaller components of the same donor."""
        components = []
        for package in rng.sample(pledges, k=max(1, len(pledges) // 50)):
            if package.value_eur is None or package.amount_basis != AmountBasis.TOTAL:
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
