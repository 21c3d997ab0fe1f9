from django.urls import path

from .reports import ReportTotalsView

app_name = "api"

urlpatterns: list = [
    path("reports/totals/", ReportTotalsView.as_view(), name="report-totals"),
]
