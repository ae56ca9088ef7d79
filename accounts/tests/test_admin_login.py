"""The admin's login form follows the API's login rules: the lockout after repeated failures
and the TOTP code for an account with 2FA on (accounts.services.user_authenticate)."""

import pyotp
import pytest
from django.test import Client, override_settings
from django.utils import timezone


@pytest.fixture
def owner(store):
    return store.owner


def admin_login(client: Client, email: str, password: str, otp: str = ""):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password, "otp": otp})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_login_page_offers_the_one_time_code_field(db):
    page = Client().get("/admin/login/").content.decode()
    assert 'name="otp"' in page and 'name="username"' in page and 'name="password"' in page


def test_a_member_without_2fa_logs_in_with_email_and_password(owner, password):
    client = Client()
    response = admin_login(client, owner.email, password)
    assert response.status_code == 302 and logged_in(client)


def test_2fa_on_needs_the_current_code(owner, password):
    # given an owner with 2FA on
    owner.totp_secret = pyotp.random_base32()
    owner.two_factor_enabled = True
    owner.save()
    client = Client()
    # when they give the password only, or a wrong code
    without = admin_login(client, owner.email, password)
    wrong = admin_login(client, owner.email, password, otp="000000")
    # then they stay out
    assert without.status_code == wrong.status_code == 200
    assert "Two-factor authentication is on" in without.content.decode()
    assert not logged_in(client)
    # and with the current code they are in
    code = pyotp.TOTP(owner.totp_secret).at(timezone.now())
    assert admin_login(client, owner.email, password, otp=code).status_code == 302
    assert logged_in(client)


@override_settings(LOGIN_MAX_FAILURES=3)
def test_repeated_failures_lock_the_admin_login_too_even_for_the_right_password(owner, password, api):
    client = Client()
    for _ in range(3):
        admin_login(client, owner.email, "wrong-password")
    # the right password is refused while locked, here and on the API
    response = admin_login(client, owner.email, password)
    assert response.status_code == 200 and "Too many failed logins" in response.content.decode()
    assert not logged_in(client)
    api_login = api.post("/api/v1/auth/login", {"email": owner.email, "password": password}, format="json")
    assert api_login.status_code == 429 and api_login.json()["error"]["code"] == "ACCOUNT_LOCKED"


@override_settings(LOGIN_MAX_FAILURES=3)
def test_api_failures_lock_the_admin_login(owner, password, api):
    for _ in range(3):
        api.post("/api/v1/auth/login", {"email": owner.email, "password": "wrong-password"}, format="json")
    client = Client()
    assert admin_login(client, owner.email, password).status_code == 200
    assert not logged_in(client)
