"""Kashier: the hosted page, the server webhook and the redirect verified exactly as ../shared/GATEWAYS.md says
(its vectors as fixed tests), refunds through its API (the local fake, tests/fake_gateways.py)."""

import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import RequestFactory

from orders.models import Order
from payments.gateways import gateway_get
from payments.gateways.base import GatewayFailed, Outcome, SignatureInvalid
from payments.gateways.kashier import order_hash, redirect_signed_string, webhook_signed_string
from payments.models import GatewaySetting, Payment, Refund

pytestmark = pytest.mark.django_db

API_KEY = "d3adb33f-test-api-key"
SECRET_KEY = "kashier-account-secret-0042"
MID = "MID-123-456"
KASHIER = gateway_get("kashier")

# GATEWAYS.md "Kashier" 3: the server webhook, byte for byte
WEBHOOK_BODY = (
    b'{"event":"pay","data":{"merchantOrderId":"ORD-1001","kashierOrderId":"65f1c0ffee","orderReference":'
    b'"TEST-ORD-36512","transactionId":"TX-246810","status":"SUCCESS","method":"card","creationDate":'
    b'"2024-05-01T10:00:00.000Z","amount":150,"currency":"EGP","channel":"Online | Card",'
    b'"transactionResponseCode":"00","signatureKeys":["merchantOrderId","kashierOrderId","orderReference",'
    b'"transactionId","status","method","creationDate","amount","currency","channel","transactionResponseCode"]}}'
)
WEBHOOK_SIGNED = ("amount=150&channel=Online%20%7C%20Card&creationDate=2024-05-01T10%3A00%3A00.000Z&currency=EGP"
                  "&kashierOrderId=65f1c0ffee&merchantOrderId=ORD-1001&method=card&orderReference=TEST-ORD-36512"
                  "&status=SUCCESS&transactionId=TX-246810&transactionResponseCode=00")
WEBHOOK_SIGNATURE = "de840878699048fe473daea0fa5fd9829e2032193fef789e9069e810b4c1dbe0"
WEBHOOK_SIGNATURE_UNSORTED = "4d9574423e8013145df58738af1b9bc1a28fcafb9f2c19558ea3f161587e4b58"
# GATEWAYS.md "Kashier" 2: the redirect back
REDIRECT_PARAMS = [
    ("paymentStatus", "SUCCESS"), ("cardDataToken", ""), ("maskedCard", "511111******1118"),
    ("merchantOrderId", "ORD-1001"), ("orderId", "65f1c0ffee"), ("cardBrand", "Mastercard"),
    ("orderReference", "TEST-ORD-36512"), ("transactionId", "TX-246810"), ("amount", "150.00"), ("currency", "EGP"),
]
REDIRECT_SIGNATURE = "a2c09454283b19fb68cba3c58eb612be0675c9b2b6ba956d72bbba508b8f17cb"


def setting_for(store=None, *, options=None, secrets=None, save=False) -> GatewaySetting:
    setting = GatewaySetting(store=store, gateway="kashier", enabled=True,
                             options={"merchant_id": MID, **(options or {})},
                             secrets=json.dumps({"api_key": API_KEY, "secret_key": SECRET_KEY, **(secrets or {})}))
    if save:
        setting.save()
    return setting


