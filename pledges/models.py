"""The domain (docs/data-dictionary.md). Every rule of one pledge that the admin, the API and
imports share lives here: ``full_clean()`` refuses what they must all refuse, and the database
constraints hold what the database can hold. Rules that read other rows (packages,
re-announcements) are in ``package_rules``; derived values are set by the write path
(``services.prepare_write``)."""

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Self

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from . import conversion
from .choices import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    PERIOD_MAX_YEAR,
    PERIOD_MAX_YEARS,
    PERIOD_MIN_YEAR,
    TOTAL_MAX_DIGITS,
    AmountBasis,
    Confidence,
    Delivery,
    DonorKind,
    EventKind,
    FulfilmentKind,
    PledgeStatus,
    SourceKind,
)
from .codes import is_country, is_currency, normalise_code

# What a source says of itself, in the order the admin, the API and the spreadsheets show it.
SOURCE_FIELDS = [
    "url",
    "publisher",
    "title",
    "published_on",
    "kind",
    "archived_url",
    "accessed_on",
]
# Computed by the application, never typed in: read-only in the admin and the API.
DERIVED_FIELDS = ["total_amount", "value_eur", "rate_date"]
# What the fulfilment records say of a pledge (``pledges.lifecycle``): shown, never typed in.
LIFECYCLE_FIELDS = ["allocated_amount", "delivered_amount", "delivery", "undated"]
# Kept for the reports (``pledges.counted``), never shown: the rate ``value_eur`` used, and
# the pledge's counted value in euro cents (its total less its components',
# docs/methodology.md#no-double-counting), and what of it was allocated and delivered.
COUNTED_FIELDS = ["counted_cents", "counted_period_cents", "allocated_cents", "delivered_cents"]
REPORT_FIELDS = ["eur_rate", *COUNTED_FIELDS]
BOOKKEEPING_FIELDS = ["version", "created_at", "updated_at"]

MAX_AMOUNT = Decimal(10) ** (AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES) - Decimal("0.01")


def validate_country_code(value: str) -> None:
    if not is_country(value):
        raise ValidationError(
            "%(value)s is not an ISO 3166-1 alpha-2 country code.",
            code="invalid_country",
            params={"value": value},
        )


def validate_currency_code(value: str) -> None:
    if not is_currency(value):
        raise ValidationError(
            "%(value)s is not an ISO 4217 currency code.",
            code="invalid_currency",
            params={"value": value},
        )


def validate_sources(confidence: str, source_kinds: list[str]) -> None:
    """Every figure is traceable: a pledge keeps at least one source, and a ``confirmed`` one
    an official source (docs/methodology.md#confidence). ``source_kinds``: one per source."""
    if not source_kinds:
        raise ValidationError(
            {"sources": "A pledge needs at least one source."}, code="source_required"
        )
    if confidence == Confidence.CONFIRMED and SourceKind.OFFICIAL not in source_kinds:
        raise ValidationError(
            {"confidence": "A confirmed pledge needs an official source (kind official)."},
            code="confirmed_without_official_source",
        )


def _in_choices(field: str, choices) -> Q:
    """A database check that ``field`` holds one of ``choices``."""
    return Q(**{f"{field}__in": choices.values})


class Donor(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=DonorKind.choices, default=DonorKind.COUNTRY)
    iso2 = models.CharField(
        "ISO code",
        max_length=2,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_country_code],
        help_text="ISO 3166-1 alpha-2; countries only.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=DonorKind.COUNTRY, iso2__isnull=False)
                | (~Q(kind=DonorKind.COUNTRY) & Q(iso2__isnull=True)),
                name="donor_iso2_for_countries_only",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.iso2 = normalise_code(self.iso2) or None
        if self.kind == DonorKind.COUNTRY and not self.iso2:
            raise ValidationError({"iso2": "A country needs its ISO 3166-1 alpha-2 code."})
        if self.kind != DonorKind.COUNTRY and self.iso2:
            raise ValidationError({"iso2": "Only countries have an ISO country code."})


class Category(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=EventKind.choices, default=EventKind.OTHER)
    date = models.DateField()
    location = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-date", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "date"], name="event_unique_name_date"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%d %b %Y})"


# The relations a pledge or a record is shown with, loaded for a page at once as plain lists
# under these attributes (``PreloadingQuerySet.preloaded``).
PRELOADED = {"items": "preloaded_items", "sources": "preloaded_sources"}

