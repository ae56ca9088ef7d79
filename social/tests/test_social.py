"""Social login without a provider: what is offered, the redirects' guards, the one-time code, the feature switch, the
admin and what privacy erases and exports. The whole flow against a real provider: test_oidc_end_to_end.py."""

import base64
import io
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from config.fields import is_current
from social import services
from social.models import SocialAppSecret

pytestmark = pytest.mark.django_db

STOREFRONT = "http://shop.test"


@pytest.fixture
def google_and_github(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True,
                   "APPS": [{"client_id": "g-client", "secret": "g-secret", "key": ""}]},
        "github": {"APPS": [{"client_id": "gh-client", "secret": "gh-secret", "key": ""}]},
        "openid_connect": {},
    }
    settings.SOCIAL_LOGIN_CALLBACK_ORIGINS = [STOREFRONT]
    return settings


def test_nothing_is_offered_without_configuration(api, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {}, "github": {}, "openid_connect": {}}
    response = api.get("/api/v1/auth/social/providers")
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert api.get("/api/v1/auth/social/google/login", {"callback_url": f"{STOREFRONT}/cb"}).status_code == 404


def test_configured_providers_are_offered_from_settings_and_the_admin(api, google_and_github):
    SocialApp.objects.create(provider="openid_connect", provider_id="keycloak", name="Keycloak", client_id="kc",
                             secret="kc-secret", settings={"server_url": "https://id.example.com/realms/shop"})
    SocialApp.objects.create(provider="openid_connect", provider_id="hidden", name="Hidden", client_id="h",
                             secret="h", settings={"server_url": "https://h.example.com", "hidden": True})
    data = api.get("/api/v1/auth/social/providers").json()["data"]
    assert [(entry["id"], entry["kind"], entry["token_login"]) for entry in data] == [
        ("keycloak", "openid_connect", True), ("google", "google", True), ("github", "github", False)]
    assert data[1]["login_url"] == "http://testserver/api/v1/auth/social/google/login"
    assert "g-secret" not in str(data) and "kc-secret" not in str(data)


