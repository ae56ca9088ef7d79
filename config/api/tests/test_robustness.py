"""Client input that once reached the handler as an unexpected error, and the conventions
around it: each answers its contract code in the envelope, never a 500."""

import json
import logging
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.test import Client
from rest_framework.test import APIClient

from config.api.middleware import RequestIDLogFilter


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert b"Traceback" not in response.content
    return body["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/version", "/api/v1/stores", "/api/v1/auth/me"])
def test_more_query_parameters_than_django_reads_is_400(api, path):
    query = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    assert_error(api.get(f"{path}?{query}"), 400, "VALIDATION_ERROR")


def test_a_form_body_with_too_many_fields_is_refused_unread(auth_api):
    # a JSON endpoint refuses a form body by its content type (415), before Django counts its fields
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = auth_api.post("/api/v1/stores", body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_multipart_upload_with_too_many_fields_is_400(store, client_for):
    from tests.factories import ProductFactory

    product = ProductFactory(store=store)
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client_for(store.owner).post(f"/api/v1/stores/{store.slug}/products/{product.pk}/images", fields,
                                            format="multipart")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_malformed_authorization_header_has_a_readable_message(api, db):
    error = assert_error(api.get("/api/v1/auth/me", HTTP_AUTHORIZATION="Bearer"), 401, "INVALID_TOKEN")
    assert error["message"] == "Authorization header must contain two space-delimited values"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/xml", "text/html", "text/csv"])
def test_an_accept_header_we_cannot_satisfy_still_gets_json(api, user, accept):
    assert api.get("/api/version", HTTP_ACCEPT=accept).json()["success"] is True
    assert_error(api.get("/api/v1/auth/me", HTTP_ACCEPT=accept), 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema", "/api/docs"])
def test_schema_and_docs_accept_the_path_without_a_trailing_slash(api, path):
    assert api.get(path).status_code == 200


def test_swagger_ui_assets_are_served_offline_with_debug_off(db):
    from django.conf import settings as live

    assert not live.DEBUG
    page = Client().get("/api/docs/").content.decode()
    assets = [part.split('"')[0] for part in page.split('="/static/')[1:]]
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), page
    for asset in assets:
        assert Client().get(f"/static/{asset}").status_code == 200, asset


def test_an_error_logged_after_the_response_carries_the_request_id():
    # django.request logs 4xx/5xx once RequestIDMiddleware has returned: the id comes from the request
    request = Client().get("/api/version", HTTP_X_REQUEST_ID="req-7").wsgi_request
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Bad Request", (), None)
    record.request = request
    RequestIDLogFilter().filter(record)
    assert record.request_id == "req-7"


def test_too_many_fields_raised_anywhere_in_a_view_is_400(rf):
    from config.api.exceptions import exception_handler

    response = exception_handler(TooManyFieldsSent("too many"), {"request": rf.get("/api/x")})
    assert response.status_code == 400
    assert response.data["error"]["code"] == "VALIDATION_ERROR"


def load_settings(**environment: str) -> subprocess.CompletedProcess:
    import os

    clean = {key: value for key, value in os.environ.items()
             if key not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "THROTTLE_RATES", "DJANGO_SETTINGS_MODULE"}}
    code = "import json, config.settings as s; print(json.dumps(s.THROTTLE_RATES))"
    return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env={**clean, **environment},
                          capture_output=True, text=True, timeout=60)


def test_throttle_rates_change_only_the_scopes_they_name():
    result = load_settings(DEBUG="1", THROTTLE_RATES="auth=3/min, uploads=20/hour")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"anon": "100/min", "user": "1000/min", "auth": "3/min",
                                         "payments": "50/hour", "uploads": "20/hour", "analytics": "120/min"}


@pytest.mark.parametrize("rates", ["auth", "auth=ten/min", "auth=10/fortnight"])
def test_malformed_throttle_rates_refuse_to_start(rates):
    result = load_settings(DEBUG="1", THROTTLE_RATES=rates)
    assert result.returncode != 0
    assert "THROTTLE_RATES" in result.stderr


@pytest.mark.parametrize("key", ["not base64!", "c2hvcnQ=", "A" * 43])
def test_a_malformed_field_encryption_key_refuses_to_start(key):
    result = load_settings(DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEY=key)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be 32 random bytes" in result.stderr


def test_an_idempotency_key_forgotten_between_the_clash_and_the_read_is_409_not_500(db, monkeypatch):
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from config.api import idempotency

    # given a clash on the unique key (the INSERT inserts nothing) whose row the failed first attempt has deleted
    # meanwhile
    monkeypatch.setattr(idempotency, "_key_insert", lambda **fields: None)
    request = Request(APIRequestFactory().post("/api/x", {"a": 1}, format="json"), parsers=[JSONParser()])
    # when / then: the retry is told to come back, as while the first attempt runs
    with pytest.raises(idempotency.IdempotentRequestInProgress):
        idempotency._claim(key="k", request=request)


def test_the_bare_api_path_is_a_json_404_too(api):
    assert_error(api.get("/api"), 404, "NOT_FOUND")


def test_an_empty_database_url_means_the_embedded_default():
    import os

    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = "import config.settings as s; print(s.DATABASES['default']['ENGINE'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR,
                            env={**env, "DEBUG": "1", "DATABASE_URL": ""}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.django_db
@pytest.mark.parametrize("path, body", [
    ("/api/v1/stores", '{"name": "S", "currency": "\\ud800"}'),
    ("/api/v1/notifications/preferences", '{"\\ud800": {"in_app": true}}'),
])
def test_a_lone_surrogate_echoed_in_an_error_is_still_a_json_400(user, path, body):
    # given a client that sends a lone UTF-16 surrogate where a choice or a key is expected
    client = APIClient()
    client.force_authenticate(user)
    method = client.put if path.endswith("preferences") else client.post
    # when
    response = method(path, body, content_type="application/json")
    # then the refusal (which quotes the input) is valid JSON in the envelope, not a 500
    assert response.status_code == 400, response.content
    assert json.loads(response.content)["error"]["code"] == "VALIDATION_ERROR"