# What a pledge is shown by where another names it (its package, in the API).
PLEDGE_BRIEF_FIELDS = ("id", "title", "announced_on")


class PreloadingQuerySet(models.QuerySet):
    """A queryset that loads what its rows are shown with by one plain query each, once its
    rows are read: the ``PRELOADED`` lists (``preloaded()``) and the brief rows that foreign
    keys name (``with_briefs()``). Django's prefetch does the same, with more work a row: it
    took a page of 100 pledges 3.5 ms where its queries take 1.8 ms."""

    _loads: tuple = ()

    def preloaded(self) -> Self:
        return self._loading(_load_lists)

    def with_briefs(self, relation: str, fields: tuple[str, ...]) -> Self:
        """The rows named by the foreign key ``relation``, with only ``fields`` loaded."""
        return self._loading(partial(_load_briefs, relation, fields))

    def _loading(self, load: Callable[[list], None]) -> Self:
        clone = self._chain()
        clone._loads = (*self._loads, load)
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._loads = self._loads
        return clone

    def _fetch_all(self):
        unread = self._result_cache is None
        super()._fetch_all()
        if unread and self._result_cache and self._iterable_class is models.query.ModelIterable:
            for load in self._loads:
                load(self._result_cache)

    def iterator(self, chunk_size=None):
        if self._loads:
            # Its rows would come without what they are shown with, read again a row each.
            raise TypeError("A preloading queryset is read whole, not by iterator().")
        return super().iterator(chunk_size)


def _read_with(rows: list[models.Model], model: type[models.Model]) -> models.QuerySet:
    """``model``'s rows, from the database that ``rows`` were read from."""
    return model._default_manager.using(rows[0]._state.db)


def _load_lists(rows: list[models.Model]) -> None:
    """Each row's ``PRELOADED`` lists, in their model's order; each item knows its row."""
    by_pk = {row.pk: row for row in rows}
    for relation, attribute in PRELOADED.items():
        key = rows[0]._meta.get_field(relation).field  # the foreign key to the rows
        lists = {pk: [] for pk in by_pk}
        for related in _read_with(rows, key.model).filter(**{f"{key.attname}__in": list(by_pk)}):
            owner = getattr(related, key.attname)
            key.set_cached_value(related, by_pk[owner])
            lists[owner].append(related)
        for row in rows:
            setattr(row, attribute, lists[row.pk])


def _load_briefs(relation: str, fields: tuple[str, ...], rows: list[models.Model]) -> None:
    key = rows[0]._meta.get_field(relation)
    named = {getattr(row, key.attname) for row in rows} - {None}
    briefs = _read_with(rows, key.related_model).only(*fields).order_by().in_bulk(named)
    for row in rows:
        # None for one deleted since the rows were read (READ COMMITTED), as Django's prefetch.
        key.set_cached_value(row, briefs.get(getattr(row, key.attname)))


class PledgeQuerySet(PreloadingQuerySet):
    def with_related(self) -> "PledgeQuerySet":
        """Everything a pledge is shown with, in a fixed number of queries. Its package is
        loaded apart, by its brief fields only: joined to every row, its thirty columns cost a
        page of 100 pledges 3 ms more than the rest of the page's query, for the few rows that
        have one."""
        related = self.select_related("donor", "category", "event").preloaded()
        return related.with_briefs("parent", PLEDGE_BRIEF_FIELDS)


