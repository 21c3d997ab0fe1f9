"""Streaming CSV export of pledges, in the import layout (``pledges.spreadsheet``)."""

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView

from pledges.filters import PledgeFilter
from pledges.models import Pledge
from pledges.spreadsheet import csv_lines, export_queryset, iter_rows


class PledgeCsvExportView(GenericAPIView):
    """Every pledge matching the filters of the pledge list, as one CSV file (UTF-8).

    The rows are read from the database in chunks while the response streams, so memory stays
    flat whatever the number of rows. Without ``ordering`` the rows are in reference order, and
    the file can be imported back with ``manage.py import_pledges`` or in the admin.
    """

    queryset = Pledge.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = PledgeFilter
    pagination_class = None

    def perform_content_negotiation(self, request, force=False):
        # The file is CSV whatever the Accept header; errors are answered in JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="pledges_export_csv",
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="CSV in the import/export column layout."
            ),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A filter is invalid."),
        },
    )
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        rows = iter_rows(export_queryset(queryset, keep_order="ordering" in request.query_params))
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="pledges.csv"'
        return response
