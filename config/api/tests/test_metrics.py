"""GET /metrics: Prometheus text, closed to the public, counting what the services did."""

import pytest
from django.urls import resolve
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.throttling import SimpleRateThrottle

from accounts.lockout import lockout_failure_record
from catalog.models import Variant

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


def scrape(client, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return settings


def test_a_checkout_is_counted_in_the_scrape(metrics_on, api, client, store, make_variant, cart_with,
                                              django_capture_on_commit_callbacks):
    # given
    cart = cart_with((make_variant(price="12.50", stock=5), 2))
    route = resolve(f"/api/v1/stores/{store.slug}/checkout").route
    assert store.slug not in route and "checkout" in route
    before = scrape(client)
    # when: a buyer checks out with cash on delivery
    with django_capture_on_commit_callbacks(execute=True):
        placed = api.post(f"/api/v1/stores/{store.slug}/checkout", {
            "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": {"line1": "1 Main St"},
            "payment_method": "cod"}, format="json")
    assert placed.status_code == 201, placed.json()
    after = scrape(client)
    # then: one checkout, one payment started, one 201 on the checkout route (its pattern, not the store's path)
    assert value(after, "store_checkouts_total", payment_method="cod") - \
        value(before, "store_checkouts_total", payment_method="cod") == 1
    assert value(after, "store_payments_total", gateway="cod", outcome="started") - \
        value(before, "store_payments_total", gateway="cod", outcome="started") == 1
    assert value(after, "http_requests_total", method="POST", route=route, status="201") - \
        value(before, "http_requests_total", method="POST", route=route, status="201") == 1
    assert value(after, "http_request_duration_seconds_count", method="POST", route=route) - \
        value(before, "http_request_duration_seconds_count", method="POST", route=route) == 1
    assert not any(store.slug in dict(labels).get("route", "") for _, labels in after)


def test_a_refused_checkout_is_not_counted(metrics_on, api, client, store, make_variant, cart_with,
                                           django_capture_on_commit_callbacks):
    cart = cart_with((make_variant(stock=1), 1))
    Variant.objects.filter(store=store).update(stock_quantity=0)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        refused = api.post(f"/api/v1/stores/{store.slug}/checkout", {
            "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": {"line1": "1 Main St"},
            "payment_method": "cod"}, format="json")
    assert refused.status_code == 409
    after = scrape(client)
    assert value(after, "store_checkouts_total", payment_method="cod") == \
        value(before, "store_checkouts_total", payment_method="cod")


def test_metrics_are_refused_without_the_token(metrics_on, client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 403  # the scheme is part of it
    assert b"store_checkouts" not in client.get("/metrics").content


def test_metrics_are_off_with_neither_token_nor_addresses(settings, client):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_an_allowed_address_needs_no_token_and_a_forwarded_header_is_not_an_address(settings, client):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403


def test_login_failures_lockouts_and_throttles_are_counted(metrics_on, settings, monkeypatch, api, client, user,
                                                            password):
    settings.LOGIN_MAX_FAILURES = 2
    before = scrape(client)
    for _ in range(2):
        assert api.post("/api/v1/auth/login", {"email": user.email, "password": "wrong"}).status_code == 401
    assert api.post("/api/v1/auth/login", {"email": user.email, "password": password}).status_code == 429
    after = scrape(client)
    assert value(after, "store_login_failures_total") - value(before, "store_login_failures_total") == 2
    assert value(after, "store_login_lockouts_total") - value(before, "store_login_lockouts_total") == 1
    assert lockout_failure_record(email="someone-else@example.com") is False

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "2/min"})
    answers = [api.get("/api/version", REMOTE_ADDR="203.0.113.9").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert value(scrape(client), "store_throttled_requests_total", scope="anon") - \
        value(after, "store_throttled_requests_total", scope="anon") == 1
