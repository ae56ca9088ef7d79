"""System endpoints: health, version, the OpenAPI document, and the JSON 404 for unknown /api/ paths."""

import logging
import os
import subprocess
import uuid
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .envelope import error_body
from .exceptions import error_response

logger = logging.getLogger("config.api")


def _check(name: str, probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # a health check reports failures, it never raises them
        logger.warning("health check %s failed: %s", name, exc)
        return "error"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    django_cache.set(key, "1", 5)
    if django_cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    django_cache.delete(key)


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)  # kombu waits 2 s between tries else
    return "ok"


def _storage() -> None:
    default_storage.exists("health-check-probe")


class HealthView(APIView):
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {"status": serializers.ChoiceField(["ok", "degraded"]), "checks": serializers.DictField()},
        )
    )
    def get(self, request):
        checks = {"database": _check("database", _database), "cache": _check("cache", _cache)}
        try:
            checks["broker"] = _broker()
        except Exception as exc:
            logger.warning("health check broker failed: %s", exc)
            checks["broker"] = "error"
        checks["storage"] = _check("storage", _storage)
        if checks["database"] != "ok":
            return error_response("SERVICE_UNAVAILABLE", "The database is unreachable.", 503, checks)
        healthy = all(value in {"ok", "eager"} for value in checks.values())
        return Response({"status": "ok" if healthy else "degraded", "checks": checks})


@cache
def _commit() -> str | None:
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=2
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class VersionView(APIView):
    authentication_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "Version",
            {"version": serializers.CharField(), "api": serializers.CharField(),
             "commit": serializers.CharField(allow_null=True)},
        )
    )
    def get(self, request):
        return Response({"version": settings.VERSION, "api": "v1", "commit": _commit()})


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: YAML, or JSON for ``Accept: application/json`` or ``?format=json``.

    The API leaves ``?format=`` to its endpoints (URL_FORMAT_OVERRIDE is None), so this view reads
    it itself, as drf-spectacular documents and schema tools expect; other values are ignored."""

    def get_format_suffix(self, **kwargs):
        requested = self.request.query_params.get("format")
        return requested if requested in {"json", "yaml"} else super().get_format_suffix(**kwargs)


@csrf_exempt  # it changes nothing, and a POST to a mistyped path must get this JSON 404, not the CSRF page
def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_body("NOT_FOUND", f"No endpoint at {request.path}."), status=404)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("INTERNAL_ERROR", "An unexpected error occurred."), status=500)
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("VALIDATION_ERROR", "Bad request."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def csrf_failure(request, reason=""):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("PERMISSION_DENIED", "CSRF check failed."), status=403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("PERMISSION_DENIED", "Forbidden."), status=403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)