class Pledge(models.Model):
    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="pledges")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="pledges")
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="pledges", null=True, blank=True
    )
    recipient = models.CharField(
        max_length=2,
        default="UA",
        validators=[validate_country_code],
        help_text="ISO 3166-1 alpha-2 code of the receiving country.",
    )
    announced_on = models.DateField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=PledgeStatus.choices, default=PledgeStatus.ANNOUNCED
    )
    confidence = models.CharField(
        max_length=10,
        choices=Confidence.choices,
        default=Confidence.REPORTED,
        help_text="confirmed: an official source states it; reported: media only; estimated: "
        "derived by the editors (say how in the description).",
    )
    amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_AMOUNT)],
        help_text="Leave empty for an in-kind pledge with no stated value.",
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_currency_code],
        help_text="ISO 4217 code; required with an amount.",
    )
    amount_basis = models.CharField(
        max_length=10, choices=AmountBasis.choices, default=AmountBasis.TOTAL
    )
    period_start_year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(PERIOD_MIN_YEAR), MaxValueValidator(PERIOD_MAX_YEAR)],
    )
    period_end_year = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(PERIOD_MIN_YEAR), MaxValueValidator(PERIOD_MAX_YEAR)],
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="components",
        null=True,
        blank=True,
        verbose_name="package",
        help_text="The package this pledge is a component of.",
    )
    reannounces = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="reannouncements",
        null=True,
        blank=True,
        verbose_name="re-announces",
        help_text="The earlier pledge of the same donor that this one announces again: new "
        "news, not new money (reports count it in reannounced, never in total).",
    )
    external_ref = models.CharField(
        "external reference",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="A stable identifier used by imports and exports.",
    )

    # Derived by the write path (services.prepare_write), never typed in.
    total_amount = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        editable=False,
    )
    value_eur = models.DecimalField(
        "value (EUR)",
        max_digits=TOTAL_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        editable=False,
    )
    rate_date = models.DateField(null=True, blank=True, editable=False)
    eur_rate = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        editable=False,
        help_text="Units of the currency per euro: the rate of value_eur.",
    )
    counted_cents = models.BigIntegerField(null=True, blank=True, editable=False)
    counted_period_cents = models.BigIntegerField(null=True, blank=True, editable=False)
    # Derived from the fulfilment records by ``lifecycle.refresh_lifecycle``, never typed in.
    allocated_amount = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        editable=False,
        help_text="Allocated or delivered so far, in the pledge's currency (null without an "
        "amount).",
    )
    delivered_amount = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        editable=False,
        help_text="Delivered so far, in the pledge's currency (null without an amount).",
    )
    delivery = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.NONE, editable=False
    )
    undated = models.BooleanField(
        default=False,
        editable=False,
        help_text="Marked delivered without delivery records: counted as delivered in full on "
        "its announcement date.",
    )
    # The EUR cents of allocated_amount and delivered_amount that the reports count
    # (``counted``): at the pledge's own rate, never more than counted_cents.
    allocated_cents = models.BigIntegerField(null=True, blank=True, editable=False)
    delivered_cents = models.BigIntegerField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["version", "updated_at", *LIFECYCLE_FIELDS, *REPORT_FIELDS]
    )
    objects = PledgeQuerySet.as_manager()

    class Meta:
        ordering = ["-announced_on", "-id"]
        permissions = [("change_pledge_status", "Can change the status of a pledge")]
        indexes = [
            models.Index(fields=["announced_on", "id"], name="pledge_announced_idx"),
            # The status too: a donor's pledges of one status in a period are counted from
            # the index alone (PostgreSQL combined two indexes and read the rows: 12 ms
            # against 0.3 ms at a million pledges; SQLite read the rows: 6.5 ms).
            models.Index(
                fields=["donor", "announced_on", "status"], name="pledge_donor_date_status_idx"
            ),
            models.Index(fields=["category", "announced_on"], name="pledge_category_date_idx"),
            models.Index(fields=["status", "announced_on"], name="pledge_status_date_idx"),
            models.Index(fields=["currency"], name="pledge_currency_idx"),
            models.Index(fields=["recipient"], name="pledge_recipient_idx"),
            # ordering=value_eur with unvalued pledges last; -value_eur has its own index on
            # PostgreSQL (migration 0003: SQLite cannot index NULLS LAST).
            models.Index(fields=["value_eur", "id"], name="pledge_value_eur_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="pledge_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | ~Q(currency=""),
                name="pledge_currency_with_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_basis=AmountBasis.TOTAL)
                | Q(period_start_year__isnull=False, period_end_year__isnull=False),
                name="pledge_per_year_has_period",
            ),
            models.CheckConstraint(
                condition=Q(period_start_year__isnull=True)
                | Q(period_end_year__isnull=True)
                | (
                    Q(period_end_year__gte=F("period_start_year"))
                    & Q(period_end_year__lt=F("period_start_year") + PERIOD_MAX_YEARS)
                ),
                name="pledge_period_order_and_length",
            ),
            models.CheckConstraint(
                condition=(
                    Q(period_start_year__isnull=True)
                    | Q(period_start_year__range=(PERIOD_MIN_YEAR, PERIOD_MAX_YEAR))
                )
                & (
                    Q(period_end_year__isnull=True)
                    | Q(period_end_year__range=(PERIOD_MIN_YEAR, PERIOD_MAX_YEAR))
                ),
                name="pledge_period_years_in_range",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=F("id")),
                name="pledge_not_own_package",
            ),
            models.CheckConstraint(
                condition=Q(reannounces__isnull=True) | ~Q(reannounces=F("id")),
                name="pledge_not_own_reannouncement",
            ),
            models.CheckConstraint(
                condition=_in_choices("confidence", Confidence), name="pledge_confidence_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.donor.name if self.donor_id else '?'}: {self.title}"

    # --- validation -------------------------------------------------------------------

    def clean(self) -> None:
        self.currency = normalise_code(self.currency)
        self.recipient = normalise_code(self.recipient)
        errors: dict[str, list[str]] = {}

        def refuse(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.announced_on and self.announced_on > timezone.localdate():
            refuse("announced_on", "A pledge cannot be announced in the future.")
        if self.amount is not None and not self.currency:
            refuse("currency", "A currency is required with an amount.")
        if self.amount is None and self.amount_basis == AmountBasis.PER_YEAR:
            refuse("amount", "A per-year pledge needs its yearly amount.")
        self._clean_period(refuse)
        if errors:
            raise ValidationError(errors)

    def _clean_period(self, refuse) -> None:
        start, end = self.period_start_year, self.period_end_year
        if self.amount_basis == AmountBasis.PER_YEAR:
            if start is None:
                refuse("period_start_year", "A per-year pledge needs the first year of its period.")
            if end is None:
                refuse("period_end_year", "A per-year pledge needs the last year of its period.")
        elif start is not None or end is not None:
            refuse("amount_basis", "A period is only given with the per_year basis.")
        if start is not None and end is not None:
            if end < start:
                refuse("period_end_year", "The period cannot end before it starts.")
            elif conversion.period_years(start, end) > PERIOD_MAX_YEARS:
                refuse("period_end_year", f"A period lasts at most {PERIOD_MAX_YEARS} years.")


class PledgeItem(models.Model):
    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty when the number is not stated.",
    )
    # Derived from the delivered records (``lifecycle``), never typed in.
    quantity_delivered = models.PositiveIntegerField(default=0, editable=False)

    history = HistoricalRecords(excluded_fields=["quantity_delivered"])

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0),
                name="pledgeitem_quantity_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}" if self.quantity else self.name


