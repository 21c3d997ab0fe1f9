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
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from pledges.codes import is_currency, normalise_code
from pledges.filters import CurrencyCodeFilter, PledgeFilter
from pledges.history import pledge_history
from pledges.models import Category, Donor, Event, ExchangeRate, Pledge
from pledges.services import delete_pledge

from .caching import CachedListMixin, cached_answer
from .exceptions import PreconditionFailed
from .permissions import PledgePermission
from .schema import READ_ERRORS, WRITE_ERRORS, errors, paginated
from .serializers import (
    CategorySerializer,
    DonorSerializer,
    EventSerializer,
    ExchangeRateSerializer,
    HistoryEntrySerializer,
    PledgeSerializer,
    RateLookupSerializer,
)

ID_PATTERN = r"[0-9]+"


class QueryGuardMixin:
    """A query string is text: a NUL character in it is refused before it reaches the database
    (PostgreSQL cannot hold one)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values) or "\x00" in name:
                raise ValidationError({name: ["Null characters are not allowed."]})


def crud_schema(resource: str, serializer):
    """Documented answers of a model resource, errors included."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {resource}", responses={200: serializer(many=True), **READ_ERRORS}
        ),
        retrieve=extend_schema(
            summary=f"One of the {resource}", responses={200: serializer, **errors(404)}
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
    """Strong ETag of a pledge: its version, which every write increments."""
    return f'"{version}"'


def if_match_holds(header: str, etag: str) -> bool:
    """RFC 9110 If-Match, except that a W/ prefix is ignored: compression may add one."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag read before; when the pledge has changed since, the answer is 412 "
    "and nothing changes. A W/ prefix is ignored.",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Strong ETag of the pledge (its version), to send back as If-Match.",
    response=[200, 201],
)


@extend_schema_view(
    list=extend_schema(
        summary="List pledges", responses={200: PledgeSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="One pledge", parameters=[ETAG], responses={200: PledgeSerializer, **errors(404)}
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
        summary="Delete a pledge (not a package that still has components)",
        parameters=[IF_MATCH],
        responses={204: None, **errors(401, 403, 404, 409, 412, 429)},
    ),
)
class PledgeViewSet(QueryGuardMixin, CachedListMixin, viewsets.ModelViewSet):
    """Pledges with their items and sources, filtered, ordered and paged."""

    queryset = Pledge.objects.with_related()
    serializer_class = PledgeSerializer
    filterset_class = PledgeFilter
    permission_classes = [PledgePermission]
    lookup_value_regex = ID_PATTERN

    def get_object(self):
        if self.request.method in permissions.SAFE_METHODS:
            return super().get_object()
        # Locked until the end of the request's transaction, so the If-Match check and the
        # write cannot interleave with another writer.
        pledge = get_object_or_404(Pledge.objects.select_for_update(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, pledge)
        header = self.request.headers.get("If-Match")
        if header is not None and not if_match_holds(header, etag_for(pledge.version)):
            raise PreconditionFailed
        return pledge

    def perform_create(self, serializer):
        serializer.save()
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer):
        self.perform_create(serializer)

    def perform_destroy(self, instance):
        delete_pledge(instance)

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            self.action in {"retrieve", "create", "update", "partial_update"}
            and response.status_code in (200, 201)
            and isinstance(response.data, dict)
            and "version" in response.data
        ):
            response["ETag"] = etag_for(response.data["version"])
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        summary="Every version of a pledge, newest first",
        description="Date, user, type (created, changed, deleted) and the changed fields with "
        "old and new values. Still answers after the pledge is deleted.",
        responses={200: HistoryEntrySerializer(many=True), **errors(404)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        versions = pledge_history(int(pk))
        if not versions:
            raise NotFound("No pledge with this id has ever existed.")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)


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
        if not is_currency(code):
            raise serializers.ValidationError(f"{code} is not an ISO 4217 currency code.")
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
            **READ_ERRORS,
            **errors(404),
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
