"""``GET /api/v1/reports/totals/`` and ``GET /api/v1/reports/timeline/``
(docs/methodology.md#reports): HTTP around ``pledges.reports`` and ``pledges.timeline``."""

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

from pledges import reports, selectors, timeline
from pledges.filters import ReportPledgeFilter
from pledges.models import Pledge

from .caching import cached_answer
from .guards import QueryGuardMixin
from .schema import LIST_ERRORS
from .throttling import ReportThrottle


class ReportCSVRenderer(BaseRenderer):
    """A report as CSV: one column per key (names, not ids), then the figures; cells that a
    spreadsheet would run as formulas are neutralised."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
    text = staticmethod(reports.csv_text)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return self.text(data).encode(self.charset)


class TimelineCSVRenderer(ReportCSVRenderer):
    """A timeline as CSV: the period, the key by name, then the figures."""

    text = staticmethod(timeline.csv_text)


def money_field(help_text: str = "") -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=21, decimal_places=2, help_text=help_text)


FIGURE_FIELDS = {
    "total": money_field(),
    "pledges": serializers.IntegerField(),
    "unvalued": serializers.IntegerField(),
    "unconverted": serializers.IntegerField(),
    "reannounced": serializers.IntegerField(
        help_text="Re-announcements of earlier pledges: counted in pledges, never in total."
    ),
    "allocated": money_field(
        "Of total, what the fulfilment records say was allocated or delivered."
    ),
    "delivered": money_field("Of total, what the fulfilment records say was delivered."),
    "outstanding": money_field("total less delivered."),
}
KEY_HELP = (
    "Present for each key of group_by: an object for donor, category and event (null outside "
    "any event), a string for status, confidence, recipient, currency, quarter (2025-Q2) and "
    "month (2025-06), an integer for year."
)

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
                        key: serializers.JSONField(required=False, help_text=KEY_HELP)
                        for key in reports.KEYS
                    },
                },
            )
        ),
        **FIGURE_FIELDS,
    },
)

GROUP_BY_KEY = "(?:" + "|".join(reports.KEYS) + ")"

CURRENCY = OpenApiParameter(
    "currency", OpenApiTypes.STR, description="Target currency (ISO 4217), default EUR."
)
FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=list(reports.FORMATS), description="json or csv."
)
REPORT_PARAMETERS = [
    OpenApiParameter(
        "group_by",
        {"type": "string", "pattern": f"^(?:{GROUP_BY_KEY}(?:,{GROUP_BY_KEY})?)?$"},
        description="One or two of " + ", ".join(reports.KEYS) + ", comma-separated; none "
        "gives the overall figures with empty rows.",
    ),
    CURRENCY,
    OpenApiParameter(
        "allocation",
        OpenApiTypes.STR,
        enum=list(reports.ALLOCATIONS),
        description="period spreads per-year pledges over the years of their period "
        "(only with year in group_by).",
    ),
    FORMAT,
]


TIMELINE_SCHEMA = inline_serializer(
    "ReportTimeline",
    {
        "currency": serializers.CharField(),
        "interval": serializers.ChoiceField(timeline.INTERVALS),
        "group_by": serializers.ListField(child=serializers.ChoiceField(timeline.KEYS)),
        "rows": serializers.ListField(
            child=inline_serializer(
                "ReportTimelineRow",
                {
                    "period": serializers.JSONField(
                        help_text="2025-06 (month), 2025-Q2 (quarter) or 2025 (year)."
                    ),
                    **{
                        key: serializers.JSONField(required=False, help_text=KEY_HELP)
                        for key in timeline.KEYS
                    },
                    "pledged": money_field("Counted on the announcement dates in the period."),
                    "allocated": money_field("Allocated on the record dates in the period."),
                    "delivered": money_field("Delivered on the record dates in the period."),
                    "cumulative_pledged": money_field("Up to the end of the period, this key."),
                    "cumulative_allocated": money_field(),
                    "cumulative_delivered": money_field(),
                },
            ),
            help_text="In period order; one row per period and key with something in it.",
        ),
    },
)

TIMELINE_KEY = "(?:" + "|".join(timeline.KEYS) + ")"

TIMELINE_PARAMETERS = [
    OpenApiParameter(
        "interval",
        OpenApiTypes.STR,
        enum=list(timeline.INTERVALS),
        description="The length of a period, default month.",
    ),
    OpenApiParameter(
        "group_by",
        {"type": "string", "pattern": f"^{TIMELINE_KEY}?$"},
        description="At most one of " + ", ".join(timeline.KEYS) + ": one series per value.",
    ),
    CURRENCY,
    FORMAT,
]


class ReportView(QueryGuardMixin, APIView):
    """What both reports share: JSON or CSV, the filters, the throttle and the cache."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, ReportCSVRenderer]
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, ReportThrottle]
    # For the schema only: ``selectors`` applies the filterset itself.
    queryset = Pledge.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReportPledgeFilter
    # drf-spectacular's, whatever DEFAULT_SCHEMA_CLASS says; extend_schema below builds on it.
    schema = AutoSchema()
    filename = "pledge-report.csv"

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
            response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return response

    def answer(self, request):
        try:
            return Response(self.data(request))
        except selectors.ParameterError as error:
            raise ValidationError(error.errors) from error

    def data(self, request) -> dict:
        raise NotImplementedError


@extend_schema(
    # The filters are documented by drf-spectacular from the filterset (filters=True).
    filters=True,
    parameters=REPORT_PARAMETERS,
    responses={
        200: OpenApiResponse(REPORT_SCHEMA, description="JSON, or CSV with format=csv."),
        **LIST_ERRORS,
    },
)
class ReportTotalsView(ReportView):
    """Totals by up to two keys, converted into one currency, without double counting: what
    was pledged, and what of it was allocated and delivered."""

    filename = "pledge-totals.csv"

    def data(self, request) -> dict:
        report, _ = selectors.pledge_report(request.query_params, request=request)
        return reports.report_data(report)


@extend_schema(
    filters=True,
    parameters=TIMELINE_PARAMETERS,
    responses={
        200: OpenApiResponse(TIMELINE_SCHEMA, description="JSON, or CSV with format=csv."),
        **LIST_ERRORS,
    },
)
class ReportTimelineView(ReportView):
    """What was pledged (on announcement dates), allocated and delivered (on the records'
    dates) in each month, quarter or year, and cumulatively, optionally by one key."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, TimelineCSVRenderer]
    filename = "pledge-timeline.csv"

    def data(self, request) -> dict:
        result, _ = selectors.pledge_timeline(request.query_params, request=request)
        return timeline.timeline_data(result)
