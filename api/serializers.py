"""Representation of pledges, their fulfilment records and their reference data
(docs/data-dictionary.md#api): brief nested objects on read, ids on write, money as strings."""

from copy import copy
from decimal import Decimal
from functools import cache, cached_property

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

from pledges.codes import normalise_code
from pledges.fulfilments import write_fulfilment
from pledges.models import (
    BOOKKEEPING_FIELDS,
    DERIVED_FIELDS,
    LIFECYCLE_FIELDS,
    PLEDGE_BRIEF_FIELDS,
    PRELOADED,
    SOURCE_FIELDS,
    Category,
    Donor,
    Event,
    ExchangeRate,
    Fulfilment,
    FulfilmentItem,
    FulfilmentSource,
    Pledge,
    PledgeItem,
    Source,
)
from pledges.services import write_pledge
from pledges.value_notes import has_rates, value_eur_note

from .exceptions import validation_detail


class SiteTimeZoneDateTimeField(serializers.DateTimeField):
    """A date and time answered in the site's time zone (``TIME_ZONE``, UTC), as DRF does when
    none is activated, which nothing here does: named once, it is not looked up again for each
    value (two thirds of the time of answering one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", timezone.get_default_timezone())
        super().__init__(**kwargs)


class StoredDecimalField(serializers.DecimalField):
    """A decimal answered as DRF answers it, at once when it already has the field's places
    and fits its digits, as one read from the database has (DRF quantizes each value again: a
    third of the time of answering the amounts of a page)."""

    def to_representation(self, value):
        if (
            type(value) is Decimal
            and self.coerce_to_string_at_once
            and (parts := value.as_tuple()).exponent == -self.decimal_places
            and (self.max_digits is None or len(parts.digits) <= self.max_digits)
        ):
            return f"{value:f}"
        return super().to_representation(value)

    @cached_property
    def coerce_to_string_at_once(self) -> bool:
        """Whether DRF answers this field's quantized value as it is formatted with ``f``."""
        coerce = getattr(self, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        return (
            bool(coerce)
            and not self.localize
            and not self.normalize_output
            and (self.decimal_places is not None)
        )


class PlainReads:
    """A model serializer that reads its model's own fields with a plain ``getattr``, and the
    related lists a page loaded at once (``PRELOADED``) from where they were put: DRF's general
    look-up (callables, dotted sources, defaults, a manager a row) cost a page of 100 pledges
    more than its queries. A text, a whole number or a yes/no read from the database is already
    its own representation, and is answered as it is (``_OWN_REPRESENTATION``). Every other
    field is read the usual way; what each field answers is the same.

    How each field is read is planned once per class, on a prototype (``_read_plan``): making a
    serializer's fields cost as much again as reading a page. A field answers from its own
    settings alone, so the prototype's fields serve every request; a method field is called on
    the live serializer, which may keep what it looked up for its request."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: SiteTimeZoneDateTimeField,
        models.DecimalField: StoredDecimalField,
    }

    def to_representation(self, instance):
        row = {}
        for name, attribute, field, kind in _read_plan(type(self)):
            if kind is _METHOD:
                row[name] = getattr(self, attribute)(instance)
                continue
            if attribute is None or (value := getattr(instance, attribute, _MISSING)) is _MISSING:
                # Not a model field, or a list not preloaded: read the usual way.
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
            elif kind is _PK_ONLY and value is not None:
                value = PKOnlyObject(pk=value)
            elif type(value) is kind:  # already its own representation
                row[name] = value
                continue
            row[name] = None if value is None else field.to_representation(value)
        return row


_MISSING, _METHOD, _PK_ONLY = object(), object(), object()
# The fields whose representation of a value of this type is the value itself (DRF's str(),
# int(), or a look-up that answers the value): read from the database, most values are.
_OWN_REPRESENTATION = {
    serializers.CharField: str,
    serializers.URLField: str,
    serializers.ChoiceField: str,
    serializers.IntegerField: int,
    serializers.BigIntegerField: int,
    serializers.BooleanField: bool,
}


def _own_representation(field: serializers.Field) -> type | None:
    """The type of value that ``field`` answers as it is, if any."""
    if isinstance(field, serializers.BigIntegerField) and getattr(
        field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
    ):
        return None  # answered as a string
    return _OWN_REPRESENTATION.get(type(field))


_READ_PLANS: dict[type, list] = {}


def _read_plan(serializer_class: type) -> list:
    """(name, attribute, field, kind) for each field ``serializer_class`` answers with."""
    if (plan := _READ_PLANS.get(serializer_class)) is not None:
        return plan
    prototype = serializer_class()
    model_fields = {field.name: field for field in prototype.Meta.model._meta.concrete_fields}
    plan = []
    for field in prototype._readable_fields:
        if isinstance(field, serializers.HyperlinkedRelatedField | serializers.FileField):
            # It answers from the request, which the prototype (every request's) has not.
            raise TypeError(f"{serializer_class.__name__}.{field.field_name} needs the request")
        attribute, kind = None, None
        if isinstance(field, serializers.SerializerMethodField):
            attribute, kind = field.method_name, _METHOD
        elif field.source in model_fields:
            attribute, kind = field.source, _own_representation(field)
            # A foreign key answered as its id is read from its column: no query a row.
            if isinstance(field, serializers.PrimaryKeyRelatedField) and (
                field.use_pk_only_optimization()
            ):
                attribute, kind = model_fields[field.source].attname, _PK_ONLY
        elif field.source in PRELOADED and isinstance(field, serializers.ListSerializer):
            attribute = PRELOADED[field.source]
        plan.append((field.field_name, attribute, field, kind))
    _READ_PLANS[serializer_class] = plan
    return plan


class ModelCleanSerializer(serializers.ModelSerializer):
    """DRF does not call ``full_clean()``: the model's own rules hold here as in the admin."""

    def validate(self, attrs):
        instance = copy(self.instance) if self.instance else self.Meta.model()
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(validation_detail(error)) from error
        # clean() may normalise values, e.g. codes to upper case.
        return {name: getattr(instance, name) for name in attrs}


# --- brief forms, nested on read ---------------------------------------------------------


class DonorBriefSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = Donor
        fields = ["id", "name", "iso2"]


class CategoryBriefSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name"]


class EventBriefSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "name", "date"]


class PledgeBriefSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = Pledge
        fields = list(PLEDGE_BRIEF_FIELDS)


class NestedOnReadField(serializers.PrimaryKeyRelatedField):
    """Written as an id, read as the brief nested object (NetBox's nested serializers).

    An unknown id is a 400 naming the field. The schema shows both forms (see api/schema.py).
    """

    def __init__(self, brief_serializer, **kwargs):
        self.brief_serializer = brief_serializer
        # A whole number: without this, 3.5 would be truncated to 3 by the look-up.
        kwargs.setdefault("pk_field", serializers.IntegerField())
        super().__init__(**kwargs)

    def use_pk_only_optimization(self):
        return False

    @cached_property
    def brief(self) -> serializers.Serializer:
        # One brief serializer per field (the read plans' prototype field: one per class).
        return self.brief_serializer(context=self.context)

    def to_representation(self, value):
        return self.brief.to_representation(value)


# --- reference data ----------------------------------------------------------------------


class DonorSerializer(ModelCleanSerializer):
    class Meta:
        model = Donor
        fields = ["id", "name", "kind", "iso2"]


class CategorySerializer(ModelCleanSerializer):
    class Meta:
        model = Category
        fields = ["id", "slug", "name", "description"]


class EventSerializer(ModelCleanSerializer):
    class Meta:
        model = Event
        fields = ["id", "name", "kind", "date", "location"]


# --- pledges -----------------------------------------------------------------------------


# Ids as the database holds them: a larger number is refused before it reaches a query.
MAX_ID = 2**63 - 1


class PledgeItemSerializer(PlainReads, serializers.ModelSerializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Give a stored item's id to keep it (changed in place: records refer to it); "
        "an item without one is new, and a stored item left out is removed (not while "
        "records refer to it).",
    )

    class Meta:
        model = PledgeItem
        fields = ["id", "name", "quantity", "quantity_delivered"]
        extra_kwargs = {
            "quantity_delivered": {"help_text": "Delivered so far, by the delivery records."}
        }


class SourceSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", *SOURCE_FIELDS]


