from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User

from .helpers import assert_error, assert_success


@pytest.fixture
def client(user, client_for):
    return client_for(user)


def setup_2fa(client) -> str:
    return assert_success(client.post("/api/v1/auth/2fa/setup"))["secret"]


def code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(timezone.now(), counter_offset=offset)


def test_setup_answers_a_secret_and_leaves_2fa_off(client, user):
    # when
    data = assert_success(client.post("/api/v1/auth/2fa/setup"))
    # then
    assert set(data) == {"secret", "otpauth_uri"}
    uri = urlsplit(data["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert "alice%40example.com" in uri.path or "alice@example.com" in uri.path
    assert parse_qs(uri.query)["secret"] == [data["secret"]]
    user.refresh_from_db()
    assert user.totp_secret == data["secret"]
    assert user.two_factor_enabled is False


def test_the_secret_is_stored_encrypted(client, user):
    secret = setup_2fa(client)
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [user.pk])
        [stored] = cursor.fetchone()
    assert stored and secret not in stored


def test_confirm_with_a_right_code_turns_2fa_on(client, user, login):
    # given
    secret = setup_2fa(client)
    # when
    response = client.post("/api/v1/auth/2fa/confirm", {"otp": code(secret)}, format="json")
    # then
    assert assert_success(response)["two_factor_enabled"] is True
    user.refresh_from_db()
    assert user.two_factor_enabled is True
    assert_error(login("alice@example.com"), 401, "OTP_REQUIRED")


def test_confirm_with_a_wrong_code_leaves_2fa_off(client, user):
    secret = setup_2fa(client)
    wrong = "123456" if code(secret) != "123456" else "654321"
    assert_error(client.post("/api/v1/auth/2fa/confirm", {"otp": wrong}, format="json"), 401, "INVALID_OTP")
    user.refresh_from_db()
    assert user.two_factor_enabled is False


def test_confirm_without_setup_is_409(client, user):
    assert_error(client.post("/api/v1/auth/2fa/confirm", {"otp": "123456"}, format="json"), 409, "CONFLICT")


def test_a_second_setup_replaces_the_pending_secret(client, user):
    # given
    first = setup_2fa(client)
    second = setup_2fa(client)
    # then
    assert first != second
    user.refresh_from_db()
    assert user.totp_secret == second
    response = client.post("/api/v1/auth/2fa/confirm", {"otp": code(second)}, format="json")
    assert assert_success(response)["two_factor_enabled"] is True


def test_setup_while_on_is_409_and_keeps_the_secret(two_factor_user, client_for):
    assert_error(client_for(two_factor_user).post("/api/v1/auth/2fa/setup"), 409, "CONFLICT")
    two_factor_user.refresh_from_db()
    assert two_factor_user.totp_secret == two_factor_user.secret


def test_disable_with_a_right_code_turns_2fa_off(two_factor_user, client_for, login):
    # when
    response = client_for(two_factor_user).post("/api/v1/auth/2fa/disable", {"otp": code(two_factor_user.secret)},
                                                format="json")
    # then
    assert assert_success(response)["two_factor_enabled"] is False
    user = User.objects.get(pk=two_factor_user.pk)
    assert (user.two_factor_enabled, user.totp_secret) == (False, "")
    assert login("bob@example.com").status_code == 200


def test_disable_with_a_wrong_code_keeps_2fa_on(two_factor_user, client_for):
    wrong = "000000" if code(two_factor_user.secret) != "000000" else "999999"
    response = client_for(two_factor_user).post("/api/v1/auth/2fa/disable", {"otp": wrong}, format="json")
    assert_error(response, 401, "INVALID_OTP")
    two_factor_user.refresh_from_db()
    assert two_factor_user.two_factor_enabled is True


@pytest.mark.parametrize("cache_kind", ["local", "database"])
def test_wrong_codes_at_disable_count_towards_the_login_lock(two_factor_user, client_for, login, settings, request,
                                                             cache_kind):
    if cache_kind == "database":  # the embedded default: the count must survive disable's rollback
        request.getfixturevalue("database_cache")
    # given a limit of 3 failures
    settings.LOGIN_MAX_FAILURES = 3
    client = client_for(two_factor_user)
    wrong = "000000" if code(two_factor_user.secret) != "000000" else "999999"
    # when 2 wrong codes are tried at disable, then a wrong password at login
    for _ in range(2):
        assert_error(client.post("/api/v1/auth/2fa/disable", {"otp": wrong}, format="json"), 401, "INVALID_OTP")
    assert_error(login("bob@example.com", password="wrong-password"), 401, "INVALID_CREDENTIALS")
    # then the email is locked: login with the right password and code, and disable with the right code, are 429
    locked = login("bob@example.com", otp=code(two_factor_user.secret))
    assert_error(locked, 429, "ACCOUNT_LOCKED")
    assert int(locked["Retry-After"]) > 0
    right = client.post("/api/v1/auth/2fa/disable", {"otp": code(two_factor_user.secret)}, format="json")
    assert_error(right, 429, "ACCOUNT_LOCKED")
    two_factor_user.refresh_from_db()
    assert two_factor_user.two_factor_enabled is True


def test_disable_locked_by_its_own_wrong_codes(two_factor_user, client_for, login, settings):
    settings.LOGIN_MAX_FAILURES = 2
    client = client_for(two_factor_user)
    wrong = "000000" if code(two_factor_user.secret) != "000000" else "999999"
    for _ in range(2):
        assert_error(client.post("/api/v1/auth/2fa/disable", {"otp": wrong}, format="json"), 401, "INVALID_OTP")
    assert_error(login("bob@example.com", otp=code(two_factor_user.secret)), 429, "ACCOUNT_LOCKED")


def test_disable_while_off_is_409(client):
    assert_error(client.post("/api/v1/auth/2fa/disable", {"otp": "123456"}, format="json"), 409, "CONFLICT")


def test_a_code_used_to_log_in_cannot_disable(two_factor_user, client_for, login):
    # given
    used = code(two_factor_user.secret)
    assert login("bob@example.com", otp=used).status_code == 200
    # when
    response = client_for(two_factor_user).post("/api/v1/auth/2fa/disable", {"otp": used}, format="json")
    # then
    assert_error(response, 401, "INVALID_OTP")
    two_factor_user.refresh_from_db()
    assert two_factor_user.two_factor_enabled is True


def test_otp_is_required_in_confirm_and_disable(client):
    for path in ["/api/v1/auth/2fa/confirm", "/api/v1/auth/2fa/disable"]:
        assert "otp" in assert_error(client.post(path, {}, format="json"), 400, "VALIDATION_ERROR")["details"]


@pytest.mark.parametrize("path", ["/api/v1/auth/2fa/setup", "/api/v1/auth/2fa/confirm", "/api/v1/auth/2fa/disable"])
def test_2fa_endpoints_need_a_login(api, db, path):
    assert_error(api.post(path, {"otp": "123456"}, format="json"), 401, "AUTHENTICATION_REQUIRED")