def sign(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook(data: dict, *, event="pay", key=API_KEY, keys=None) -> tuple[bytes, dict]:
    """A webhook body for ``data`` signed as Kashier signs (written here on its own, not with our helper)."""
    from urllib.parse import quote

    keys = keys if keys is not None else list(data)
    body = json.dumps({"event": event, "data": {**data, "signatureKeys": keys}}).encode()
    signed = "&".join(f"{name}={quote(str(data[name]), safe='')}" for name in sorted(keys))
    return body, {"X-Kashier-Signature": sign(key, signed)}


PAID_DATA = {"merchantOrderId": "ORD-7", "kashierOrderId": "k-77", "transactionId": "TX-7", "status": "SUCCESS",
             "amount": "99.50", "currency": "EGP"}


# --- the hosted page ---------------------------------------------------------------------
def test_the_order_hash_matches_kashiers_official_vector():
    assert order_hash(merchant_id="mid-0-1", order_id="99", amount="20", currency="EGP", api_key="11111") == (
        "606a8a1307d64caf4e2e9bb724738f115a8972c27eccb2a8acd9194c357e4bec")


def test_the_order_hash_matches_the_second_vector_and_the_amount_is_hashed_as_written():
    assert order_hash(merchant_id=MID, order_id="ORD-1001", amount="150.00", currency="EGP", api_key=API_KEY) == (
        "3f38443890ed329e4ebdfff3377b5b84de13e7ab8a384a2a538f8751eff22578")
    assert order_hash(merchant_id=MID, order_id="ORD-1001", amount="150", currency="EGP", api_key=API_KEY) != (
        "3f38443890ed329e4ebdfff3377b5b84de13e7ab8a384a2a538f8751eff22578")


def test_start_gives_the_hosted_page_url_with_the_vectors_hash_and_our_addresses(store, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    settings.KASHIER_CHECKOUT_URL = "https://checkout.kashier.io/"
    order = Order(store=store, number="ORD-1001")
    payment = Payment(amount=Decimal("150.00"), currency="EGP")

    start = KASHIER.start(order=order, payment=payment, setting=setting_for(store, options={"mode": "live"}))

    url = urlsplit(start.redirect_url)
    assert (url.scheme, url.netloc, url.path) == ("https", "checkout.kashier.io", "/")
    assert parse_qs(url.query) == {
        "merchantId": [MID], "orderId": ["ORD-1001"], "amount": ["150.00"], "currency": ["EGP"],
        "hash": ["3f38443890ed329e4ebdfff3377b5b84de13e7ab8a384a2a538f8751eff22578"], "mode": ["live"],
        "merchantRedirect": ["https://shop.example.com/api/v1/payments/return/kashier/alpha"],
        "serverWebhook": ["https://shop.example.com/api/v1/payments/webhooks/kashier/alpha"],
    }
    assert start.action() == {"redirect_url": start.redirect_url}
    assert API_KEY not in start.redirect_url and SECRET_KEY not in start.redirect_url


def test_without_public_base_url_the_addresses_come_from_the_request_being_served(store, settings, served):
    settings.PUBLIC_BASE_URL = ""
    served(RequestFactory().post("/api/v1/stores/alpha/checkout", HTTP_HOST="localhost:8000"))
    start = KASHIER.start(order=Order(store=store, number="N-1"), payment=Payment(amount=Decimal(5), currency="EGP"),
                          setting=setting_for(store))
    query = parse_qs(urlsplit(start.redirect_url).query)
    assert query["serverWebhook"] == ["http://localhost:8000/api/v1/payments/webhooks/kashier/alpha"]
    assert query["mode"] == ["test"] and query["amount"] == ["5.00"]


def test_outside_a_request_with_no_public_base_url_the_dashboards_addresses_apply(store, settings):
    settings.PUBLIC_BASE_URL = ""
    start = KASHIER.start(order=Order(store=store, number="N-2"), payment=Payment(amount=Decimal(5), currency="EGP"),
                          setting=setting_for(store))
    query = parse_qs(urlsplit(start.redirect_url).query)
    assert "serverWebhook" not in query and "merchantRedirect" not in query and query["orderId"] == ["N-2"]


def test_start_without_credentials_fails_without_naming_them(store):
    setting = GatewaySetting(store=store, gateway="kashier", options={"merchant_id": MID}, secrets="")
    with pytest.raises(GatewayFailed, match="not configured"):
        KASHIER.start(order=Order(store=store, number="N-3"), payment=Payment(amount=Decimal(5), currency="EGP"),
                      setting=setting)


# --- the server webhook ------------------------------------------------------------------------
def test_the_webhook_vector_signs_the_documented_string_and_reads_as_paid(store):
    data = json.loads(WEBHOOK_BODY)["data"]
    assert webhook_signed_string(data, data["signatureKeys"]) == WEBHOOK_SIGNED

    note = KASHIER.notification_read(setting=setting_for(store), body=WEBHOOK_BODY,
                                     headers={"X-Kashier-Signature": WEBHOOK_SIGNATURE})

    assert (note.outcome, note.event_id, note.event_type) == (Outcome.PAID, "TX-246810:pay", "pay")
    assert (note.order_number, note.reference) == ("ORD-1001", "65f1c0ffee:TX-246810")
    assert (note.amount, note.currency, note.message) == (Decimal(150), "EGP", "")


def test_the_header_name_is_matched_in_any_case_and_the_hex_too(store):
    for headers in ({"x-kashier-signature": WEBHOOK_SIGNATURE}, {"X-KASHIER-SIGNATURE": WEBHOOK_SIGNATURE.upper()}):
        assert KASHIER.notification_read(setting=setting_for(store), body=WEBHOOK_BODY,
                                         headers=headers).outcome == Outcome.PAID


def test_unsorted_signature_keys_are_a_per_store_option_off_by_default(store):
    unsorted = setting_for(store, options={"signature_keys_sorted": False})
    note = KASHIER.notification_read(setting=unsorted, body=WEBHOOK_BODY,
                                     headers={"X-Kashier-Signature": WEBHOOK_SIGNATURE_UNSORTED})
    assert note.outcome == Outcome.PAID
    with pytest.raises(SignatureInvalid):  # the default (sorted) refuses the unsorted signature…
        KASHIER.notification_read(setting=setting_for(store), body=WEBHOOK_BODY,
                                  headers={"X-Kashier-Signature": WEBHOOK_SIGNATURE_UNSORTED})
    with pytest.raises(SignatureInvalid):  # …and the unsorted store the sorted one
        KASHIER.notification_read(setting=unsorted, body=WEBHOOK_BODY,
                                  headers={"X-Kashier-Signature": WEBHOOK_SIGNATURE})


@pytest.mark.parametrize("body, headers", [
    (WEBHOOK_BODY.replace(b'"amount":150', b'"amount":15'), {"X-Kashier-Signature": WEBHOOK_SIGNATURE}),
    (WEBHOOK_BODY.replace(b"ORD-1001", b"ORD-1002"), {"X-Kashier-Signature": WEBHOOK_SIGNATURE}),
    (WEBHOOK_BODY, {}),
    (WEBHOOK_BODY, {"X-Kashier-Signature": ""}),
    (WEBHOOK_BODY, {"X-Kashier-Signature": WEBHOOK_SIGNATURE[:-1] + "1"}),
    (WEBHOOK_BODY, {"X-Kashier-Signature": sign("another-key", WEBHOOK_SIGNED)}),
    (b"not json", {"X-Kashier-Signature": WEBHOOK_SIGNATURE}),
    (b'{"event":"pay","data":{"signatureKeys":["amount"]}}', {"X-Kashier-Signature": WEBHOOK_SIGNATURE}),
    (b'[1, 2]', {"X-Kashier-Signature": WEBHOOK_SIGNATURE}),
], ids=["amount", "order", "no-header", "empty", "one-digit", "other-key", "not-json", "missing-key", "a-list"])
def test_a_forged_or_foreign_webhook_is_refused(store, body, headers):
    with pytest.raises(SignatureInvalid) as refused:
        KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert API_KEY not in str(refused.value)


def test_a_store_without_an_api_key_verifies_nothing(store):
    setting = GatewaySetting(store=store, gateway="kashier", options={"merchant_id": MID}, secrets="")
    with pytest.raises(SignatureInvalid):
        KASHIER.notification_read(setting=setting, body=WEBHOOK_BODY,
                                  headers={"X-Kashier-Signature": sign("", WEBHOOK_SIGNED)})


def test_the_signing_key_may_be_the_account_secret_key_per_store(store):
    body, headers = webhook(PAID_DATA, key=SECRET_KEY)
    with pytest.raises(SignatureInvalid):
        KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    note = KASHIER.notification_read(setting=setting_for(store, options={"signature_key": "secret_key"}),
                                     body=body, headers=headers)
    assert (note.outcome, note.amount, note.order_number) == (Outcome.PAID, Decimal("99.50"), "ORD-7")


def test_fields_the_signature_does_not_cover_are_not_read(store):
    # a valid signature over everything but the amount and the order: an attacker could set those freely
    body, headers = webhook(PAID_DATA, keys=["transactionId", "status", "currency", "kashierOrderId"])
    note = KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert (note.amount, note.order_number, note.outcome) == (None, "", Outcome.PAID)


def test_a_webhook_that_signs_no_transaction_id_is_refused(store):
    body, headers = webhook(PAID_DATA, keys=["merchantOrderId", "status", "amount", "currency"])
    with pytest.raises(SignatureInvalid, match="transactionId"):
        KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)


@pytest.mark.parametrize("status, outcome", [
    ("FAILURE", Outcome.FAILED), ("CANCELLED", Outcome.FAILED), ("PENDING", Outcome.PROCESSING),
])
def test_a_payment_that_did_not_succeed(store, status, outcome):
    data = {**PAID_DATA, "status": status, "transactionResponseMessage": {"en": "Insufficient funds", "ar": "…"}}
    body, headers = webhook(data, keys=[name for name in data if name != "transactionResponseMessage"])
    note = KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert (note.outcome, note.message, note.event_id) == (outcome, "Insufficient funds", "TX-7:pay")


def test_a_refund_webhook_reads_as_refunded_with_its_own_reference(store):
    data = {**PAID_DATA, "transactionId": "RF-1", "amount": "20.00"}
    body, headers = webhook(data, event="refund")
    note = KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert (note.outcome, note.event_id, note.refund_reference, note.refund_amount) == (
        Outcome.REFUNDED, "RF-1:refund", "RF-1", Decimal("20.00"))
    assert note.order_number == "ORD-7"
    body, headers = webhook({**data, "status": "FAILURE"}, event="refund")
    failed = KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert (failed.outcome, failed.refund_reference, failed.refund_amount) == (
        Outcome.FAILED, "RF-1", Decimal("20.00"))  # the refund failed, not the payment
    body, headers = webhook({**data, "status": "PENDING"}, event="refund")
    assert KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers).outcome == (
        Outcome.IGNORED)


