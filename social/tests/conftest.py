"""A real OpenID Connect provider for the social login tests: tests/oidc_provider (django-oauth-toolkit) as a second
process on a free port, its RSA key made here, its client registered with this app's callback on the live server;
and ``social_login``, which drives a browser's whole trip with an HTTP client."""

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_ID = "localidp"
CLIENT_ID = "store-api"
CLIENT_SECRET = "store-api-secret-0123456789"
STOREFRONT = "http://shop.test"
CALLBACK = f"{STOREFRONT}/social/callback"
PASSWORD = "provider-pass-42"
# the people the provider knows; email_verified is what it vouches for
PEOPLE = {
    "alice": {"email": "alice@example.com", "name": "Alice Liddell", "email_verified": True},
    "bob": {"email": "bob@example.com", "name": "Bob Provider", "email_verified": True},
    "carol": {"email": "carol@example.com", "name": "Carol", "email_verified": False},
    "nomail": {"email": "", "name": "No Mail", "email_verified": False},
}


class Provider:
    def __init__(self, url: str) -> None:
        self.url = url
        self.issuer = f"{url}/o"


@pytest.fixture(scope="module")
def oidc_provider(live_server, tmp_path_factory):
    """The provider process, for the module; its client's redirect URI is this app's callback on the live server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    env = {
        **os.environ,
        "OIDC_DB_PATH": str(tmp_path_factory.mktemp("oidc") / "provider.sqlite3"),
        "OIDC_RSA_PRIVATE_KEY": pem,
        "OIDC_USERS": json.dumps([{"username": name, "password": PASSWORD, **person}
                                  for name, person in PEOPLE.items()]),
        "OIDC_CLIENT": json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [
            f"{live_server.url}/api/v1/auth/social/oidc/{PROVIDER_ID}/login/callback"]}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen([sys.executable, "-m", "tests.oidc_provider.serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # blocks until it serves, or ends
        if not line.startswith("READY "):
            process.kill()
            raise RuntimeError(f"the OIDC provider did not start: {line}{process.stderr.read()[-3000:]}")
        yield Provider(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def social_settings(settings, oidc_provider):
    """This deployment offers the local provider (configured in settings, as SOCIAL_OIDC_* does) and lets the
    storefront at STOREFRONT be the callback; cookies over plain HTTP, as the live server speaks it."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [{
            "provider_id": PROVIDER_ID, "name": "Local IdP", "client_id": CLIENT_ID, "secret": CLIENT_SECRET,
            "settings": {"server_url": oidc_provider.issuer}}]},
    }
    settings.SOCIAL_LOGIN_CALLBACK_ORIGINS = [STOREFRONT]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return settings


class Forms(HTMLParser):
    """The forms of a page: each one's action and its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name") and attrs.get("type") != "submit":
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def page_form(response) -> dict:
    parser = Forms()
    parser.feed(response.text)
    assert parser.forms, f"no form at {response.url}: {response.status_code} {response.text[:500]}"
    return parser.forms[0]


def submit(browser, response, data: dict, *, follow: bool = True):
    form = page_form(response)
    return browser.post(urljoin(response.url, form["action"]) if form["action"] else response.url,
                        data={**form["fields"], **data}, allow_redirects=follow, timeout=30)


def _until_storefront(browser, response) -> dict:
    """Follows the redirects until the one to the storefront; answers its query (code or error)."""
    for _ in range(10):
        assert response.status_code in (301, 302, 303), f"{response.status_code} at {response.url}: " \
                                                         f"{response.text[:800]}"
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(CALLBACK):
            return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        response = browser.get(location, allow_redirects=False, timeout=30)
    raise AssertionError("too many redirects")


@pytest.fixture
def social_login(live_server, social_settings, oidc_provider):
    """``social_login(person, consent=True)``: a browser opens the storefront's "Sign in with Local IdP" link, signs
    in at the provider as ``person``, answers its consent page, and comes back through this app to the storefront;
    answers the storefront's query ({"code": …} or {"error": …}) and the browser (its cookies)."""

    def run(person: str, *, consent: bool = True, provider: str = PROVIDER_ID):
        browser = requests.Session()
        start = browser.get(f"{live_server.url}/api/v1/auth/social/{provider}/login",
                            params={"callback_url": CALLBACK}, allow_redirects=False, timeout=30)
        assert start.status_code == 302, start.text
        assert start.headers["Location"].startswith(f"{oidc_provider.issuer}/authorize/")
        login_page = browser.get(start.headers["Location"], timeout=30)  # → the provider's sign-in page
        assert "Sign in" in login_page.text, login_page.text[:500]
        consent_page = submit(browser, login_page, {"username": person, "password": PASSWORD})
        assert "authorizationForm" in consent_page.text, consent_page.text[:800]
        answer = {"allow": "Authorize"} if consent else {}
        back = submit(browser, consent_page, answer, follow=False)  # → this app's callback
        return _until_storefront(browser, back), browser

    return run


@pytest.fixture
def exchange(live_server):
    def run(code: str, otp: str | None = None):
        body = {"code": code} if otp is None else {"code": code, "otp": otp}
        return requests.post(f"{live_server.url}/api/v1/auth/social/exchange", json=body, timeout=30)

    return run
