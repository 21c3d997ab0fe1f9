"""HTTP only: each view picks its queryset, serializer, filters and permission; the rules live
in ``pledges``."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from pledges import pledge_count
from pledges.codes import normalise_code
from pledges.filters import CurrencyCodeFilter, FulfilmentFilter, PledgeFilter
from pledges.fulfilments import delete_fulfilment
from pledges.history import fulfilment_history, pledge_history
from pledges.models import (
    Category,
    Donor,
    Event,
    ExchangeRate,
    Fulfilment,
    Pledge,
    validate_currency_code,
)
from pledges.services import delete_pledge

from .caching import CachedListMixin, cached_answer
from .exceptions import PreconditionFailed, PreconditionRequired
from .guards import QueryGuardMixin
from .permissions import FulfilmentPermission, PledgePermission, may_see_editors
from .schema import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS, errors, paginated
from .serializers import (
    CategorySerializer,
    DonorSerializer,
    EventSerializer,
    ExchangeRateSerializer,
    FulfilmentSerializer,
    HistoryEntrySerializer,
    PledgeSerializer,
    RateLookupSerializer,
)

ID_PATTERN = r"[0-9]+"


def crud_schema(resource: str, serializer):
    """Documented answers of a model resource, errors included."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {resource}", responses={200: serializer(many=True), **LIST_ERRORS}
        ),
        retrieve=extend_schema(
            summary=f"One of the {resource}", responses={200: serializer, **READ_ERRORS}
        ),
        create=extend_schema(
            summary=f"Add to {resource}", responses={201: serializer, **WRITE_ERRORS}
        ),
        update=extend_schema(
            summary=f"Replace one of the {resource}",
            responses={200: serializer, **WRITE_ERRORS, **errors(404)},
        ),
        partial_update=extend_schema(
            summary=f"Change one of the {resource}",
            responses={200: serializer, **WRITE_ERRORS, **errors(404)},
        ),
        destroy=extend_schema(
            summary=f"Delete one of the {resource} (not while pledges refer to it)",
            responses={204: None, **errors(401, 403, 404, 409, 429)},
        ),
    )


@crud_schema("donors", DonorSerializer)
class DonorViewSet(QueryGuardMixin, CachedListMixin, viewsets.ModelViewSet):
    queryset = Donor.objects.all()
    serializer_class = DonorSerializer
    lookup_value_regex = ID_PATTERN