def test_other_events_are_verified_and_ignored(store):
    body, headers = webhook(PAID_DATA, event="authorize")
    note = KASHIER.notification_read(setting=setting_for(store), body=body, headers=headers)
    assert (note.outcome, note.event_id) == (Outcome.IGNORED, "TX-7:authorize")


# --- the redirect back ------------------------------------------------------------------------
def test_the_redirect_vector_verifies_in_the_order_received(store):
    assert sign(API_KEY, redirect_signed_string(REDIRECT_PARAMS)) == REDIRECT_SIGNATURE
    query = urlencode([*REDIRECT_PARAMS, ("mode", "test"), ("signature", REDIRECT_SIGNATURE)])

    note = KASHIER.return_read(setting=setting_for(store), query=query)

    assert (note.outcome, note.order_number, note.amount, note.currency, note.message) == (
        Outcome.PAID, "ORD-1001", Decimal("150.00"), "EGP", "success")


@pytest.mark.parametrize("params", [
    [(name, "15.00" if name == "amount" else value) for name, value in REDIRECT_PARAMS],
    [(name, "FAILURE" if name == "paymentStatus" else value) for name, value in REDIRECT_PARAMS],
    list(reversed(REDIRECT_PARAMS)),
])
def test_a_changed_or_reordered_redirect_is_refused(store, params):
    with pytest.raises(SignatureInvalid):
        KASHIER.return_read(setting=setting_for(store), query=urlencode([*params, ("signature", REDIRECT_SIGNATURE)]))


