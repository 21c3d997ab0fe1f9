from django.urls import path

from .exports import PledgeCsvExportView

app_name = "api"

urlpatterns: list = [
    # Before any router include: "pledges/<pk>.<format>" must not catch it.
    path("exports/pledges.csv", PledgeCsvExportView.as_view(), name="pledge-export-csv"),
]
