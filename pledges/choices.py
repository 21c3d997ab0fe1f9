from django.db import models


class DonorKind(models.TextChoices):
    COUNTRY = "country", "Country"
    ORGANISATION = "organisation", "Organisation"
    FUND = "fund", "Fund"


class EventKind(models.TextChoices):
    UDCG_MEETING = "udcg_meeting", "UDCG meeting"
    SUMMIT = "summit", "Summit"
    CONFERENCE = "conference", "Conference"
    BILATERAL = "bilateral", "Bilateral"
    OTHER = "other", "Other"


class PledgeStatus(models.TextChoices):
    ANNOUNCED = "announced", "Announced"
    COMMITTED = "committed", "Committed"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class AmountBasis(models.TextChoices):
    TOTAL = "total", "Total"
    PER_YEAR = "per_year", "Per year"


# Bounds of SPEC §2, shared by the model, its database constraints and the validators.
PERIOD_MIN_YEAR = 2000
PERIOD_MAX_YEAR = 2100
PERIOD_MAX_YEARS = 30
AMOUNT_MAX_DIGITS = 17  # 15 before the point, 2 after
AMOUNT_DECIMAL_PLACES = 2
# A per-year amount times at most 30 years: two more digits before the point.
TOTAL_MAX_DIGITS = AMOUNT_MAX_DIGITS + 2
