from django.urls import re_path

from config.api.routers import Router

from . import views
from .models import ExportType

STORE = r"stores/(?P<store>[-\w]+)"

router = Router()
router.register(rf"{STORE}/exports", views.ExportViewSet, basename="analytics-export")

urlpatterns = [
    re_path(rf"^{STORE}/dashboard/?$", views.DashboardView.as_view(), name="analytics-dashboard"),
    re_path(rf"^{STORE}/analytics/events/?$", views.EventsView.as_view(), name="analytics-events"),
    # one route per type: each is its own list (GET exports/orders is not an object called "orders")
    *[re_path(rf"^{STORE}/exports/{kind}/?$", views.ExportStreamView.as_view(export_type=kind),
              name=f"analytics-export-{kind}") for kind in ExportType.values],
    *router.urls,
]