def test_the_login_starts_at_the_provider_with_pkce_and_its_state_in_a_cookie(api, google_and_github):
    response = api.get("/api/v1/auth/social/google/login", {"callback_url": f"{STOREFRONT}/cb"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    assert location.netloc == "accounts.google.com"
    assert query["client_id"] == "g-client"
    assert query["redirect_uri"] == "http://testserver/api/v1/auth/social/google/login/callback"
    assert query["code_challenge_method"] == "S256" and query["state"]
    assert "sessionid" in response.cookies


@pytest.mark.parametrize("callback_url", ["", "https://evil.example/cb", "javascript:alert(1)", "/relative",
                                          "http://user@shop.test/cb"])
def test_the_login_goes_back_only_to_an_allowed_storefront(api, google_and_github, callback_url):
    response = api.get("/api/v1/auth/social/google/login", {"callback_url": callback_url})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "callback_url" in response.json()["error"]["details"]
    complete = api.get("/api/v1/auth/social/complete", {"callback_url": callback_url})
    assert complete.status_code == 400


def test_the_callback_origins_default_to_the_frontend_and_cors_origins(settings):
    settings.SOCIAL_LOGIN_CALLBACK_ORIGINS = []
    settings.FRONTEND_URL = "https://shop.example.com/app"
    settings.CORS_ALLOWED_ORIGINS = ["https://m.shop.example.com"]
    assert services.callback_origins() == {"https://shop.example.com", "https://m.shop.example.com"}


def test_an_unknown_provider_is_not_found(api, google_and_github):
    response = api.get("/api/v1/auth/social/facebook/login", {"callback_url": f"{STOREFRONT}/cb"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_end_without_a_login_sends_the_storefront_an_error(api, google_and_github):
    response = api.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb?x=1", "error": "cancelled"})
    assert response.status_code == 302
    assert response["Location"] == f"{STOREFRONT}/cb?x=1&error=cancelled"
    response = api.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb"})
    assert response["Location"] == f"{STOREFRONT}/cb?error=unknown"


def test_a_code_is_exchanged_once(api, user):
    code = services.login_code_issue(user=user)
    first = api.post("/api/v1/auth/social/exchange", {"code": code}, format="json")
    second = api.post("/api/v1/auth/social/exchange", {"code": code}, format="json")
    assert first.status_code == 200, first.json()
    assert first.json()["data"]["user"]["id"] == user.pk
    assert second.status_code == 401 and second.json()["error"]["code"] == "INVALID_TOKEN"
    assert api.post("/api/v1/auth/social/exchange", {"code": "made-up"}, format="json").status_code == 401


def test_a_code_of_an_account_disabled_meanwhile_is_refused(api, user):
    code = services.login_code_issue(user=user)
    user.is_active = False
    user.save()
    response = api.post("/api/v1/auth/social/exchange", {"code": code}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_wrong_totp_codes_at_the_exchange_lock_the_account(api, user, settings):
    import pyotp

    settings.LOGIN_MAX_FAILURES = 2
    user.totp_secret, user.two_factor_enabled = pyotp.random_base32(), True
    user.save()
    code = services.login_code_issue(user=user)
    codes = [api.post("/api/v1/auth/social/exchange", {"code": code, "otp": "000000"}, format="json")
             .json()["error"]["code"] for _ in range(3)]
    assert codes == ["INVALID_OTP", "INVALID_OTP", "ACCOUNT_LOCKED"]


def test_a_provider_without_token_login_refuses_tokens(api, google_and_github):
    response = api.post("/api/v1/auth/social/github/token", {"access_token": "gho_x"}, format="json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_TOKEN"
    empty = api.post("/api/v1/auth/social/google/token", {}, format="json")
    assert empty.status_code == 400


def test_every_social_route_is_not_found_while_social_login_is_off(api, google_and_github):
    from features.services import feature_flag_set

    feature_flag_set(name="social_login", enabled=False)
    answers = [
        api.get("/api/v1/auth/social/providers"),
        api.get("/api/v1/auth/social/google/login", {"callback_url": f"{STOREFRONT}/cb"}),
        api.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb"}),
        api.post("/api/v1/auth/social/exchange", {"code": "x"}, format="json"),
        api.post("/api/v1/auth/social/google/token", {"id_token": "x"}, format="json"),
        api.get("/api/v1/auth/social/google/login/callback", {"code": "x", "state": "y"}),
    ]
    assert [answer.status_code for answer in answers] == [404] * 6
    assert {answer.json()["error"]["code"] for answer in answers} == {"NOT_FOUND"}
    feature_flag_set(name="social_login", enabled=True)
    assert api.get("/api/v1/auth/social/providers").status_code == 200


# --- The admin --------------------------------------------------------------------------------------------------


def test_the_admin_masks_a_client_secret_and_keeps_it_when_left_empty(admin_login, user_factory):
    root = user_factory(email="root@example.com", is_superuser=True, is_staff=True)
    app = SocialApp.objects.create(provider="openid_connect", provider_id="kc", name="Keycloak", client_id="kc",
                                   secret="very-secret-value-1234", settings={"server_url": "https://id.example.com"})
    client = admin_login(root)
    listing = client.get("/admin/socialaccount/socialapp/")
    assert listing.status_code == 200
    assert "very-secret-value" not in listing.content.decode() and "1234" in listing.content.decode()
    page = client.get(f"/admin/socialaccount/socialapp/{app.pk}/change/")
    assert page.status_code == 200 and "very-secret-value" not in page.content.decode()
    saved = client.post(f"/admin/socialaccount/socialapp/{app.pk}/change/", {
        "provider": "openid_connect", "provider_id": "kc", "name": "Keycloak 2", "client_id": "kc", "secret": "",
        "settings": '{"server_url": "https://id.example.com"}'})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    app.refresh_from_db()
    # kept, and (a plain one from before) moved to the encrypted store: allauth's column is empty
    assert app.name == "Keycloak 2" and app.secret == "" and services.app_secret(app) == "very-secret-value-1234"
    refused = client.post("/admin/socialaccount/socialapp/add/", {
        "provider": "openid_connect", "provider_id": "", "name": "x", "client_id": "x", "secret": "s",
        "settings": "{}"})
    assert refused.status_code == 200 and SocialApp.objects.count() == 1


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_client_secret_saved_in_the_admin_is_stored_encrypted_and_allauth_gets_it(admin_login, user_factory, rf):
    root = user_factory(email="root@example.com", is_superuser=True, is_staff=True)
    client = admin_login(root)
    form = {"provider": "openid_connect", "provider_id": "kc", "name": "Keycloak", "client_id": "kc",
            "secret": "kc-client-secret-5678", "settings": '{"server_url": "https://id.example.com"}'}
    # when a superuser adds a provider, then changes its secret
    assert client.post("/admin/socialaccount/socialapp/add/", form).status_code == 302
    app = SocialApp.objects.get(provider_id="kc")
    first = raw_column("social_socialappsecret", "secret", app.encrypted_secret.pk)
    assert client.post(f"/admin/socialaccount/socialapp/{app.pk}/change/",
                       {**form, "secret": "kc-client-secret-9999"}).status_code == 302
    # then allauth's column never holds it; the encrypted column holds ciphertext, not the secret
    assert raw_column("socialaccount_socialapp", "secret", app.pk) == ""
    stored = raw_column("social_socialappsecret", "secret", app.encrypted_secret.pk)
    assert stored.startswith("aes256gcm:") and stored != first
    assert "kc-client-secret" not in stored and "9999" not in stored
    assert SocialAppSecret.objects.count() == 1
    # and allauth's provider (the login flows') has the new secret; the listing shows it masked
    request = rf.get("/")
    assert get_adapter(request).get_app(request, "kc").secret == "kc-client-secret-9999"
    listing = client.get("/admin/socialaccount/socialapp/").content.decode()
    assert "kc-client-secret" not in listing and "••••9999" in listing


def test_the_migration_moves_plain_secrets_into_the_encrypted_store():
    # given a secret allauth kept in plain text (as before the migration), and an app without one
    legacy = SocialApp.objects.create(provider="github", name="GitHub", client_id="gh", secret="gh-plain-secret-0001")
    empty = SocialApp.objects.create(provider="google", name="Google", client_id="g", secret="")
    # when
    migration = import_module("social.migrations.0002_move_plain_secrets")
    migration.secrets_encrypt(django_apps, None)
    # then
    assert raw_column("socialaccount_socialapp", "secret", legacy.pk) == ""
    assert "gh-plain-secret" not in raw_column("social_socialappsecret", "secret", legacy.encrypted_secret.pk)
    assert SocialAppSecret.objects.get(app=legacy).secret == "gh-plain-secret-0001"
    assert not SocialAppSecret.objects.filter(app=empty).exists()
    migration.secrets_decrypt(django_apps, None)  # and back
    assert raw_column("socialaccount_socialapp", "secret", legacy.pk) == "gh-plain-secret-0001"
    assert not SocialAppSecret.objects.exists()


def test_key_rotation_re_encrypts_the_client_secrets(settings, rf):
    app = SocialApp.objects.create(provider="github", name="GitHub", client_id="gh")
    services.app_secret_set(app=app, secret="gh-secret-rotated-0002")
    new_key = base64.b64encode(b"n" * 32).decode()
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[settings.FIELD_ENCRYPTION_KEY]):
        out = io.StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "social.SocialAppSecret.secret: 1 re-encrypted" in out.getvalue()
        assert is_current(raw_column("social_socialappsecret", "secret", app.encrypted_secret.pk))
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        request = rf.get("/")
        assert get_adapter(request).get_app(request, "github").secret == "gh-secret-rotated-0002"


def test_merchants_do_not_see_the_social_providers(admin_login, store):
    client = admin_login(store.owner)
    assert client.get("/admin/socialaccount/socialapp/").status_code == 403
    assert client.get("/admin/socialaccount/socialaccount/").status_code == 403


# --- Privacy ------------------------------------------------------------------------------------------------------


def test_deleting_an_account_forgets_its_provider_links(user, api):
    from privacy.services.erasure import account_erase

    app = SocialApp.objects.create(provider="openid_connect", provider_id="kc", name="KC", client_id="kc",
                                   secret="s", settings={"server_url": "https://id.example.com"})
    account = SocialAccount.objects.create(user=user, provider="kc", uid="sub-1", extra_data={"email": user.email})
    SocialToken.objects.create(app=app, account=account, token="provider-access-token")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    erasure = account_erase(user=user)
    assert erasure.counts["social_accounts"] == 1
    assert not SocialAccount.objects.exists() and not SocialToken.objects.exists()
    assert not EmailAddress.objects.exists()


def test_the_data_export_lists_linked_providers_without_tokens(user):
    from privacy.services.exports import data_export_collect

    app = SocialApp.objects.create(provider="google", name="Google", client_id="g", secret="s")
    account = SocialAccount.objects.create(user=user, provider="google", uid="1234", extra_data={"picture": "x"})
    SocialToken.objects.create(app=app, account=account, token="provider-access-token")
    linked = data_export_collect(user=user)["account"]["linked_providers"]
    assert [(entry["provider"], entry["uid"]) for entry in linked] == [("google", "1234")]
    assert "provider-access-token" not in str(linked) and "picture" not in str(linked)


def test_an_account_without_a_password_is_deleted_with_a_fresh_social_login(user_factory, client_for):
    from accounts.models import User

    person = user_factory(email="social@example.com", email_verified=True)
    person.set_unusable_password()
    person.save()
    SocialAccount.objects.create(user=person, provider="google", uid="42")
    other = user_factory(email="other@example.com")
    api = client_for(person)
    # a code of someone else, or none, is refused
    foreign = api.post("/api/v1/me/delete", {"social_code": services.login_code_issue(user=other)}, format="json")
    assert foreign.status_code == 401 and foreign.json()["error"]["code"] == "INVALID_TOKEN"
    assert api.post("/api/v1/me/delete", {}, format="json").status_code == 400
    # a fresh code of theirs deletes the account, once
    code = services.login_code_issue(user=person)
    response = api.post("/api/v1/me/delete", {"social_code": code}, format="json")
    assert response.status_code == 202, response.json()
    person.refresh_from_db()
    assert not person.is_active and person.email != "social@example.com"
    assert not SocialAccount.objects.exists()
    assert User.objects.filter(email="other@example.com").exists()


def test_the_end_takes_a_fresh_login_from_the_session_once(client, user, google_and_github):
    import time

    session = client.session
    session[services.HANDOFF_SESSION_KEY] = {"user": user.pk, "at": time.time()}
    session.save()
    first = client.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb"})
    again = client.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb"})
    assert "code=" in first["Location"] and again["Location"] == f"{STOREFRONT}/cb?error=unknown"
    stale = client.session
    stale[services.HANDOFF_SESSION_KEY] = {"user": user.pk, "at": time.time() - 3600}
    stale.save()
    late = client.get("/api/v1/auth/social/complete", {"callback_url": f"{STOREFRONT}/cb"})
    assert late["Location"] == f"{STOREFRONT}/cb?error=unknown"
