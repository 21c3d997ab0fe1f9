"""A hand-computed timeline scenario shared by the engine, API and command tests."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges.choices import AmountBasis, FulfilmentKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory

ALLOCATED, DELIVERED = FulfilmentKind.ALLOCATED, FulfilmentKind.DELIVERED


def record(pledge, kind, day, amount):
    amount = None if amount is None else Decimal(amount)
    Fulfilment.objects.create(pledge=pledge, kind=kind, date=day, amount=amount)


@pytest.fixture(name="timeline_pledges")
def timeline_pledges_fixture(db):
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
