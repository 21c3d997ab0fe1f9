"""A hand-computed report scenario shared by the engine, API and command tests."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges.choices import AmountBasis, PledgeStatus
from pledges.services import validate_pledge
from tests.factories import CategoryFactory, DonorFactory, EventFactory, PledgeFactory

WEDNESDAY = dt.date(2025, 6, 4)
SATURDAY = dt.date(2025, 6, 7)  # no ECB rate: Friday 6 June's is used
EARLIER = dt.date(2024, 2, 14)

# By hand from the ECB file: GBP 0.8421 on 2025-06-04; USD 1.1384 on 2025-06-04, 1.1411 on
# 2025-06-06, 1.0713 on 2024-02-14.
PACKAGE_EUR = Decimal("1187507421.92")  # 1e9 / 0.8421
DRONES_EUR = Decimal("356252226.58")  # 3e8 / 0.8421
TRAINING_EUR = Decimal("100000000.00")
REMAINDER_EUR = PACKAGE_EUR - DRONES_EUR - TRAINING_EUR  # 731255195.34
BELGIUM_EUR = Decimal("5000000000.00")  # 1e9 a year, 2025-2029
NORWAY_EUR = Decimal("653411742.74")  # 7e8 / 1.0713
TOTAL_EUR = REMAINDER_EUR + DRONES_EUR + TRAINING_EUR + BELGIUM_EUR + NORWAY_EUR


@pytest.fixture(name="scenario")
def scenario_fixture(db):
    """The UK's package with components of every kind, a per-year pledge, unvalued, UAH and
    cancelled pledges."""
    uk = DonorFactory(name="United Kingdom")
    belgium = DonorFactory(name="Belgium")
    canada = DonorFactory(name="Canada")
    norway = DonorFactory(name="Norway")
    other = CategoryFactory(slug="other", name="Other")
    drones = CategoryFactory(slug="drones", name="Drones")
    training = CategoryFactory(slug="training", name="Training")
    event = EventFactory(name="UDCG 28", date=WEDNESDAY)
    package = PledgeFactory(
        donor=uk,
        category=other,
        event=event,
        announced_on=WEDNESDAY,
        amount=Decimal("1000000000"),
        currency="GBP",
    )
    made = {
        "package": package,
        "drones": PledgeFactory(
            donor=uk,
            category=drones,
            event=event,
            parent=package,
            announced_on=WEDNESDAY,
            amount=Decimal("300000000"),
            currency="GBP",
        ),
        "training": PledgeFactory(
            donor=uk,
            category=training,
            parent=package,
            status=PledgeStatus.COMMITTED,
            announced_on=SATURDAY,
            amount=Decimal("100000000"),
            currency="EUR",
        ),
        "cancelled_component": PledgeFactory(
            donor=uk,
            category=drones,
            parent=package,
            status=PledgeStatus.CANCELLED,
            announced_on=WEDNESDAY,
            amount=Decimal("200000000"),
            currency="GBP",
        ),
        "unvalued_component": PledgeFactory(
            donor=uk, category=drones, parent=package, amount=None, currency=""
        ),
        "belgium": PledgeFactory(
            donor=belgium,
            category=other,
            announced_on=WEDNESDAY,
            amount=Decimal("1000000000"),
            currency="EUR",
            amount_basis=AmountBasis.PER_YEAR,
            period_start_year=2025,
            period_end_year=2029,
        ),
        "uah": PledgeFactory(
            donor=canada, category=drones, amount=Decimal("500000000"), currency="UAH"
        ),
        "unvalued": PledgeFactory(donor=canada, category=other, amount=None, currency=""),
        "norway_cancelled": PledgeFactory(
            donor=norway,
            category=other,
            status=PledgeStatus.CANCELLED,
            amount=Decimal("50000000"),
            currency="USD",
        ),
        "norway": PledgeFactory(
            donor=norway,
            category=other,
            status=PledgeStatus.DELIVERED,
            announced_on=EARLIER,
            amount=Decimal("700000000"),
            currency="USD",
        ),
    }
    for pledge in made.values():
        validate_pledge(pledge=pledge, fields={})  # the model's and the package rules
    return made