# --- refunds ------------------------------------------------------------------------------
def paid_payment(store, *, reference="65f1c0ffee:TX-246810", amount="150.00") -> Payment:
    return Payment(store=store, gateway="kashier", status="paid", amount=Decimal(amount), currency="EGP",
                   reference=reference)


def test_a_refund_goes_through_kashiers_api_with_the_secret_key(store, fake_gateways):
    fake_gateways.kashier_transaction("65f1c0ffee", "TX-246810", "150.00", secret_key=SECRET_KEY)
    payment = paid_payment(store)

    result = KASHIER.refund(payment=payment, refund=Refund(amount=Decimal("50.00"), reason="Too big"),
                            setting=setting_for(store))

    assert result.succeeded and result.reference.startswith("RF-"), result
    [sent] = fake_gateways.requests
    assert (sent.method, sent.path, sent.query) == (
        "PUT", "/kashier/orders/65f1c0ffee/transactions/TX-246810", {"operation": ["refund"]})
    assert sent.headers["Authorization"] == SECRET_KEY
    assert sent.json() == {"amount": "50.00", "reason": "Too big"}
    # the remainder can be refunded, not more
    assert KASHIER.refund(payment=payment, refund=Refund(amount=Decimal("100.00")), setting=setting_for(store)
                          ).succeeded
    beyond = KASHIER.refund(payment=payment, refund=Refund(amount=Decimal("0.01")), setting=setting_for(store))
    assert (beyond.succeeded, beyond.message) == (False, "Refund amount exceeds the refundable amount")