class Citation(models.Model):
    """Where a figure was reported: what a source says of itself. With an address (``url``)
    or, for a print article, a feed item or a briefing, without one: then its publisher, title
    and date say what it is. See docs/contributing-data.md#sources."""

    url = models.URLField(
        "URL",
        max_length=1000,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The address, only if the source has one: never reconstructed.",
    )
    publisher = models.CharField(max_length=200)
    title = models.CharField(max_length=300, blank=True, help_text="Required without a URL.")
    published_on = models.DateField(null=True, blank=True, help_text="Required without a URL.")
    kind = models.CharField(
        max_length=10,
        choices=SourceKind.choices,
        default=SourceKind.OTHER,
        help_text="official: the donor's own statement; media; other.",
    )
    archived_url = models.URLField(
        "archived URL",
        max_length=1000,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="A snapshot of the page (e.g. in a web archive).",
    )
    accessed_on = models.DateField(
        null=True, blank=True, help_text="When the editors read the source."
    )

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.publisher}: {self.title or self.url}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        today = timezone.localdate()
        if self.published_on and self.published_on > today:
            errors["published_on"] = "A source cannot be published in the future."
        if self.accessed_on and self.accessed_on > today:
            errors["accessed_on"] = "A source cannot be read in the future."
        elif self.accessed_on and self.published_on and self.accessed_on < self.published_on:
            errors["accessed_on"] = "A source cannot be read before it was published."
        if not self.url:
            # No address: the citation itself must say what the source is.
            if not self.title:
                errors["title"] = "A source without a URL needs its title."
            if not self.published_on and "published_on" not in errors:
                errors["published_on"] = "A source without a URL needs its publication date."
        if errors:
            raise ValidationError(errors)


