import time

import pyotp
import pytest
from django.utils import timezone

from accounts.models import User

from .helpers import assert_error, assert_success, bearer


def test_login_answers_user_and_tokens(user, login):
    # when
    response = login("alice@example.com")
    # then
    data = assert_success(response)
    assert set(data) == {"user", "access", "refresh"}
    assert data["user"]["email"] == "alice@example.com"
    assert assert_success(_me(data["access"]))["email"] == "alice@example.com"
    user.refresh_from_db()
    assert user.last_login is not None


def _me(access):
    from rest_framework.test import APIClient

    return APIClient().get("/api/v1/auth/me", **bearer(access))


def test_login_email_is_case_insensitive(user, login):
    assert login("  ALICE@example.com ").status_code == 200


@pytest.mark.parametrize(
    "email, given_password",
    [("alice@example.com", "wrong-password"), ("nobody@example.com", "Correct-Horse-42")],
    ids=["wrong-password", "unknown-email"],
)
def test_bad_credentials_are_401_and_say_the_same(user, login, email, given_password):
    error = assert_error(login(email, given_password), 401, "INVALID_CREDENTIALS")
    assert error["message"] == "Email or password is incorrect."


def test_inactive_user_cannot_log_in(user, login):
    user.is_active = False
    user.save()
    assert_error(login("alice@example.com"), 401, "INVALID_CREDENTIALS")


def test_login_ignores_a_stale_authorization_header(user, login, api):
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert login("alice@example.com").status_code == 200


# --- Two-factor ----------------------------------------------------------------------------


def test_two_factor_user_without_otp_gets_otp_required(two_factor_user, login):
    assert_error(login("bob@example.com"), 401, "OTP_REQUIRED")
    assert_error(login("bob@example.com", otp=""), 401, "OTP_REQUIRED")


def test_two_factor_user_with_wrong_otp_gets_invalid_otp(two_factor_user, login):
    wrong = "000000" if pyotp.TOTP(two_factor_user.secret).now() != "000000" else "111111"
    assert_error(login("bob@example.com", otp=wrong), 401, "INVALID_OTP")
    assert_error(login("bob@example.com", otp="abc"), 401, "INVALID_OTP")


def test_two_factor_wrong_password_is_invalid_credentials_even_with_a_good_otp(two_factor_user, login):
    code = pyotp.TOTP(two_factor_user.secret).now()
    assert_error(login("bob@example.com", "nope", otp=code), 401, "INVALID_CREDENTIALS")


def test_two_factor_user_with_right_otp_logs_in(two_factor_user, login):
    # when
    response = login("bob@example.com", otp=pyotp.TOTP(two_factor_user.secret).now())
    # then
    assert assert_success(response)["user"]["two_factor_enabled"] is True


def test_a_code_from_the_previous_step_is_accepted(two_factor_user, login):
    code = pyotp.TOTP(two_factor_user.secret).at(timezone.now(), counter_offset=-1)
    assert login("bob@example.com", otp=code).status_code == 200


def test_a_code_two_steps_old_is_refused(two_factor_user, login):
    code = pyotp.TOTP(two_factor_user.secret).at(timezone.now(), counter_offset=-3)
    assert_error(login("bob@example.com", otp=code), 401, "INVALID_OTP")


def test_the_same_code_cannot_be_used_twice(two_factor_user, login):
    # given
    totp = pyotp.TOTP(two_factor_user.secret)
    code = totp.now()
    assert login("bob@example.com", otp=code).status_code == 200
    # when
    replay = login("bob@example.com", otp=code)
    # then
    assert_error(replay, 401, "INVALID_OTP")
    # and the next step's code still works
    assert login("bob@example.com", otp=totp.at(timezone.now(), counter_offset=1)).status_code == 200
    two_factor_user.refresh_from_db()
    assert two_factor_user.totp_last_counter == totp.timecode(timezone.now()) + 1


# --- Lockout ---------------------------------------------------------------------------------


@pytest.fixture
def lockout(settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    return settings


def test_repeated_failures_lock_the_account_even_for_the_right_password(user, login, lockout):
    # given
    for _ in range(3):
        assert_error(login("alice@example.com", "wrong"), 401, "INVALID_CREDENTIALS")
    # when
    response = login("alice@example.com")
    # then
    assert_error(response, 429, "ACCOUNT_LOCKED")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert_error(login("ALICE@example.com", "wrong"), 429, "ACCOUNT_LOCKED")


def test_the_lock_ends_after_its_time(user, login, lockout):
    # given
    lockout.LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(3):
        login("alice@example.com", "wrong")
    assert login("alice@example.com").status_code == 429
    # when
    time.sleep(1.1)
    # then
    assert login("alice@example.com").status_code == 200


def test_a_success_resets_the_count(user, login, lockout):
    # given
    for _ in range(2):
        login("alice@example.com", "wrong")
    assert login("alice@example.com").status_code == 200
    # when
    for _ in range(2):
        login("alice@example.com", "wrong")
    # then
    assert login("alice@example.com").status_code == 200


def test_wrong_otps_count_towards_the_lock(two_factor_user, login, lockout):
    # given
    for _ in range(3):
        assert_error(login("bob@example.com", otp="12345x"), 401, "INVALID_OTP")
    # when
    response = login("bob@example.com", otp=pyotp.TOTP(two_factor_user.secret).now())
    # then
    assert_error(response, 429, "ACCOUNT_LOCKED")


def test_unknown_emails_lock_the_same_way(db, login, lockout):
    for _ in range(3):
        assert_error(login("ghost@example.com", "wrong"), 401, "INVALID_CREDENTIALS")
    assert_error(login("ghost@example.com", "wrong"), 429, "ACCOUNT_LOCKED")


def test_the_lock_is_per_email(user, user_factory, login, lockout):
    # given
    user_factory(email="carol@example.com")
    for _ in range(3):
        login("alice@example.com", "wrong")
    # then
    assert login("carol@example.com").status_code == 200
    assert User.objects.filter(email="alice@example.com", is_active=True).exists()
