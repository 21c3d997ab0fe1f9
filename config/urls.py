from django.contrib import admin
from django.urls import include, path

from pledges.views import dashboard

from .health import healthz

admin.site.site_header = "Military aid pledges"
admin.site.site_title = "Aid pledges admin"
# The pledge list needs the width of a laptop screen: the models are a click away on the home
# page and in the breadcrumbs instead of a sidebar.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", dashboard, name="dashboard"),
]
