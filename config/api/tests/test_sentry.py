"""Sentry: on with SENTRY_DSN, and no personal data in what it sends (config/sentry.py)."""

import json
import os
import subprocess
import sys

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from config.api.middleware import request_id_var
from config.api.views import VersionView
from config.sentry import FILTERED, before_send, scrub_text, sentry_init

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjo3fQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
# the request's data, kept away from the test's own lines (Sentry sends the source lines around each frame)
EMAIL, CARD = "alice@example.com", "4242 4242 4242 4242"
COOKIE, API_KEY = "sessionid=s3ss10n", "kp7Fq2.Zx9y8w7v6u5t4s3r2"
FAILURE = f"could not charge {EMAIL}, card {CARD}, token {JWT}"
PII = ("alice@example.com", "4242 4242 4242 4242", "4242424242424242", "4000-0566-5566-5556", JWT, "eyJ",
       "abc123secret", "sessionid=s3ss10n", "kp7Fq2.Zx9y8w7v6u5t4s3r2", "198.51.100.7", "Alice Liddell",
       "+218911234567", "whsec_0a1b2c3d4e5f", "sk_live_51Habcdefg", "1 Main St", "Tripoli", "pi_3Ab_secret_xyz789abc")


def realistic_event() -> dict:
    """An event as sentry-sdk's Django and logging integrations build it for a failed checkout."""
    return {
        "event_id": "9f1c2a7e0b7d4c4e8f3e5a6b7c8d9e0f", "level": "error", "logger": "config.api", "platform": "python",
        "logentry": {"message": "Unhandled error on %s", "params": ["/api/v1/stores/alpha/checkout"],
                     "formatted": "Unhandled error on /api/v1/stores/alpha/checkout for alice@example.com"},
        "exception": {"values": [{
            "type": "RuntimeError", "module": None,
            "value": f"charge for alice@example.com with card 4242 4242 4242 4242 refused; token {JWT}",
            "stacktrace": {"frames": [{
                "filename": "payments/services/checkout.py", "function": "checkout_complete", "lineno": 52,
                "context_line": "    held = payment_screen_and_start(order=order, payment=payment, ...)",
                "vars": {"email": "alice@example.com", "shipping_address": {"line1": "1 Main St", "city": "Tripoli"},
                         "card_number": "4000-0566-5566-5556", "order_number": "A-1001", "quantity": 2}}]},
        }]},
        "request": {
            "url": "https://shop.example.com/api/v1/stores/alpha/checkout", "method": "POST",
            "query_string": "token=abc123secret&page=2",
            "headers": {"Authorization": f"Bearer {JWT}", "Cookie": "sessionid=s3ss10n",
                        "X-Api-Key": "kp7Fq2.Zx9y8w7v6u5t4s3r2", "Stripe-Signature": "t=1,v1=abcdef",
                        "User-Agent": "storefront/2.1", "X-Forwarded-For": "198.51.100.7"},
            "cookies": {"sessionid": "s3ss10n"},
            "data": {"email": "alice@example.com", "customer_name": "Alice Liddell",
                     "shipping_address": {"line1": "1 Main St", "phone": "+218911234567"}},
            "env": {"REMOTE_ADDR": "198.51.100.7", "SERVER_NAME": "shop"},
        },
        "user": {"id": 7, "email": "alice@example.com", "ip_address": "198.51.100.7", "username": "Alice Liddell"},
        "extra": {"payload": {"customer_name": "Alice Liddell", "phone": "+218911234567",
                              "webhook_secret": "whsec_0a1b2c3d4e5f", "note": "paid with sk_live_51Habcdefg"},
                  "client_secret": "pi_3Ab_secret_xyz789abc"},
        "breadcrumbs": {"values": [
            {"category": "query", "message": "SELECT id FROM accounts_user WHERE email = 'alice@example.com'"},
            {"category": "httplib", "data": {"url": "https://api.stripe.com/v1/payment_intents",
                                             "Authorization": "Bearer sk_live_51Habcdefg"}}]},
        "tags": {"store": "alpha"},
    }


