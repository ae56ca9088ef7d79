"""Prometheus metrics (prometheus-client): the counters and histograms every layer may increment, the middleware
that times requests by route, and the ``/metrics`` view.

Layers stay one-way: this module sits in config, below every app; services count what they did with
``count(...)`` or, inside a transaction, ``count_on_commit(...)`` (a rolled-back checkout is not counted).

Several processes: prometheus-client keeps each metric in the process that changed it. With
``PROMETHEUS_MULTIPROC_DIR`` set in the environment *before the process starts* (gunicorn's master and workers,
Celery workers on the same host), every process writes its values to files there and a scrape adds them up
(prometheus-client's multiprocess mode; ``config/gunicorn.py`` empties the folder when the master starts and marks
a dead worker's files). Without it, a scrape answers for the one process that served it.
"""

import hmac
import ipaddress
import logging
import os
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

# --- what is counted ----------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by method, route (the URL pattern, not the path) and status.",
    ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by method and route.", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CHECKOUTS = Counter("store_checkouts", "Checkouts completed (an order placed with its payment), by payment method.",
                    ["payment_method"])
PAYMENTS = Counter(
    "store_payments", "Payments by gateway and outcome: started, held (fraud review), refused (the gateway would not "
    "start it), paid, failed.", ["gateway", "outcome"])
WEBHOOK_DELIVERIES_FAILED = Counter(
    "store_webhook_deliveries_failed", "Outgoing webhook deliveries given up (no more retries).")
WEBHOOK_ATTEMPTS_FAILED = Counter(
    "store_webhook_attempts_failed", "Outgoing webhook attempts that failed (a retry may follow).")
LOGIN_FAILURES = Counter("store_login_failures", "Failed logins (a wrong password or one-time code).")
LOGIN_LOCKOUTS = Counter("store_login_lockouts", "Emails locked after too many failed logins.")
THROTTLED = Counter("store_throttled_requests", "Requests refused by a throttle (429), by scope.", ["scope"])
THROTTLE_CACHE_ERRORS = Counter(
    "store_throttle_cache_errors", "Throttle checks the cache could not answer (the request was let through).")
TASKS_UNSENT = Counter(
    "store_tasks_unsent", "Tasks not enqueued after their transaction committed (the broker failed), by task.",
    ["task"])

UNMATCHED_ROUTE = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def count(counter, amount: float = 1, **labels) -> None:
    """Adds ``amount`` to ``counter`` (with its ``labels``) now. Never raises: metrics must not fail a request."""
    try:
        (counter.labels(**labels) if labels else counter).inc(amount)
    except Exception:
        logger.warning("metrics: could not count %s", getattr(counter, "_name", counter), exc_info=True)


def count_on_commit(counter, amount: float = 1, **labels) -> None:
    """Counts after the current transaction commits (at once outside one); nothing when it rolls back."""
    transaction.on_commit(partial(count, counter, amount, **labels))


# --- requests by route --------------------------------------------------------------------------------------------
def route_of(request) -> str:
    """The URL pattern that served ``request`` ("api/v1/stores/<slug>/products/…" as Django joined it), so the
    label has one value per route, never one per path."""
    match = getattr(request, "resolver_match", None)
    return (match.route or match.view_name or UNMATCHED_ROUTE) if match is not None else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts every answer by method, route and status, and times it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "OTHER"
        route = route_of(request)
        try:
            HTTP_LATENCY.labels(method=method, route=route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        except Exception:
            logger.warning("metrics: could not record a request", exc_info=True)
        return response


# --- Celery queue depth, read from the broker at scrape time -----------------------------------------------------
def queue_names() -> list[str]:
    from config.celery import app

    names = {app.conf.task_default_queue or "celery"}
    for route in (app.conf.task_routes or {}).values() if isinstance(app.conf.task_routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def queue_depth(name: str) -> int | None:
    """Messages waiting in the broker's queue ``name`` (not those a worker holds), or None when it cannot be read."""
    from config.celery import app

    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            return connection.default_channel.queue_declare(queue=name, passive=True).message_count
    except Exception as exc:  # no such queue yet, or the broker is down: the gauge is absent, the scrape answers
        logger.info("metrics: queue %s depth unknown: %s", name, exc)
        return None


class QueueDepthCollector:
    def collect(self):
        gauge = GaugeMetricFamily("celery_queue_depth", "Celery messages waiting in the broker, by queue.",
                                  labels=["queue"])
        if not settings.CELERY_TASK_ALWAYS_EAGER:  # eager (no broker): there is no queue
            for name in queue_names():
                depth = queue_depth(name)
                if depth is not None:
                    gauge.add_metric([name], depth)
        yield gauge


_QUEUES = CollectorRegistry(auto_describe=False)
_QUEUES.register(QueueDepthCollector())


def metrics_render() -> bytes:
    """The Prometheus text exposition: every process's values in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_QUEUES)


# --- /metrics, closed to the public -------------------------------------------------------------------------------
def _allowed_networks() -> list:
    networks = []
    for item in settings.METRICS_ALLOWED_IPS:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or network; ignored", item)
    return networks


def metrics_allowed(request) -> bool:
    """A scraper is let in by METRICS_TOKEN (``Authorization: Bearer <token>``) or by its address in
    METRICS_ALLOWED_IPS (the connection's REMOTE_ADDR, never a forwarded header)."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _allowed_networks())


def metrics_view(request):
    """GET /metrics. 404 while neither METRICS_TOKEN nor METRICS_ALLOWED_IPS is set (metrics are off), 403 for a
    caller with neither the token nor an allowed address."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        raise Http404
    if not metrics_allowed(request):
        return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
