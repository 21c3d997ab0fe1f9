"""Streaming CSV exports of pledges and of their fulfilment records, in the import layouts
(``pledges.spreadsheet``)."""

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.settings import api_settings

from pledges.filters import PledgeFilter
from pledges.models import Pledge
from pledges.spreadsheet import (
    csv_lines,
    export_queryset,
    fulfilments_queryset,
    iter_fulfilment_rows,
    iter_rows,
)

from .backends import FilterBackend
from .guards import QueryGuardMixin
from .schema import errors
from .throttling import ExportThrottle


class PledgeCsvExportView(QueryGuardMixin, GenericAPIView):
    """Every pledge matching the filters of the pledge list, as one CSV file (UTF-8).

    The rows are read from the database in chunks while the response streams, so memory stays
    flat whatever the number of rows. Without ``ordering`` the rows are in reference order, and
    the file can be imported back with ``manage.py import_pledges`` or in the admin.

    Anonymous clients may export at most ``API_ANON_EXPORT_MAX_ROWS`` pledges: when more match,
    the answer is 401 (sign in, or narrow the filters), never a cut-short file.
    """

    queryset = Pledge.objects.all()
    filter_backends = [FilterBackend]
    filterset_class = PledgeFilter
    pagination_class = None
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, ExportThrottle]

    def perform_content_negotiation(self, request, force=False):
        # The file is CSV whatever the Accept header; errors are answered in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="pledges_export_csv",
        description="Anonymous clients may export at most a set number of pledges (10,000 "
        "unless configured): when more match the filters, the answer is 401. Signed-in users "
        "get every matching pledge.",
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="CSV in the import/export column layout."
            ),
            **errors(400, 401, 403, 429),
        },
    )
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if not request.user.is_authenticated:
            refuse_large_anonymous_export(queryset)
        rows = iter_rows(export_queryset(queryset, keep_order="ordering" in request.query_params))
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="pledges.csv"'
        return response


def refuse_large_anonymous_export(queryset, what: str = "pledges") -> None:
    limit = settings.API_ANON_EXPORT_MAX_ROWS
    if queryset[: limit + 1].count() > limit:
        raise NotAuthenticated(
            f"More than {limit:,} {what} match: an anonymous export holds at most {limit:,}. "
            "Sign in (Authorization: Token <key>) to export them all, or narrow the filters."
        )


class FulfilmentCsvExportView(PledgeCsvExportView):
    """The allocation and delivery records of every pledge matching the filters of the pledge
    list, as one CSV file (UTF-8) in the records' import layout: import it beside the pledges'
    file (``manage.py import_pledges pledges.csv --fulfilments fulfilments.csv``). Streamed;
    ordered by pledge reference, date, kind. Anonymous clients get at most
    ``API_ANON_EXPORT_MAX_ROWS`` records (401 beyond)."""

    @extend_schema(
        operation_id="fulfilments_export_csv",
        description="The records of the pledges that the filters select. Anonymous clients may "
        "export at most a set number of records (10,000 unless configured): when more match, "
        "the answer is 401. Signed-in users get every matching record.",
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="CSV in the records' import/export layout."
            ),
            **errors(400, 401, 403, 429),
        },
    )
    def get(self, request, *args, **kwargs):
        records = fulfilments_queryset(self.filter_queryset(self.get_queryset()))
        if not request.user.is_authenticated:
            refuse_large_anonymous_export(records, "records")
        rows = iter_fulfilment_rows(records)
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="fulfilments.csv"'
        return response