class PledgeSerializer(PlainReads, serializers.ModelSerializer):
    """A pledge with its items and sources, written together through ``write_pledge``.

    PUT replaces items and sources (omitted items means none); PATCH leaves them as they are
    unless given. Everything ``write_pledge`` refuses comes back as a 400 with the same names.
    """

    donor = NestedOnReadField(DonorBriefSerializer, queryset=Donor.objects.all())
    category = NestedOnReadField(CategoryBriefSerializer, queryset=Category.objects.all())
    event = NestedOnReadField(
        EventBriefSerializer, queryset=Event.objects.all(), allow_null=True, required=False
    )
    parent = NestedOnReadField(
        PledgeBriefSerializer,
        queryset=Pledge.objects.all(),
        allow_null=True,
        required=False,
        help_text="The package this pledge is a component of (one level only).",
    )
    reannounces = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.all(),
        pk_field=serializers.IntegerField(),  # 3.5 is refused, not truncated to 3
        allow_null=True,
        required=False,
        help_text="Id of the earlier pledge of the same donor that this one announces again "
        "(on or before its date); null for new money. Reports count a re-announcement in "
        "reannounced, never in total.",
    )
    currency = serializers.CharField(
        max_length=3,
        allow_blank=True,
        allow_null=True,
        required=False,
        help_text="ISO 4217 code in any letter case, answered in upper case; required with an "
        "amount.",
    )
    items = PledgeItemSerializer(many=True, required=False)
    sources = SourceSerializer(many=True, help_text="At least one.")
    value_eur_note = serializers.SerializerMethodField(
        help_text="Why value_eur is null: no amount stated, a currency the ECB publishes no "
        "rate for (e.g. UAH), or no ECB rate on the announcement day or in the 7 days before "
        "it. Null when value_eur is given."
    )

    class Meta:
        model = Pledge
        fields = [
            "id",
            "donor",
            "category",
            "event",
            "recipient",
            "announced_on",
            "title",
            "description",
            "status",
            "confidence",
            "amount",
            "currency",
            "amount_basis",
            "period_start_year",
            "period_end_year",
            "parent",
            "reannounces",
            "external_ref",
            "total_amount",
            "value_eur",
            "value_eur_note",
            "rate_date",
            "allocated_amount",
            "delivered_amount",
            "delivery",
            "undated",
            "version",
            "created_at",
            "updated_at",
            "items",
            "sources",
        ]
        read_only_fields = [*DERIVED_FIELDS, *LIFECYCLE_FIELDS, *BOOKKEEPING_FIELDS]
        # Uniqueness of external_ref is checked once, by write_pledge's full_clean().
        extra_kwargs = {
            "external_ref": {"validators": []},
            "delivery": {
                "help_text": "What the delivery records (or, without any, a status of "
                "delivered) say was delivered: none, partial or full."
            },
        }

    def validate_currency(self, value):
        return normalise_code(value)

    @cached_property
    def _rates_known(self):
        # One look-up per currency for a whole page: a list shares this serializer.
        return cache(has_rates)

    def get_value_eur_note(self, pledge) -> str | None:
        return value_eur_note(pledge, self._rates_known)

    def validate_recipient(self, value):
        return normalise_code(value)

    def validate_external_ref(self, value):
        # Unique when given: an empty reference is no reference.
        return value or None

    def _write(self, pledge, validated_data):
        items = validated_data.pop("items", None)
        sources = validated_data.pop("sources", None)
        if not self.partial:
            # POST and PUT give the whole pledge: the lists given replace the old ones.
            items, sources = items or [], sources or []
        try:
            return write_pledge(pledge=pledge, fields=validated_data, items=items, sources=sources)
        except DjangoValidationError as error:
            raise serializers.ValidationError(validation_detail(error)) from error

    def create(self, validated_data):
        return self._write(None, validated_data)

    def update(self, instance, validated_data):
        return self._write(instance, validated_data)


# --- fulfilment records ------------------------------------------------------------------


class FulfilmentItemSerializer(PlainReads, serializers.ModelSerializer):
    item = serializers.IntegerField(
        source="item_id",
        min_value=1,
        max_value=MAX_ID,
        help_text="Id of one of the pledge's items (each once per record).",
    )

    class Meta:
        model = FulfilmentItem
        fields = ["item", "quantity"]


class FulfilmentSourceSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = FulfilmentSource
        fields = ["id", *SOURCE_FIELDS]


class FulfilmentSerializer(PlainReads, serializers.ModelSerializer):
    """A record with its items and sources, written together through ``write_fulfilment``.

    PUT replaces items and sources (omitted items means none); PATCH leaves them as they are
    unless given. Everything ``write_fulfilment`` refuses is a 400 with the same names.
    """

    pledge = serializers.PrimaryKeyRelatedField(
        queryset=Pledge.objects.all(),
        pk_field=serializers.IntegerField(),  # 3.5 is refused, not truncated to 3
        help_text="Id of the pledge this record fulfils (not a re-announcement).",
    )
    items = FulfilmentItemSerializer(many=True, required=False)
    sources = FulfilmentSourceSerializer(many=True, help_text="At least one.")

    class Meta:
        model = Fulfilment
        fields = [
            "id",
            "pledge",
            "kind",
            "date",
            "amount",
            "items",
            "note",
            "sources",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = BOOKKEEPING_FIELDS
        extra_kwargs = {
            "amount": {
                "help_text": "In the pledge's own currency; null for quantities only (and "
                "always for a pledge without an amount)."
            },
            "date": {"help_text": "Not before the pledge's announcement, not in the future."},
        }

    def _write(self, record, validated_data):
        items = validated_data.pop("items", None)
        sources = validated_data.pop("sources", None)
        if not self.partial:
            items, sources = items or [], sources or []
        try:
            return write_fulfilment(
                fulfilment=record, fields=validated_data, items=items, sources=sources
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(validation_detail(error)) from error

    def create(self, validated_data):
        return self._write(None, validated_data)

    def update(self, instance, validated_data):
        return self._write(instance, validated_data)


# --- exchange rates and history ----------------------------------------------------------


class ExchangeRateSerializer(PlainReads, serializers.ModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "date", "rate"]


class RateLookupSerializer(serializers.Serializer):
    """The rate conversion uses for ``currency`` on ``requested_date`` (published on ``date``)."""

    currency = serializers.CharField()
    requested_date = serializers.DateField()
    date = serializers.DateField()
    rate = serializers.DecimalField(max_digits=18, decimal_places=6)


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    history_id = serializers.IntegerField()
    date = serializers.DateTimeField()
    user = serializers.CharField(
        allow_null=True,
        help_text="Username of who made the change: only for signed-in users with permission "
        "to view pledges; null for everyone else, and when unknown.",
    )
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why the version was written, when a rule or an import wrote it (e.g. the "
        "status that fulfilment records decide); null for an editor's own change.",
    )
    changes = HistoryChangeSerializer(
        many=True, help_text="Fields that differ from the previous version, old and new values."
    )
