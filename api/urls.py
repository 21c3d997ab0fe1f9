from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views
from .reports import ReportTotalsView

app_name = "api"

router = DefaultRouter()
router.register("donors", views.DonorViewSet)
router.register("categories", views.CategoryViewSet)
router.register("events", views.EventViewSet)
router.register("pledges", views.PledgeViewSet)
router.register("exchange-rates", views.ExchangeRateViewSet)

urlpatterns = [
    path("reports/totals/", ReportTotalsView.as_view(), name="report-totals"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
