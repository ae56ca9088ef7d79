from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerView

from config import metrics
from config.api import views as system

api_v1 = [
    path("auth/social/", include("social.urls")),  # before auth/: social login (README "Social login")
    path("auth/", include("accounts.urls")),
    path("", include("stores.urls")),
    path("", include("teams.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("auditlog.urls")),
    path("", include("notifications.urls")),
    path("", include("analytics.urls")),
    path("", include("privacy.urls")),
    path("", include("plans.urls")),
    path("", include("features.urls")),
    path("", include("billing.urls")),
    path("", include("live.urls")),
    path("", include("maker.urls")),
]

urlpatterns = [
    # the admin's live notices (README "Live updates"), before the admin's own catch-all
    path("admin/", include("live.admin_urls")),
    path("admin/", admin.site.urls),
    path("metrics", metrics.metrics_view, name="metrics"),  # Prometheus; closed: METRICS_TOKEN / METRICS_ALLOWED_IPS
    re_path(r"^api/health/?$", system.HealthView.as_view(), name="health"),
    re_path(r"^api/version/?$", system.VersionView.as_view(), name="version"),
    path("api/schema/", system.SchemaView.as_view(), name="schema"),
    path("api/schema", system.SchemaView.as_view()),  # the optional trailing slash, as for every API path
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema")),
    path("api/v1/", include(api_v1)),
    re_path(r"^api(/|$)", system.api_not_found),
]

if settings.BENCH_FLOORS:  # the benchmark's reference views (bench/run.sh); never on in production
    urlpatterns.insert(0, path("api/bench/", include("bench.urls")))

if not settings.AWS_STORAGE_BUCKET_NAME:
    # The embedded default serves its own uploads, so `make run` needs no web server.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]

handler400 = "config.api.views.handler400"
handler403 = "config.api.views.handler403"
handler404 = "config.api.views.handler404"
handler500 = "config.api.views.handler500"
