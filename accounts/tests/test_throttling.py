"""The `auth` throttle scope: 429 RATE_LIMITED with Retry-After.

DRF reads THROTTLE_RATES into a class attribute at import, so the tests patch it there.
"""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from .helpers import assert_error


@pytest.fixture
def auth_rate_two_per_minute(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "auth": "2/min"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/auth/login", {"email": "a@example.com", "password": "x"}),
        ("/api/v1/auth/register", {"email": "a@example.com", "password": "x"}),
        ("/api/v1/auth/refresh", {"refresh": "x"}),
        ("/api/v1/auth/verify-email", {"uid": "x", "token": "y"}),
        ("/api/v1/auth/password/reset", {"email": "a@example.com"}),
        ("/api/v1/auth/password/reset/confirm", {"uid": "x", "token": "y", "password": "z"}),
    ],
)
def test_the_third_attempt_in_a_minute_is_rate_limited(api, auth_rate_two_per_minute, path, body):
    # given
    for _ in range(2):
        assert api.post(path, body, format="json").status_code != 429
    # when
    response = api.post(path, body, format="json")
    # then
    assert_error(response, 429, "RATE_LIMITED")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_limit_applies_even_to_the_right_password(user, login, auth_rate_two_per_minute):
    login("alice@example.com", "wrong")
    login("alice@example.com", "wrong")
    response = login("alice@example.com")
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1


def test_me_is_not_in_the_auth_scope(user, client_for, auth_rate_two_per_minute):
    client = client_for(user)
    assert all(client.get("/api/v1/auth/me").status_code == 200 for _ in range(5))
