from django.contrib import admin
from django.urls import include, path

from pledges.views import dashboard

from .health import healthz

admin.site.site_header = "Military aid pledges"
admin.site.site_title = "Aid pledges admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", dashboard, name="dashboard"),
]
