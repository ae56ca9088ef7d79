"""Startup rules of config/settings.py, checked in a fresh interpreter for each environment."""

import json
import logging
import os
import subprocess
import sys

from django.conf import settings

from config.api.middleware import RequestIDLogFilter, request_id_var


def load_settings(**environment: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if key not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}}
    code = ("import json, config.settings as s; print(json.dumps({'debug': s.DEBUG, "
            "'hsts': s.SECURE_HSTS_SECONDS, 'secure_cookie': s.SESSION_COOKIE_SECURE}))")
    return subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env={**clean, **environment},
                          capture_output=True, text=True, timeout=60)


def test_debug_off_without_secret_key_refuses_to_start():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_off_without_encryption_key_refuses_to_start():
    result = load_settings(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


def test_debug_on_runs_with_no_secrets_and_relaxed_transport_security():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"debug": True, "hsts": 0, "secure_cookie": False}


def test_production_turns_on_hsts_and_secure_cookies():
    result = load_settings(DEBUG="0", SECRET_KEY="x" * 50, FIELD_ENCRYPTION_KEY="A" * 43 + "=")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"debug": False, "hsts": 31536000, "secure_cookie": True}


def test_cors_allows_only_the_configured_origins(api, db):
    allowed = api.get("/api/version", HTTP_ORIGIN=settings.CORS_ALLOWED_ORIGINS[0])
    assert allowed["Access-Control-Allow-Origin"] == settings.CORS_ALLOWED_ORIGINS[0]
    assert "X-Request-ID" in allowed["Access-Control-Expose-Headers"]
    refused = api.get("/api/version", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused


def test_log_lines_are_json_with_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(**{k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"})
    record = logging.LogRecord("config.api", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("req-42")
    try:
        RequestIDLogFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(formatter.format(record))
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO"


def test_order_timings_out_of_range_or_not_numbers_refuse_to_start_with_the_reason():
    too_small = load_settings(DEBUG="1", CART_IDLE_DAYS="0")
    not_a_number = load_settings(DEBUG="1", ORDER_RESERVATION_MINUTES="abc")
    assert too_small.returncode != 0 and "CART_IDLE_DAYS must be at least 1" in too_small.stderr
    assert not_a_number.returncode != 0 and "ORDER_RESERVATION_MINUTES must be a whole number" in not_a_number.stderr