def test_a_refund_with_a_wrong_secret_key_fails_without_showing_it(store, fake_gateways):
    fake_gateways.kashier_transaction("65f1c0ffee", "TX-246810", "150.00", secret_key="the-right-one")
    with pytest.raises(GatewayFailed) as failed:
        KASHIER.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))
    assert "secret key" in str(failed.value) and SECRET_KEY not in str(failed.value)


@pytest.mark.parametrize("answer", [(500, b'{"message": "boom"}'), (502, b"<html>Bad gateway</html>"),
                                    (200, b"not json")])
def test_a_refund_kashier_cannot_answer_fails(store, fake_gateways, answer):
    fake_gateways.answer_next(*answer)
    with pytest.raises(GatewayFailed, match="dashboard"):
        KASHIER.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))


def test_a_refund_that_times_out_fails(store, fake_gateways, settings):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.3
    fake_gateways.delay_next(1.0)
    with pytest.raises(GatewayFailed, match="could not be reached"):
        KASHIER.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=setting_for(store))


def test_a_refund_needs_the_secret_key_and_a_confirmed_payment(store, fake_gateways):
    no_secret = setting_for(store, secrets={"secret_key": ""})
    with pytest.raises(GatewayFailed, match="secret key"):
        KASHIER.refund(payment=paid_payment(store), refund=Refund(amount=Decimal(1)), setting=no_secret)
    with pytest.raises(GatewayFailed, match="not confirmed"):
        KASHIER.refund(payment=paid_payment(store, reference=""), refund=Refund(amount=Decimal(1)),
                       setting=setting_for(store))
    assert fake_gateways.requests == []


def test_live_mode_refunds_at_kashiers_live_api_unless_a_base_is_set(store, settings):
    settings.KASHIER_API_BASE = ""
    assert KASHIER.api_base(setting_for(store)) == "https://test-api.kashier.io"
    assert KASHIER.api_base(setting_for(store, options={"mode": "live"})) == "https://api.kashier.io"
    settings.KASHIER_API_BASE = "http://127.0.0.1:9/kashier/"
    assert KASHIER.api_base(setting_for(store, options={"mode": "live"})) == "http://127.0.0.1:9/kashier"


# --- the buyer back at GET payments/return/kashier/{store} ------------------------------------------
def return_url(store, params, signature=REDIRECT_SIGNATURE) -> str:
    return f"/api/v1/payments/return/kashier/{store.slug}?" + urlencode(
        [*params, ("mode", "test"), ("signature", signature)])


def test_the_verified_redirect_is_answered_with_the_result(api, store):
    setting_for(store, save=True)
    response = api.get(return_url(store, REDIRECT_PARAMS))
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {"order": "ORD-1001", "result": "succeeded"}


def test_the_verified_redirect_sends_the_buyer_on_to_the_stores_page(api, store):
    setting_for(store, options={"return_url": "https://shop.example.com/thanks?lang=ar"}, save=True)
    response = api.get(return_url(store, REDIRECT_PARAMS))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/thanks?lang=ar&order=ORD-1001&result=succeeded"


def test_a_forged_redirect_is_400_with_a_security_line_and_no_redirect(api, store, caplog):
    setting_for(store, options={"return_url": "https://shop.example.com/thanks"}, save=True)
    forged = [(name, "FAILURE" if name == "paymentStatus" else value) for name, value in REDIRECT_PARAMS]
    with caplog.at_level("WARNING", logger="security"):
        response = api.get(return_url(store, forged))
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    [line] = [record for record in caplog.records if record.name == "security"]
    assert line.gateway == "kashier" and line.store == store.slug
    assert API_KEY not in caplog.text and REDIRECT_SIGNATURE not in caplog.text


def test_a_gateway_with_no_redirect_or_no_such_gateway(api, store):
    assert api.get(f"/api/v1/payments/return/cod/{store.slug}?a=1").status_code == 400
    assert api.get(f"/api/v1/payments/return/nope/{store.slug}?a=1").status_code == 404
    assert api.get("/api/v1/payments/return/kashier/no-such-store?a=1").status_code == 404
