"""Refresh, logout, and every kind of bad JWT."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from .helpers import assert_error, assert_success, bearer


@pytest.fixture
def tokens(user, login):
    return assert_success(login("alice@example.com"))


def refresh(api, token):
    return api.post("/api/v1/auth/refresh", {"refresh": token}, format="json")


def test_refresh_rotates_and_the_old_token_stops_working(api, tokens):
    # when
    response = refresh(api, tokens["refresh"])
    # then
    data = assert_success(response)
    assert set(data) == {"access", "refresh"}
    assert data["refresh"] != tokens["refresh"]
    assert api.get("/api/v1/auth/me", **bearer(data["access"])).status_code == 200
    assert_error(refresh(api, tokens["refresh"]), 401, "INVALID_TOKEN")
    assert refresh(api, data["refresh"]).status_code == 200


def test_refresh_ignores_an_expired_access_token_in_the_header(api, tokens, user):
    expired = AccessToken.for_user(user)
    expired.set_exp(from_time=timezone.now() - timedelta(hours=1))
    api.credentials(**bearer(str(expired)))
    assert refresh(api, tokens["refresh"]).status_code == 200


def test_refresh_of_a_deactivated_user_is_refused(api, tokens, user):
    user.is_active = False
    user.save()
    assert_error(refresh(api, tokens["refresh"]), 401, "INVALID_TOKEN")


def test_refresh_of_a_deleted_user_is_refused(api, tokens, user):
    user.delete()
    assert_error(refresh(api, tokens["refresh"]), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("kind", ["access", "garbage", "empty-ish", "expired", "forged"])
def test_refresh_refuses_anything_but_a_live_refresh_token(api, tokens, user, kind):
    token = {
        "access": tokens["access"],
        "garbage": "not-a-jwt",
        "empty-ish": "a.b.c",
        "expired": _expired_refresh(user),
        "forged": _forged(user, "refresh"),
    }[kind]
    assert_error(refresh(api, token), 401, "INVALID_TOKEN")


def test_logout_kills_the_refresh_token(api, tokens):
    # when
    response = api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    # then
    assert response.status_code == 204
    assert response.content == b""
    assert BlacklistedToken.objects.filter(token__token=tokens["refresh"]).exists()
    assert_error(refresh(api, tokens["refresh"]), 401, "INVALID_TOKEN")


def test_logout_with_a_dead_or_bad_token_is_401(api, tokens):
    api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert_error(api.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json"), 401, "INVALID_TOKEN")
    assert_error(api.post("/api/v1/auth/logout", {"refresh": "junk"}, format="json"), 401, "INVALID_TOKEN")


def test_logout_needs_the_refresh_field(api, db):
    error = assert_error(api.post("/api/v1/auth/logout", {}, format="json"), 400, "VALIDATION_ERROR")
    assert "refresh" in error["details"]


# --- Access tokens on an authenticated endpoint -------------------------------------------------


def test_me_without_a_token_is_authentication_required(api, db):
    response = api.get("/api/v1/auth/me")
    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["expired", "forged", "garbage", "refresh-as-access", "unknown-user", "no-token"])
def test_me_with_a_bad_token_is_invalid_token(api, tokens, user, kind):
    token = {
        "expired": _expired_access(user),
        "forged": _forged(user, "access"),
        "garbage": "garbage",
        "refresh-as-access": tokens["refresh"],
        "unknown-user": str(AccessToken.for_user(_ghost(user))),
        "no-token": "",
    }[kind]
    response = api.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(response, 401, "INVALID_TOKEN")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_deactivated_users_access_token_is_refused(api, tokens, user):
    user.is_active = False
    user.save()
    assert_error(api.get("/api/v1/auth/me", **bearer(tokens["access"])), 401, "INVALID_TOKEN")


def _expired_access(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(token)


def _expired_refresh(user) -> str:
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=30))
    return str(token)


def _forged(user, token_type: str) -> str:
    """A well-formed token for ``user`` signed with a key that is not ours."""
    now = timezone.now()
    payload = {"token_type": token_type, "exp": int((now + timedelta(minutes=5)).timestamp()),
               "iat": int(now.timestamp()), "jti": "f" * 32, "user_id": str(user.pk)}
    return jwt.encode(payload, "some-other-key-that-is-long-enough-for-hs256!", algorithm="HS256")


def _ghost(user):
    from accounts.models import User

    return User(pk=user.pk + 1000, email="ghost@example.com")
