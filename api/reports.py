"""``GET /api/v1/reports/totals/`` (docs/methodology.md#reports): HTTP around
``pledges.reports``."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from pledges import reports, selectors
from pledges.filters import ReportPledgeFilter
from pledges.models import Pledge

from .caching import cached_answer
from .schema import LIST_ERRORS
from .throttling import ReportThrottle


class ReportCSVRenderer(BaseRenderer):
    """A report as CSV: one column per key (names, not ids), then the figures; cells that a
    spreadsheet would run as formulas are neutralised."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return reports.csv_text(data).encode(self.charset)


FIGURE_FIELDS = {
    "total": serializers.DecimalField(max_digits=21, decimal_places=2),
    "pledges": serializers.IntegerField(),
    "unvalued": serializers.IntegerField(),
    "unconverted": serializers.IntegerField(),
    "reannounced": serializers.IntegerField(
        help_text="Re-announcements of earlier pledges: counted in pledges, never in total."
    ),
}

REPORT_SCHEMA = inline_serializer(
    "ReportTotals",
    {
        "currency": serializers.CharField(),
        "group_by": serializers.ListField(child=serializers.ChoiceField(reports.KEYS)),
        "allocation": serializers.ChoiceField(reports.ALLOCATIONS),
        "rows": serializers.ListField(
            child=inline_serializer(
                "ReportRow",
                {
                    **FIGURE_FIELDS,
                    **{
                        key: serializers.JSONField(
                            required=False,
                            help_text="Present for each key of group_by: an object for donor, "
                            "category and event (null outside any event), a string for "
                            "status, confidence, recipient, currency, quarter (2025-Q2) and month "
                            "(2025-06), an integer for year.",
                        )
                        for key in reports.KEYS
                    },
                },
            )
        ),
        **FIGURE_FIELDS,
    },
)

GROUP_BY_KEY = "(?:" + "|".join(reports.KEYS) + ")"

REPORT_PARAMETERS = [
    OpenApiParameter(
        "group_by",
        {"type": "string", "pattern": f"^(?:{GROUP_BY_KEY}(?:,{GROUP_BY_KEY})?)?$"},
        description="One or two of " + ", ".join(reports.KEYS) + ", comma-separated; none "
        "gives the overall figures with empty rows.",
    ),
    OpenApiParameter(
        "currency", OpenApiTypes.STR, description="Target currency (ISO 4217), default EUR."
    ),
    OpenApiParameter(
        "allocation",
        OpenApiTypes.STR,
        enum=list(reports.ALLOCATIONS),
        description="period spreads per-year pledges over the years of their period "
        "(only with year in group_by).",
    ),
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=list(reports.FORMATS), description="json or csv."
    ),
]


@extend_schema(
    # The filters are documented by drf-spectacular from the filterset (filters=True).
    filters=True,
    parameters=REPORT_PARAMETERS,
    responses={
        200: OpenApiResponse(REPORT_SCHEMA, description="JSON, or CSV with format=csv."),
        **LIST_ERRORS,
    },
)
class ReportTotalsView(APIView):
    """Totals by up to two keys, converted into one currency, without double counting."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, ReportCSVRenderer]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, ReportThrottle]
    # For the schema only: ``selectors.pledge_report`` applies the filterset itself.
    queryset = Pledge.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReportPledgeFilter
    # drf-spectacular's, whatever DEFAULT_SCHEMA_CLASS says; extend_schema above builds on it.
    schema = AutoSchema()

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is a report parameter: an unknown one is answered by a 400 naming it
        # (with the other bad parameters), not by DRF's 404.
        # Only a report (GET) is ever CSV: OPTIONS describes the view in JSON.
        if request.method not in ("GET", "HEAD") or request.query_params.get("format") not in (
            None,
            *reports.FORMATS,
        ):
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors are JSON, even when CSV was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def get(self, request):
        response = cached_answer(request, lambda: self.answer(request))
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = 'attachment; filename="pledge-totals.csv"'
        return response

    def answer(self, request):
        try:
            report, _ = selectors.pledge_report(request.query_params, request=request)
        except selectors.ParameterError as error:
            raise ValidationError(error.errors) from error
        return Response(reports.report_data(report))
