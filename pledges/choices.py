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


class FulfilmentKind(models.TextChoices):
    """What a fulfilment record says was done with (part of) a pledge; see
    docs/methodology.md#allocated-and-delivered."""

    ALLOCATED = "allocated", "Allocated (earmarked or contracted for specific items)"
    DELIVERED = "delivered", "Delivered (handed over or paid out)"


class Delivery(models.TextChoices):
    """How much of a pledge its records (or its status) say was delivered: derived."""

    NONE = "none", "None"
    PARTIAL = "partial", "Partial"
    FULL = "full", "Full"


class Confidence(models.TextChoices):
    """How sure the figure is; see docs/methodology.md#confidence."""

    CONFIRMED = "confirmed", "Confirmed (an official source states it)"
    REPORTED = "reported", "Reported (media only)"
    ESTIMATED = "estimated", "Estimated (derived by the editors; method in the description)"


class SourceKind(models.TextChoices):
    OFFICIAL = "official", "Official (the donor's own statement)"
    MEDIA = "media", "Media"
    OTHER = "other", "Other"


class AmountBasis(models.TextChoices):
    TOTAL = "total", "Total"
    PER_YEAR = "per_year", "Per year"


# Bounds of docs/data-dictionary.md, shared by the model, its database constraints and the
# validators.
PERIOD_MIN_YEAR = 2000
PERIOD_MAX_YEAR = 2100
PERIOD_MAX_YEARS = 30
AMOUNT_MAX_DIGITS = 17  # 15 before the point, 2 after
AMOUNT_DECIMAL_PLACES = 2
# A per-year amount times at most 30 years: two more digits before the point.
TOTAL_MAX_DIGITS = AMOUNT_MAX_DIGITS + 2
