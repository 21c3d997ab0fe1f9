from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView, DefaultRouter

from . import views
from .exports import FulfilmentCsvExportView, PledgeCsvExportView
from .reports import ReportTimelineView, ReportTotalsView

app_name = "api"


class ApiRoot(APIRootView):
    """The resources of the API, then its reports, its exports, its schema and its docs."""

    more = {
        "reports/totals": "api:report-totals",
        "reports/timeline": "api:report-timeline",
        "exports/pledges.csv": "api:pledge-export-csv",
        "exports/fulfilments.csv": "api:fulfilment-export-csv",
        "schema": "api:schema",
        "docs": "api:docs",
    }

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        for key, url_name in self.more.items():
            response.data[key] = reverse(url_name, request=request)
        return response


router = DefaultRouter()
router.APIRootView = ApiRoot
router.register("donors", views.DonorViewSet)
router.register("categories", views.CategoryViewSet)
router.register("events", views.EventViewSet)
router.register("pledges", views.PledgeViewSet)
router.register("fulfilments", views.FulfilmentViewSet)
router.register("exchange-rates", views.ExchangeRateViewSet)

urlpatterns = [
    # Before the router: its format suffixes would read "pledges/<pk>.<format>" otherwise.
    path("exports/pledges.csv", PledgeCsvExportView.as_view(), name="pledge-export-csv"),
    path(
        "exports/fulfilments.csv",
        FulfilmentCsvExportView.as_view(),
        name="fulfilment-export-csv",
    ),
    path("reports/totals/", ReportTotalsView.as_view(), name="report-totals"),
    path("reports/timeline/", ReportTimelineView.as_view(), name="report-timeline"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: Swagger UI's start-up script is a file of its own, as the Content-Security-Policy
    # allows no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    *router.urls,
]
