import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from config.api.views import csrf_failure


def test_health_reports_each_check(api, db):
    response = api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["status"] == "ok"
    assert set(body["data"]["checks"]) == {"database", "cache", "broker", "storage"}


def test_health_is_503_when_database_is_down(api, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("connection refused")

    monkeypatch.setattr("config.api.views._database", broken)
    response = api.get("/api/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["details"]["database"] == "error"


def test_version(api):
    response = api.get("/api/version/")
    assert response.status_code == 200
    assert response.json()["data"]["api"] == "v1"
    assert response.json()["data"]["version"]


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["success"] is False


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_to_an_unknown_api_path_is_json_404_not_the_csrf_page(method):
    # given a client that sends no CSRF cookie, as API clients do
    client = Client(enforce_csrf_checks=True)
    # when it writes to a path no endpoint serves
    response = getattr(client, method)("/api/v1/notifications/x/read", "{}", content_type="application/json")
    # then it gets the enveloped 404, not Django's HTML 403
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_csrf_failure_is_enveloped_under_api_only():
    factory = RequestFactory()
    api_answer = csrf_failure(factory.post("/api/v1/anything"), reason="CSRF cookie not set.")
    assert api_answer.status_code == 403
    assert json.loads(api_answer.content)["error"]["code"] == "PERMISSION_DENIED"
    admin_answer = csrf_failure(factory.post("/admin/login/"), reason="CSRF cookie not set.")
    assert admin_answer.status_code == 403 and admin_answer["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/stores"])
def test_json_nested_too_deeply_is_400_not_500(api, user, path):
    from stores.models import Store

    # given a logged-in client (the store list takes writes from users)
    api.force_authenticate(user)
    # when it sends JSON nested deeper than the decoder recurses
    response = api.post(path, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    # then it is a malformed body, and nothing was created
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Store.objects.exists()


def test_request_id_is_echoed_or_made(api):
    assert api.get("/api/version", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    made = api.get("/api/version")["X-Request-ID"]
    assert len(made) == 32
    # a header that could smuggle log lines is replaced, not echoed
    assert api.get("/api/version", HTTP_X_REQUEST_ID="bad\nid")["X-Request-ID"] != "bad\nid"


def test_schema_and_docs_are_served(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    document = json.loads(schema.content)
    assert document["openapi"].startswith("3.")
    assert "/api/health" in document["paths"]
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content  # served offline from the sidecar


def test_huge_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/auth/login", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_security_headers_when_debug_is_off(api):
    response = api.get("/api/version")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    from django.conf import settings

    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31536000


def test_argon2_is_the_production_hasher():
    import config.settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_sqlite_is_set_up_for_concurrent_writers():
    import config.settings as production

    if production.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the server runs on PostgreSQL here")
    options = production.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert "busy_timeout" in options["init_command"]


def test_schema_wraps_every_success_answer_in_one_envelope(api, db):
    document = json.loads(api.get("/api/schema/", HTTP_ACCEPT="application/json").content)
    components = document["components"]["schemas"]

    def resolve(schema):
        ref = schema.get("$ref")
        return components[ref.rsplit("/", 1)[1]] if ref else schema

    checked = 0
    for path, operations in document["paths"].items():
        if path.startswith("/api/v1/payments/webhooks/"):
            continue  # answered in each gateway's own form (API.md "Conventions")
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not schema or not status.startswith("2"):
                    continue
                for envelope in resolve(schema).get("oneOf", [schema]):  # an answer of several shapes: each
                    envelope = resolve(envelope)
                    assert "success" in envelope["properties"], (method, path)
                    data = resolve(envelope["properties"]["data"])
                    assert "success" not in data.get("properties", {}), f"double envelope: {method} {path}"
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("outage", [
    OperationalError("could not connect to server"),
    InterfaceError("connection already closed"),
    RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"),
])
def test_a_backing_service_outage_is_503_with_retry_after(api, store, monkeypatch, outage):
    # given the database or the cache failing under a request
    def fail(**kwargs):
        raise outage

    monkeypatch.setattr("catalog.views.selectors.brand_list", fail)
    # when
    response = api.get(f"/api/v1/stores/{store.slug}/brands")
    # then it is a retryable 503 in the envelope, not an INTERNAL_ERROR
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response["Retry-After"] == "5"
    assert str(outage) not in response.content.decode()  # no internals to the client


@pytest.mark.parametrize("outage", [
    OperationalError("could not connect to server"),
    RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"),
])
def test_an_outage_outside_drf_is_503_with_retry_after_too(api, store, monkeypatch, outage):
    # given the database failing where a view's wrapper reads it before DRF runs (the catalog's cached reads look
    # the store up first)
    from catalog import cache as catalog_cache

    def fail(slug):
        raise outage

    monkeypatch.setattr(catalog_cache, "_store_id_for", fail)
    # when
    response = api.get(f"/api/v1/stores/{store.slug}/products")
    # then the same retryable 503 as inside DRF, not Django's 500
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response["Retry-After"] == "5"
    assert str(outage) not in response.content.decode()
