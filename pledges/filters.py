"""The pledge filters (docs/data-dictionary.md#filters; django-filter filtersets), shared by
the pledge list, the reports and the exports of the API and by the commands, and the filters of
the fulfilment records: in the domain, as NetBox keeps ``filtersets.py`` at app level, so that
the command line does not import the HTTP layer."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Q

from . import search
from .choices import Confidence, Delivery, FulfilmentKind, PledgeStatus
from .codes import normalise_code
from .models import (
    Category,
    Donor,
    Event,
    Fulfilment,
    Pledge,
    validate_country_code,
    validate_currency_code,
)


class CodeField(forms.CharField):
    """An ISO code in any letter case, cleaned to upper case and checked by the model's own
    validator (whose message takes the value as a parameter, never as part of its text)."""

    def __init__(self, *args, validator, **kwargs):
        self.code_validator = validator
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = normalise_code(super().clean(value))
        if value:
            self.code_validator(value)
        return value


class CurrencyCodeFilter(django_filters.CharFilter):
    field_class = CodeField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "currency")
        super().__init__(*args, validator=validate_currency_code, **kwargs)


class CountryCodeFilter(django_filters.CharFilter):
    field_class = CodeField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validator=validate_country_code, **kwargs)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Values that cannot be ids are refused before they reach the database (SQLite cannot
    even bind an integer beyond 64 bits)."""

    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value:
                if not is_id(pk):
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super()._check_values(value)


class IdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


def is_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 18


class IdOrSlugMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Each value an id or a ``to_field_name`` (a slug): writes give a category by id, readers
    know it by its slug. A value that is neither is refused, named."""

    def _check_values(self, value):
        values = [str(item) for item in value]
        chosen = list(
            self.queryset.filter(
                Q(pk__in=[item for item in values if is_id(item)])
                | Q(**{f"{self.to_field_name}__in": values})
            )
        )
        known = {str(obj.pk) for obj in chosen} | {
            getattr(obj, self.to_field_name) for obj in chosen
        }
        for item in values:
            if item not in known:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return chosen


class IdOrSlugMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Chosen by id or ``to_field_name`` (a slug) and filtered on the objects themselves: by
    default django-filter would compare the foreign key with the slug."""

    field_class = IdOrSlugMultipleChoiceField

    def get_filter_predicate(self, v):
        return {self.field_name: v}


ORDERING_FIELDS = {"announced_on", "value_eur", "donor__name"}


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Pledges without a value sort last, whichever the direction."""

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = []
        for term in value:
            descending = term.startswith("-")
            expression = F(term.lstrip("-"))
            ordering.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
        return qs.order_by(*ordering, "-id" if value[0].startswith("-") else "id")


class FormOnceFilterSet(django_filters.FilterSet):
    """A filterset whose form class is made once per class. django-filter makes it again for
    every filterset, building each filter's form field and label: 1.4 ms of every list and
    report request with the pledges' filters. The fields follow from the filters' declarations
    alone (no choice or queryset here depends on the request, and the site speaks one
    language); each form still gets its own copy of them, as every Django form does."""

    def get_form_class(self):
        form_class = _FORM_CLASSES.get(type(self))
        if form_class is None:
            form_class = _FORM_CLASSES[type(self)] = super().get_form_class()
        return form_class


_FORM_CLASSES: dict[type, type] = {}


class PledgeFilter(FormOnceFilterSet):
    # distinct=False: a pledge has one donor, category and status, so no row can repeat, and
    # SELECT DISTINCT over every column is costly on a large table.
    donor = IdMultipleChoiceFilter(
        queryset=Donor.objects.all(), distinct=False, help_text="Donor id; repeat for several."
    )
    category = IdOrSlugMultipleChoiceFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        distinct=False,
        help_text="Category id or slug; repeat for several.",
    )
    event = django_filters.ModelChoiceFilter(queryset=Event.objects.all(), help_text="Event id.")
    status = django_filters.MultipleChoiceFilter(
        choices=PledgeStatus.choices, distinct=False, help_text="Status; repeat for several."
    )
    confidence = django_filters.MultipleChoiceFilter(
        choices=Confidence.choices, distinct=False, help_text="Confidence; repeat for several."
    )
    delivery = django_filters.MultipleChoiceFilter(
        choices=Delivery.choices,
        distinct=False,
        help_text="How much of the pledge its records say was delivered (none, partial, full; "
        "a pledge marked delivered without records is full); repeat for several.",
    )
    reannouncement = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_reannouncement",
        help_text="true: only re-announcements of earlier pledges; false: only new pledges.",
    )
    currency = CurrencyCodeFilter(help_text="Currency of the pledge (ISO 4217, any case).")
    recipient = CountryCodeFilter(help_text="Recipient country (ISO 3166-1 alpha-2).")
    date_from = django_filters.DateFilter(
        field_name="announced_on", lookup_expr="gte", help_text="Announced on or after (ISO date)."
    )
    date_to = django_filters.DateFilter(
        field_name="announced_on", lookup_expr="lte", help_text="Announced on or before (ISO date)."
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words in the title, the description or item names."
    )
    ordering = NullsLastOrderingFilter(
        fields=sorted(ORDERING_FIELDS),
        help_text="announced_on, value_eur or donor__name; prefix - for descending.",
    )

    class Meta:
        model = Pledge
        fields: list[str] = []

    def filter_reannouncement(self, queryset, name, value):
        return queryset.filter(reannounces__isnull=value == "false")

    def filter_search(self, queryset, name, value):
        return search.matching(queryset, value)


class ReportPledgeFilter(PledgeFilter):
    """On reports ``currency`` is the target currency: the pledges' own is ``pledge_currency``."""

    currency = None
    ordering = None
    pledge_currency = CurrencyCodeFilter(help_text="Currency of the pledges (ISO 4217, any case).")


class FulfilmentFilter(FormOnceFilterSet):
    """The filters of the fulfilment record list (docs/data-dictionary.md#filters)."""

    pledge = IdMultipleChoiceFilter(
        queryset=Pledge.objects.all(), distinct=False, help_text="Pledge id; repeat for several."
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=FulfilmentKind.choices,
        distinct=False,
        help_text="allocated or delivered; repeat for both.",
    )
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", help_text="Dated on or after (ISO date)."
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", help_text="Dated on or before (ISO date)."
    )

    class Meta:
        model = Fulfilment
        fields: list[str] = []