@crud_schema("categories", CategorySerializer)
class CategoryViewSet(QueryGuardMixin, CachedListMixin, viewsets.ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    lookup_value_regex = ID_PATTERN


@crud_schema("events", EventSerializer)
class EventViewSet(QueryGuardMixin, CachedListMixin, viewsets.ModelViewSet):
    queryset = Event.objects.all()
    serializer_class = EventSerializer
    lookup_value_regex = ID_PATTERN


def etag_for(version: int) -> str:
    """Strong ETag of a pledge or a record: its version, which every write increments."""
    return f'"{version}"'


def if_match_holds(header: str, etag: str) -> bool:
    """RFC 9110 If-Match, except that a W/ prefix is ignored: compression may add one."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def if_match(resource: str, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(
        "If-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=required,
        description=f"The ETag read before; when the {resource} has changed since, the answer "
        "is 412 and nothing changes. A W/ prefix is ignored."
        + (" Required: without it the answer is 428." if required else ""),
    )


def etag(resource: str) -> OpenApiParameter:
    return OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=f"Strong ETag of the {resource} (its version), to send back as If-Match.",
        response=[200, 201],
    )


IF_MATCH, ETAG = if_match("pledge"), etag("pledge")


class VersionedMixin:
    """A resource with a version (pledges, records): a write locks the row, checks If-Match
    against its version (``if_match_required``: 428 without one), and answers its ETag."""

    if_match_required = False

    def lock_before(self, pk: str) -> None:
        """Rows to lock before the written one (always in the same order: no deadlock)."""

    def get_object(self):
        if self.request.method in permissions.SAFE_METHODS:
            return super().get_object()
        # Locked until the end of the request's transaction, so the If-Match check and the
        # write cannot interleave with another writer.
        self.lock_before(self.kwargs["pk"])
        model = self.get_queryset().model
        obj = get_object_or_404(model.objects.select_for_update(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        header = self.request.headers.get("If-Match")
        if header is None:
            if self.if_match_required:
                raise PreconditionRequired
        elif not if_match_holds(header, etag_for(obj.version)):
            raise PreconditionFailed
        return obj

    def perform_create(self, serializer):
        serializer.save()
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer):
        self.perform_create(serializer)

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            self.action in {"retrieve", "create", "update", "partial_update"}
            and response.status_code in (200, 201)
            and isinstance(response.data, dict)
            and "version" in response.data
        ):
            response["ETag"] = etag_for(response.data["version"])
        return super().finalize_response(request, response, *args, **kwargs)

    def history_answer(self, request, versions: list, missing: str):
        if not versions:
            raise NotFound(missing)
        if not may_see_editors(request.user):
            versions = [{**version, "user": None} for version in versions]
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)


HISTORY_DESCRIPTION = (
    "Date, type (created, changed, deleted), the reason when a rule wrote the version, and the "
    "changed fields with old and new values. Still answers after it is deleted. Who made each "
    "change (`user`) is shown only to signed-in users with permission to view pledges; for "
    "everyone else it is null."
)


@extend_schema_view(
    list=extend_schema(
        summary="List pledges", responses={200: PledgeSerializer(many=True), **LIST_ERRORS}
    ),
    retrieve=extend_schema(
        summary="One pledge", parameters=[ETAG], responses={200: PledgeSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Add a pledge with its items and sources",
        parameters=[ETAG],
        responses={201: PledgeSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a pledge, its items and its sources",
        parameters=[IF_MATCH, ETAG],
        responses={200: PledgeSerializer, **WRITE_ERRORS, **errors(404, 412)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a pledge (reviewers: status only)",
        parameters=[IF_MATCH, ETAG],
        responses={200: PledgeSerializer, **WRITE_ERRORS, **errors(404, 412)},
    ),
    destroy=extend_schema(
        summary="Delete a pledge with its records (not a package that still has components)",
        parameters=[IF_MATCH],
        responses={204: None, **errors(401, 403, 404, 409, 412, 429)},
    ),
)
class PledgeViewSet(QueryGuardMixin, CachedListMixin, VersionedMixin, viewsets.ModelViewSet):
    """Pledges with their items and sources, filtered, ordered and paged."""

    queryset = Pledge.objects.with_related()
    serializer_class = PledgeSerializer
    filterset_class = PledgeFilter
    permission_classes = [PledgePermission]
    lookup_value_regex = ID_PATTERN
    known_count = staticmethod(pledge_count.known)

    def perform_destroy(self, instance):
        delete_pledge(instance)

    @extend_schema(
        summary="Every version of a pledge, newest first",
        description=HISTORY_DESCRIPTION,
        responses={200: HistoryEntrySerializer(many=True), **LIST_ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        missing = "No pledge with this id has ever existed."
        return self.history_answer(request, pledge_history(int(pk)), missing)


RECORD_IF_MATCH, RECORD_ETAG = if_match("record", required=True), etag("record")
RECORD_WRITE_ERRORS = {**WRITE_ERRORS, **errors(404, 412, 428)}


@extend_schema_view(
    list=extend_schema(
        summary="List allocation and delivery records",
        responses={200: FulfilmentSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One allocation or delivery record",
        parameters=[RECORD_ETAG],
        responses={200: FulfilmentSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Record an allocation or a delivery of a pledge, with its items and sources",
        parameters=[RECORD_ETAG],
        responses={201: FulfilmentSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a record, its items and its sources",
        parameters=[RECORD_IF_MATCH, RECORD_ETAG],
        responses={200: FulfilmentSerializer, **RECORD_WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a record",
        parameters=[RECORD_IF_MATCH, RECORD_ETAG],
        responses={200: FulfilmentSerializer, **RECORD_WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a record",
        parameters=[RECORD_IF_MATCH],
        responses={204: None, **errors(401, 403, 404, 412, 428, 429)},
    ),
)
class FulfilmentViewSet(QueryGuardMixin, CachedListMixin, VersionedMixin, viewsets.ModelViewSet):
    """Dated allocation and delivery records of pledges (docs/methodology.md), filtered and
    paged; writing one changes what its pledge shows (and its ETag)."""

    queryset = Fulfilment.objects.preloaded()
    serializer_class = FulfilmentSerializer
    filterset_class = FulfilmentFilter
    permission_classes = [FulfilmentPermission]
    lookup_value_regex = ID_PATTERN
    if_match_required = True

    def lock_before(self, pk: str) -> None:
        # The record's pledge first, as every write of a pledge locks it first.
        pledge_id = Fulfilment.objects.filter(pk=pk).values_list("pledge_id", flat=True).first()
        if pledge_id is not None:
            Pledge.objects.select_for_update().filter(pk=pledge_id).first()

    def perform_destroy(self, instance):
        delete_fulfilment(instance)

    @extend_schema(
        summary="Every version of a record, newest first",
        description=HISTORY_DESCRIPTION,
        responses={200: HistoryEntrySerializer(many=True), **LIST_ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        missing = "No record with this id has ever existed."
        return self.history_answer(request, fulfilment_history(int(pk)), missing)


class ExchangeRateFilter(filters.FilterSet):
    currency = CurrencyCodeFilter(help_text="Currency (ISO 4217, any case).")
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte", help_text="On or after.")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte", help_text="On or before.")

    class Meta:
        model = ExchangeRate
        fields: list[str] = []


class RateQuerySerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3)
    date = serializers.DateField()

    def validate_currency(self, value):
        code = normalise_code(value)
        validate_currency_code(code)
        return code


@extend_schema_view(
    list=extend_schema(
        summary="ECB euro reference rates, or the one rate conversion uses on a date",
        description="Without `date`: the stored rates (units of currency per 1 EUR), newest "
        "first, paginated and filtered. With `currency` and `date`: the rate a pledge announced "
        f"that day is converted at: that day's, or the latest in the "
        f"{settings.EXCHANGE_RATE_MAX_AGE_DAYS} days before it; 404 when there is none.",
        parameters=[
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                description="Answer the single rate used on this date (needs `currency`).",
            )
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ExchangeRateListOrLookup",
                serializers=[paginated(ExchangeRateSerializer), RateLookupSerializer],
                resource_type_field_name=None,
                many=False,  # a page object or a single rate: not wrapped in another page
            ),
            **LIST_ERRORS,
        },
    )
)
class ExchangeRateViewSet(QueryGuardMixin, viewsets.GenericViewSet):
    queryset = ExchangeRate.objects.all()
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter

    def list(self, request):
        return cached_answer(request, lambda: self.answer(request))

    def answer(self, request):
        if "date" in request.query_params:
            return self.lookup(request)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def lookup(self, request):
        query = RateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        code, on_date = query.validated_data["currency"], query.validated_data["date"]
        rate = ExchangeRate.objects.rate_for(code, on_date)
        if rate is None:
            raise NotFound(
                f"No ECB rate for {code} on {on_date.isoformat()} or in the "
                f"{settings.EXCHANGE_RATE_MAX_AGE_DAYS} days before it."
            )
        return Response(RateLookupSerializer(rate).data)