def citation_constraints(prefix: str) -> list[models.BaseConstraint]:
    """The database's half of ``Citation.clean``, named after each table."""
    return [
        models.CheckConstraint(
            condition=~Q(url="") | (~Q(title="") & Q(published_on__isnull=False)),
            name=f"{prefix}_url_or_citation",
        ),
        models.CheckConstraint(condition=~Q(publisher=""), name=f"{prefix}_publisher_required"),
        models.CheckConstraint(
            condition=_in_choices("kind", SourceKind), name=f"{prefix}_kind_valid"
        ),
        models.CheckConstraint(
            condition=Q(accessed_on__isnull=True)
            | Q(published_on__isnull=True)
            | Q(accessed_on__gte=F("published_on")),
            name=f"{prefix}_accessed_after_published",
        ),
    ]


class Source(Citation):
    """A source of a pledge."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="sources")

    history = HistoricalRecords()

    class Meta(Citation.Meta):
        constraints = citation_constraints("source")


class Fulfilment(models.Model):
    """A dated record of what was done with (part of) a pledge: allocated or delivered
    (docs/methodology.md#allocated-and-delivered). Its amount is in the pledge's currency and
    converts at the pledge's own rate; its quantities are of the pledge's items."""

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="fulfilments")
    kind = models.CharField(max_length=10, choices=FulfilmentKind.choices)
    date = models.DateField(help_text="Not before the pledge's announcement, not in the future.")
    amount = models.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_AMOUNT)],
        help_text="In the pledge's currency; empty for quantities only.",
    )
    note = models.TextField(blank=True)
    # Derived (``lifecycle``): the pledge's records of this kind up to this one (by date, then
    # id) added up, and what this one adds in euro cents at the pledge's rate, so that a
    # pledge's records add up to its converted total to the cent.
    cumulative_amount = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
        editable=False,
    )
    eur_cents = models.BigIntegerField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["version", "updated_at", "cumulative_amount", "eur_cents"]
    )
    objects = PreloadingQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["pledge", "kind", "date"], name="fulfilment_pledge_idx"),
            models.Index(fields=["date"], name="fulfilment_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="fulfilment_amount_positive",
            ),
            models.CheckConstraint(
                condition=_in_choices("kind", FulfilmentKind), name="fulfilment_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().split(' ')[0]} on {self.date}: {self.pledge_id}"


class FulfilmentItem(models.Model):
    """How many of one of the pledge's items a record delivered or allocated."""

    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(PledgeItem, on_delete=models.PROTECT, related_name="fulfilled")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["fulfilment", "item"], name="fulfilmentitem_once"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfilmentitem_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item_id}"


class FulfilmentSource(Citation):
    """A source of a fulfilment record."""

    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="sources")

    history = HistoricalRecords()

    class Meta(Citation.Meta):
        constraints = citation_constraints("fulfilmentsource")


class ExchangeRateQuerySet(models.QuerySet):
    """Rate look-ups (a ``conversion.RateSource``) and the storing of ECB rates."""

    def rate_for(self, currency: str, on_date: dt.date) -> conversion.Rate | None:
        """The stored rate that conversion uses for ``currency`` on ``on_date``, if any."""
        code = normalise_code(currency)
        if code == conversion.EURO:
            return conversion.Rate(conversion.EURO, on_date, on_date, Decimal(1))
        found = (
            self.filter(
                currency=code,
                date__lte=on_date,
                date__gte=conversion.oldest_usable_rate_date(on_date),
            )
            .order_by("-date")
            .values_list("date", "rate")
            .first()
        )
        if found is None:
            return None
        return conversion.Rate(code, on_date, found[0], found[1])

    def table(self) -> conversion.RateTable:
        """The stored rates in memory, to convert many values with one query per currency."""
        return conversion.RateTable(
            lambda code: self.filter(currency=code).order_by().values_list("date", "rate")
        )

    def store(self, triples: Iterable[tuple[dt.date, str, Decimal]], batch_size: int = 5000) -> int:
        """Insert or update (date, currency, rate) triples; returns how many were written."""
        rows = [self.model(date=date, currency=code, rate=rate) for date, code, rate in triples]
        self.bulk_create(
            rows,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=["currency", "date"],
            update_fields=["rate"],
        )
        return len(rows)


class ExchangeRate(models.Model):
    currency = models.CharField(max_length=3)
    date = models.DateField()
    rate = models.DecimalField(
        max_digits=18, decimal_places=6, help_text="Units of the currency per 1 EUR."
    )

    objects = ExchangeRateQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="exchangerate_unique_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} on {self.date}"


class DataChange(models.Model):
    """Written by database triggers only (see ``pledges.dataversion``): the data version is
    read from these rows."""

    weight = models.BigIntegerField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"data change {self.pk}"