def test_before_send_removes_personal_data_from_a_realistic_event():
    token = request_id_var.set("req-7a8b9c")
    try:
        event = before_send(realistic_event(), {})
    finally:
        request_id_var.reset(token)
    sent = json.dumps(event)
    for value in PII:
        assert value not in sent, value
    # what a developer needs stays
    assert event["tags"] == {"store": "alpha", "request_id": "req-7a8b9c"}
    assert event["user"] == {"id": 7}
    exception = event["exception"]["values"][0]
    assert exception["type"] == "RuntimeError" and "refused" in exception["value"]
    frame = exception["stacktrace"]["frames"][0]
    assert (frame["function"], frame["lineno"], frame["vars"]["order_number"]) == ("checkout_complete", 52, "A-1001")
    assert frame["vars"]["email"] == FILTERED and frame["vars"]["card_number"] == FILTERED
    assert event["request"]["headers"]["User-Agent"] == "storefront/2.1"
    assert event["request"]["headers"]["Authorization"] == FILTERED
    assert event["request"]["url"] == "https://shop.example.com/api/v1/stores/alpha/checkout"
    assert event["request"]["query_string"] == f"token={FILTERED}&page=2"


def test_numbers_that_are_not_cards_stay():
    assert scrub_text("order A-1001 of 2 items, total 4242.00, ref 1234567890123") == \
        "order A-1001 of 2 items, total 4242.00, ref 1234567890123"  # 13 digits, Luhn fails
    assert scrub_text("card 4111111111111111 ok") == f"card {FILTERED} ok"


class RecordingTransport(Transport):
    """Keeps every event the SDK would send, instead of sending it."""

    events: list[dict] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            event = item.get_event()
            if event is not None:
                RecordingTransport.events.append(event)


@pytest.fixture
def sentry_events():
    RecordingTransport.events = []
    sentry_init(dsn="https://public@sentry.invalid/1", environment="test", release="test",
                transport=RecordingTransport)
    yield RecordingTransport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again


def test_an_error_in_a_request_reaches_sentry_scrubbed_and_tagged(sentry_events, api, db, monkeypatch):
    # given: a view that fails with a buyer's data in its message
    def fail(self, request):
        raise RuntimeError(FAILURE)

    monkeypatch.setattr(VersionView, "get", fail)
    # when: a client with credentials and a cookie calls it
    response = api.get(f"/api/version?email={EMAIL}", HTTP_AUTHORIZATION=f"Bearer {JWT}", HTTP_COOKIE=COOKIE,
                       HTTP_X_REQUEST_ID="req-sentry-1", HTTP_X_API_KEY=API_KEY)
    # then: the client got the envelope, Sentry the error, without the personal data and with the request id
    assert response.status_code == 500 and response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert sentry_events, "nothing was captured"
    errors = [event for event in sentry_events if event.get("exception")]
    assert errors and errors[0]["exception"]["values"][-1]["type"] == "RuntimeError"
    for event in sentry_events:
        sent = json.dumps(event)
        for value in PII:
            assert value not in sent, (value, sent)
        assert event["tags"]["request_id"] == "req-sentry-1"


def test_sentry_switches_on_with_sentry_dsn_and_sends_no_default_pii():
    script = ("import django; django.setup(); import sentry_sdk; client = sentry_sdk.get_client(); "
              "print(client.is_active(), bool(client.options['send_default_pii']), "
              "client.options['data_collection'] and client.options['data_collection'].get('user_info'), "
              "sorted(name for name in client.integrations if name in {'django', 'celery', 'logging'}))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "SENTRY_DSN": "https://public@sentry.invalid/1"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "True False False ['celery', 'django', 'logging']", out.stderr[-2000:]
    env.pop("SENTRY_DSN")
    off = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert off.stdout.strip().splitlines()[-1].startswith("False"), off.stderr[-2000:]
