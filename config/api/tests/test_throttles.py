"""Throttles answer 429 RATE_LIMITED with Retry-After in the error envelope.

DRF reads the rates into ``SimpleRateThrottle.THROTTLE_RATES`` at import, so overriding
settings is not enough: the tests patch the class attribute.
"""

import pytest
from rest_framework.throttling import SimpleRateThrottle


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**overrides: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **overrides})

    return set_rates


def test_anonymous_rate_limit(api, db, rates):
    # given
    rates(anon="3/min")
    for _ in range(3):
        assert api.get("/api/version").status_code == 200
    # when
    response = api.get("/api/version")
    # then
    assert response.status_code == 429
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_scoped_auth_rate_limit(api, db, rates):
    rates(auth="1/hour")
    api.post("/api/v1/auth/login", {"email": "a@example.com", "password": "x"}, format="json")
    response = api.post("/api/v1/auth/login", {"email": "a@example.com", "password": "x"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert 60 < int(response["Retry-After"]) <= 3600


def test_api_key_callers_are_limited_per_key_not_by_the_anonymous_rate(db, store, rates):
    from rest_framework.test import APIClient

    from teams.services import api_key_create

    # given a key, and an anonymous rate far below the per-key (user) rate
    _, raw_key = api_key_create(store=store, name="sync", scopes=["catalog.write"], access=None)
    rates(anon="2/min", user="4/min")
    client = APIClient(HTTP_X_API_KEY=raw_key)
    # when the key makes more requests than the anonymous rate allows
    answers = [client.get(f"/api/v1/stores/{store.slug}").status_code for _ in range(5)]
    # then only the per-key rate applies
    assert answers == [200, 200, 200, 200, 429]


def test_a_client_writing_its_own_x_forwarded_for_is_still_counted_by_its_address(api, db, rates, settings):
    # NUM_PROXIES unset: X-Forwarded-For is the client's own word, so it must not open a fresh bucket each time
    settings.NUM_PROXIES = None
    rates(anon="2/min")
    answers = [api.get("/api/version", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)]
    assert answers == [200, 200, 429]


def test_behind_one_proxy_each_client_address_the_proxy_saw_is_counted_apart(api, db, rates, settings):
    settings.NUM_PROXIES = 1
    rates(anon="1/min")
    # the proxy appends the address it saw; what the client wrote further left is ignored
    first = api.get("/api/version", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1").status_code
    spoofed = api.get("/api/version", HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.1").status_code
    other = api.get("/api/version", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code
    assert (first, spoofed, other) == (200, 429, 200)
