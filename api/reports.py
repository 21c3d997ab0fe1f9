"""``GET /api/v1/reports/totals/`` (docs/methodology.md#reports): HTTP around
``pledges.reports``."""

import csv
import io

import django_filters
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
from rest_framework.views import APIView

from pledges import reports
from pledges.choices import PledgeStatus
from pledges.models import Pledge

from .filters import ReportPledgeFilter


class ReportCSVRenderer(BaseRenderer):
    """A report as CSV: one column per key (names, not ids), then the figures."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        header, rows = reports.table(data)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue().encode(self.charset)


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

REPORT_PARAMETERS = [
    OpenApiParameter(
        "group_by",
        OpenApiTypes.STR,
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


def filter_parameters(filterset_class) -> list[OpenApiParameter]:
    """Every filter of ``filterset_class`` as a documented query parameter."""
    parameters = []
    for name, declared in filterset_class.base_filters.items():
        if isinstance(declared, django_filters.DateFilter):
            kind = OpenApiTypes.DATE
        elif isinstance(
            declared, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter
        ) and not declared.extra.get("to_field_name"):
            kind = OpenApiTypes.INT
        else:
            kind = OpenApiTypes.STR
        choices = declared.extra.get("choices")
        parameters.append(
            OpenApiParameter(
                name,
                kind,
                many=isinstance(declared, django_filters.MultipleChoiceFilter),
                enum=[value for value, _ in choices] if choices else None,
                description=str(declared.extra.get("help_text", "")),
            )
        )
    return parameters


@extend_schema(
    parameters=[*REPORT_PARAMETERS, *filter_parameters(ReportPledgeFilter)],
    responses={
        200: OpenApiResponse(REPORT_SCHEMA, description="JSON, or CSV with format=csv."),
        400: OpenApiResponse(description="A bad parameter, named."),
    },
)
class ReportTotalsView(APIView):
    """Totals by up to two keys, converted into one currency, without double counting."""

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, ReportCSVRenderer]
    # drf-spectacular's, whatever DEFAULT_SCHEMA_CLASS says; extend_schema above builds on it.
    schema = AutoSchema()

    def perform_content_negotiation(self, request, force=False):
        # ``format`` is a report parameter: an unknown one is answered by a 400 naming it
        # (with the other bad parameters), not by DRF's 404.
        if request.query_params.get("format") not in (None, *reports.FORMATS):
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors are JSON, even when CSV was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def get(self, request):
        params = request.query_params
        filterset = ReportPledgeFilter(params, queryset=Pledge.objects.all(), request=request)
        errors = {} if filterset.is_valid() else dict(filterset.errors)
        try:
            options = reports.parse_options(
                group_by=params.getlist("group_by"),
                currency=params.get("currency"),
                allocation=params.get("allocation"),
                format=params.get("format"),
            )
        except reports.ReportError as error:
            errors.update({name: [message] for name, message in error.errors.items()})
        if errors:
            raise ValidationError(errors)
        statuses = filterset.form.cleaned_data.get("status") or []
        report = reports.totals(
            filterset.qs, options, include_cancelled=PledgeStatus.CANCELLED in statuses
        )
        response = Response(reports.report_data(report))
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = 'attachment; filename="pledge-totals.csv"'
        return response
