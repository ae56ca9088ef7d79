"""Social login end to end against a real OpenID Connect provider (tests/oidc_provider, django-oauth-toolkit, a
second process): authorize → sign in at the provider → consent → the provider's callback to this app (allauth,
headless) → the storefront with a one-time code → this API's JWT pair. No part of allauth is mocked."""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp

from accounts.models import User

from .conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, PROVIDER_ID, submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_a_new_person_signs_in_and_gets_the_apis_token_pair(social_login, exchange, live_server):
    # when
    answer, browser = social_login("alice")
    # then the storefront got a code, and the code the login's answer
    assert set(answer) == {"code"}, answer
    response = exchange(answer["code"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert set(body["data"]) == {"user", "access", "refresh"}
    assert body["data"]["user"]["email"] == "alice@example.com"
    assert body["data"]["user"]["email_verified"] is True
    assert "no-store" in response.headers["Cache-Control"]
    me = requests.get(f"{live_server.url}/api/v1/auth/me", timeout=30,
                      headers={"Authorization": f"Bearer {body['data']['access']}"})
    assert me.status_code == 200 and me.json()["data"]["name"] == "Alice Liddell"
    user = User.objects.get(email="alice@example.com")
    assert not user.has_usable_password() and user.last_login is not None
    account = SocialAccount.objects.get(user=user)
    assert account.provider == PROVIDER_ID
    # the code works once; no login stays in a cookie of this API
    again = exchange(answer["code"])
    assert again.status_code == 401 and again.json()["error"]["code"] == "INVALID_TOKEN"
    assert "sessionid" not in browser.cookies.get_dict(domain="127.0.0.1") or not _session_has_login(browser)
    # and the next social login of the same person finds the same account
    second, _ = social_login("alice")
    assert exchange(second["code"]).json()["data"]["user"]["id"] == user.pk
    assert User.objects.filter(email="alice@example.com").count() == 1


def _session_has_login(browser) -> bool:
    from importlib import import_module

    from django.conf import settings

    key = browser.cookies.get("sessionid", domain="127.0.0.1")
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    return bool(session.get("_auth_user_id") or session.get("social_login_user"))


def test_an_existing_account_with_the_verified_email_is_linked_not_duplicated(
        social_login, exchange, user_factory, password, api):
    # given an account registered with the email the provider vouches for
    bob = user_factory(email="bob@example.com", name="Bob", email_verified=True)
    # when
    answer, _ = social_login("bob")
    response = exchange(answer["code"])
    # then it is the same account, now linked, its password untouched
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user"]["id"] == bob.pk
    assert User.objects.filter(email="bob@example.com").count() == 1
    assert SocialAccount.objects.filter(user=bob, provider=PROVIDER_ID).count() == 1
    login = api.post("/api/v1/auth/login", {"email": "bob@example.com", "password": password}, format="json")
    assert login.status_code == 200


def test_an_account_whose_email_was_never_verified_passes_to_the_person_the_provider_vouches_for(
        social_login, exchange, user_factory, password, api):
    # given someone registered bob@example.com with a password and never proved the address
    squatter = user_factory(email="bob@example.com", name="Squatter")
    stale = api.post("/api/v1/auth/login", {"email": "bob@example.com", "password": password}, format="json")
    refresh = stale.json()["data"]["refresh"]
    # when the provider's verified bob signs in
    answer, _ = social_login("bob")
    assert exchange(answer["code"]).status_code == 200
    # then the account is linked and its email verified, and the password and tokens set before stop working
    squatter.refresh_from_db()
    assert squatter.email_verified and not squatter.has_usable_password()
    assert SocialAccount.objects.filter(user=squatter).exists()
    assert api.post("/api/v1/auth/login", {"email": "bob@example.com", "password": password},
                    format="json").status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json").status_code == 401


def test_an_email_the_provider_does_not_vouch_for_never_reaches_an_existing_account(
        social_login, user_factory):
    # given an account with carol's email; the provider says carol's email is not verified
    carol = user_factory(email="carol@example.com", name="Carol", email_verified=True)
    # when
    answer, _ = social_login("carol")
    # then the storefront is told why, and nothing was linked or created
    assert answer == {"error": "email_not_verified"}
    assert not SocialAccount.objects.exists()
    assert list(User.objects.filter(email="carol@example.com")) == [carol]


def test_an_unverified_email_of_nobody_here_makes_an_account_to_verify(social_login, exchange, mailoutbox):
    # when carol, unknown here, signs in with an email the provider does not vouch for
    answer, _ = social_login("carol")
    response = exchange(answer["code"])
    # then she has an account whose email is not verified yet, and our verification email
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user"]["email_verified"] is False
    assert [message.to for message in mailoutbox] == [["carol@example.com"]]


def test_a_provider_without_an_email_is_refused(social_login):
    answer, _ = social_login("nomail")
    assert answer == {"error": "email_required"}
    assert not User.objects.exists()


def test_a_refused_consent_comes_back_as_an_error(social_login):
    answer, _ = social_login("alice", consent=False)
    assert answer == {"error": "cancelled"}
    assert not User.objects.exists()


def test_two_factor_asks_for_the_code_as_a_password_login_does(social_login, exchange, user_factory):
    # given bob's account has 2FA on
    bob = user_factory(email="bob@example.com", email_verified=True)
    bob.totp_secret, bob.two_factor_enabled = pyotp.random_base32(), True
    bob.save()
    answer, _ = social_login("bob")
    # when the storefront exchanges the code without a TOTP code, then with a wrong one
    first = exchange(answer["code"])
    wrong = exchange(answer["code"], otp="000000")
    # then the same second step as a password login; the code waits for it
    assert first.status_code == 401 and first.json()["error"]["code"] == "OTP_REQUIRED"
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_OTP"
    right = exchange(answer["code"], otp=pyotp.TOTP(bob.totp_secret).now())
    assert right.status_code == 200, right.text
    assert right.json()["data"]["user"]["id"] == bob.pk
    assert exchange(answer["code"], otp=pyotp.TOTP(bob.totp_secret).now()).status_code == 401  # used


def test_a_provider_configured_in_the_admin_works_the_same(social_login, exchange, social_settings, oidc_provider,
                                                           admin_login, user_factory):
    # given the provider as a social application in the database, not in settings, saved by a superuser in the
    # admin: its client secret is stored encrypted, allauth's own column left empty
    social_settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
    root = user_factory(email="root@example.com", is_superuser=True, is_staff=True)
    added = admin_login(root).post("/admin/socialaccount/socialapp/add/", {
        "provider": "openid_connect", "provider_id": PROVIDER_ID, "name": "Local IdP", "client_id": CLIENT_ID,
        "secret": CLIENT_SECRET, "settings": json.dumps({"server_url": oidc_provider.issuer})})
    assert added.status_code == 302, added.content.decode()[:2000]
    app = SocialApp.objects.get(provider_id=PROVIDER_ID)
    assert app.secret == "" and app.encrypted_secret.secret == CLIENT_SECRET
    # when
    answer, _ = social_login("alice")
    # then (the provider's token endpoint checks the client secret allauth sends)
    assert exchange(answer["code"]).status_code == 200


def test_a_native_app_logs_in_with_the_providers_id_token(social_settings, oidc_provider, live_server):
    # given an ID token the provider issued for this API's client id (an app's own sign-in, here by hand)
    id_token = _id_token_from_provider(oidc_provider, live_server, person="alice")
    # when
    response = requests.post(f"{live_server.url}/api/v1/auth/social/{PROVIDER_ID}/token",
                             json={"id_token": id_token}, timeout=30)
    # then
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user"]["email"] == "alice@example.com"
    assert EmailAddress.objects.filter(email="alice@example.com", verified=True).exists()
    forged = requests.post(f"{live_server.url}/api/v1/auth/social/{PROVIDER_ID}/token",
                           json={"id_token": id_token[:-4] + "AAAA"}, timeout=30)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "INVALID_TOKEN"


def test_a_native_app_with_two_factor_finishes_at_the_exchange(social_settings, oidc_provider, live_server,
                                                               user_factory, exchange):
    bob = user_factory(email="bob@example.com", email_verified=True)
    bob.totp_secret, bob.two_factor_enabled = pyotp.random_base32(), True
    bob.save()
    id_token = _id_token_from_provider(oidc_provider, live_server, person="bob")
    url = f"{live_server.url}/api/v1/auth/social/{PROVIDER_ID}/token"
    first = requests.post(url, json={"id_token": id_token}, timeout=30)
    assert first.status_code == 401 and first.json()["error"]["code"] == "OTP_REQUIRED"
    replay = requests.post(url, json={"id_token": id_token, "otp": pyotp.TOTP(bob.totp_secret).now()}, timeout=30)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "INVALID_TOKEN"  # a token is used once
    done = exchange(first.json()["error"]["details"]["code"], otp=pyotp.TOTP(bob.totp_secret).now())
    assert done.status_code == 200 and done.json()["data"]["user"]["id"] == bob.pk


def _id_token_from_provider(provider, live_server, *, person: str) -> str:
    """The authorization code flow at the provider for this API's client (PKCE), as an app's sign-in does."""
    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{live_server.url}/api/v1/auth/social/oidc/{PROVIDER_ID}/login/callback"
    login_page = browser.get(f"{provider.issuer}/authorize/", timeout=30, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": redirect_uri, "scope": "openid profile email",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    consent_page = submit(browser, login_page, {"username": person, "password": PASSWORD})
    back = submit(browser, consent_page, {"allow": "Authorize"}, follow=False)
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    tokens = requests.post(f"{provider.issuer}/token/", timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["id_token"]

