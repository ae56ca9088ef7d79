"""The Stripe gateway through the official SDK against a real localstripe (tests/gateways.py): PaymentIntents at
checkout, the buyer's confirmation (succeeded, declined) told by localstripe's signed webhooks, refunds; the
signature scheme with GATEWAYS.md's vector, forged and stale signatures, and what each event type means."""

import hashlib
import hmac
import json
import logging
import time
from decimal import Decimal

import pytest
import stripe

from auditlog.models import AuditLog
from notifications.tests.receiver import start_receiver
from orders.models import Order
from payments import services
from payments.gateways import REGISTRY
from payments.gateways.base import GatewayFailed, Outcome, SignatureInvalid
from payments.models import GatewaySetting, Payment, Refund

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_store_alpha_0123456789"
ADDRESS = {"line1": "1 Main St", "city": "Cairo", "country": "EG"}
GATEWAY = REGISTRY["stripe"]


def stripe_setting(store, **secrets) -> GatewaySetting:
    """The store's Stripe setting, credentials set directly on the model (the settings API is another part)."""
    values = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, **secrets}
    setting, _ = GatewaySetting.objects.update_or_create(
        store=store, gateway="stripe",
        defaults={"enabled": True, "options": {"publishable_key": "pk_test_alpha"}, "secrets": json.dumps(values)})
    return setting


def sdk(localstripe) -> stripe.StripeClient:
    """The buyer's side (Stripe.js in a browser) and the merchant's dashboard, as SDK calls to localstripe."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.url}, max_network_retries=0)


def signed(payload: dict | bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    """A body and headers as Stripe sends them: ``Stripe-Signature: t=…,v1=hex(HMAC-SHA256(secret, "t.body"))``."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={signature}"}


def event(event_type: str, obj: dict, event_id: str = "evt_1") -> dict:
    return {"id": event_id, "object": "event", "type": event_type, "api_version": "2025-09-30.clover",
            "data": {"object": obj}}


@pytest.fixture
def place(api, store, make_variant, cart_with):
    """Checkout through the API with Stripe: answers the response."""

    def checkout(price="12.50", quantity=2):
        variant = make_variant(price=price, stock=5)
        cart = cart_with((variant, quantity))
        return api.post(f"/api/v1/stores/{store.slug}/checkout", {
            "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": ADDRESS,
            "payment_method": "stripe"}, format="json")

    return checkout


@pytest.fixture
def stripe_webhooks(stripe_api):
    """A local receiver localstripe sends its webhooks to, signed with the store's webhook secret."""
    receiver, server = start_receiver()
    stripe_api.webhook_send_to(receiver.url, WEBHOOK_SECRET)
    yield receiver
    server.shutdown()
    server.server_close()


def received(receiver, event_type: str, timeout: float = 10.0):
    """The first webhook of ``event_type`` localstripe delivered (it sends about a second later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in list(receiver.requests):
            if json.loads(request.body)["type"] == event_type:
                return request.body.encode(), request.headers
        time.sleep(0.05)
    raise AssertionError(f"localstripe sent no {event_type}; it sent {[r.body[:80] for r in receiver.requests]}")


# --- the gateway -------------------------------------------------------------------
def test_stripe_is_off_until_the_store_enables_it(store):
    assert (GATEWAY.enabled_by_default, GATEWAY.offline, GATEWAY.order_status) == (False, False, "pending")
    assert set(GATEWAY.required) == {"secret_key", "webhook_secret"} <= set(GATEWAY.secret_fields)
    assert "stripe" not in services.gateways_offered(store=store)


def test_a_merchant_configures_stripe_through_the_settings_api_and_checkout_offers_it(stripe_api, store, place,
                                                                                      client_for):
    owner = client_for(store.owner)
    url = f"/api/v1/stores/{store.slug}/payment-gateways/stripe"

    response = owner.put(url, {"enabled": True, "publishable_key": "pk_test_alpha", "secret_key": SECRET_KEY,
                               "webhook_secret": WEBHOOK_SECRET}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["configured"], data["secret_key"], data["webhook_secret"]) == (True, "••••p7dc", "••••6789")
    assert data["webhook_url"].endswith(f"/api/v1/payments/webhooks/stripe/{store.slug}")
    assert SECRET_KEY not in response.content.decode() and WEBHOOK_SECRET not in response.content.decode()
    assert "stripe" in services.gateways_offered(store=store)
    assert place().status_code == 201


@pytest.mark.parametrize("field, value", [
    ("secret_key", "pk_test_alpha"), ("secret_key", "whsec_abc"), ("webhook_secret", SECRET_KEY),
    ("publishable_key", SECRET_KEY),
])
def test_a_key_of_another_kind_is_refused_without_repeating_it(store, client_for, field, value):
    response = client_for(store.owner).put(f"/api/v1/stores/{store.slug}/payment-gateways/stripe", {field: value},
                                           format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]
    assert value not in response.content.decode()
    assert not GatewaySetting.objects.exists()


# --- start: a PaymentIntent at checkout ---------------------------------------------
def test_checkout_creates_a_payment_intent_and_gives_the_buyer_its_client_secret(stripe_api, store, place):
    stripe_setting(store)

    response = place(price="12.50", quantity=2)

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    order, payment = Order.objects.get(), Payment.objects.get()
    assert (data["status"], data["payment_status"], data["payment_method"]) == ("pending", "unpaid", "stripe")
    assert payment.reference.startswith("pi_") and payment.status == "pending"
    assert data["payment"] == {"id": payment.pk, "gateway": "stripe", "status": "pending", "amount": "25.00",
                               "client_secret": payment.action["client_secret"]}
    intent = sdk(stripe_api).v1.payment_intents.retrieve(payment.reference)
    assert intent.client_secret == payment.action["client_secret"]
    assert (intent.amount, intent.currency, intent.status) == (2500, "usd", "requires_payment_method")
    assert intent.metadata.to_dict() == {"order_number": order.number, "store": store.slug}


def test_the_client_secret_is_shown_only_while_the_payment_is_pending(stripe_api, store, place, client_for):
    stripe_setting(store)
    number = place().json()["data"]["number"]
    Payment.objects.update(status="paid")

    answer = client_for(store.owner).get(f"/api/v1/stores/{store.slug}/orders/{number}").json()["data"]

    assert "client_secret" not in answer["payment"] and answer["payment"]["status"] == "paid"


def test_an_order_showing_its_client_secret_is_not_stored_by_a_browser_or_a_proxy(stripe_api, store, place,
                                                                                  client_for, user):
    stripe_setting(store)
    placed = place()
    number = placed.json()["data"]["number"]
    Order.objects.update(user=user)  # the customer's own order: they read it and list it
    customer = client_for(user)

    def read():
        order = customer.get(f"/api/v1/stores/{store.slug}/orders/{number}")
        orders = customer.get(f"/api/v1/stores/{store.slug}/orders")
        assert order.status_code == orders.status_code == 200, order.json()
        return order, orders

    directives = lambda answer: {part.strip() for part in answer.get("Cache-Control", "").split(",")}  # noqa: E731
    order, orders = read()
    assert "client_secret" in order.json()["data"]["payment"]
    assert "client_secret" in orders.json()["data"][0]["payment"]
    assert {"no-store", "private"} <= directives(order) and {"no-store", "private"} <= directives(orders)

    Payment.objects.update(status="paid")  # the secret is no longer shown, and the answer no longer marked
    order, orders = read()
    assert "client_secret" not in order.json()["data"]["payment"]
    assert "no-store" not in directives(order) and "no-store" not in directives(orders)


@pytest.mark.parametrize("currency, price, units", [("JPY", "1500", 1500), ("KWD", "1.250", 1250)])
def test_amounts_go_to_stripe_in_the_currencys_minor_units(stripe_api, store, place, currency, price, units):
    store.currency = currency
    store.save(update_fields=["currency"])
    stripe_setting(store)

    response = place(price=price, quantity=1)

    assert response.status_code == 201, response.json()
    intent = sdk(stripe_api).v1.payment_intents.retrieve(Payment.objects.get().reference)
    assert (intent.amount, intent.currency) == (units, currency.lower())


def test_a_three_decimal_amount_stripe_would_refuse_is_refused_before_it_and_places_nothing(stripe_api, store,
                                                                                            place):
    # Stripe takes KWD (BHD, JOD, OMR, TND) in fils but only in steps of 10
    store.currency = "KWD"
    store.save(update_fields=["currency"])
    stripe_setting(store)
    intents_before = len(sdk(stripe_api).v1.payment_intents.list(params={"limit": 100}).data)

    response = place(price="1.255", quantity=1)

    assert response.status_code == 402, response.json()
    assert "steps of 0.010" in response.json()["error"]["message"]
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert len(sdk(stripe_api).v1.payment_intents.list(params={"limit": 100}).data) == intents_before


def test_a_three_decimal_refund_stripe_would_refuse_never_reaches_it(stripe_api, store):
    payment = Payment(store=store, gateway="stripe", amount=Decimal("1.250"), currency="KWD", reference="pi_x")
    refund = Refund(store=store, payment=payment, amount=Decimal("0.125"), currency="KWD")

    with pytest.raises(GatewayFailed, match="steps of 0.010"):
        GATEWAY.refund(payment=payment, refund=refund, setting=stripe_setting(store))


def test_a_key_stripe_refuses_places_nothing_and_says_so_without_the_key(stripe_api, store, place, caplog):
    stripe_setting(store, secret_key="rk_test_revoked_restricted_key")  # localstripe takes sk_ keys only

    with caplog.at_level(logging.INFO):
        response = place()

    assert response.status_code == 402, response.json()
    error = response.json()["error"]
    assert error["code"] == "PAYMENT_ERROR"
    assert error["message"] == "Stripe refused the store's API key: check its Stripe settings."
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert not AuditLog.objects.filter(action__in=["order.created", "payment.created"]).exists()
    assert "AuthenticationError" in caplog.text and "rk_test_revoked" not in caplog.text


def test_stripe_out_of_reach_places_nothing(store, place, settings, unused_port):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{unused_port}"
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 2
    stripe_setting(store)

    response = place()

    assert response.status_code == 402
    assert response.json()["error"]["message"] == "Stripe could not be reached: try again in a moment."
    assert not Order.objects.exists() and not Payment.objects.exists()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- notifications: localstripe's own signed webhooks --------------------------------------
def test_a_confirmed_intent_is_notified_paid(stripe_webhooks, stripe_api, store, place):
    setting = stripe_setting(store)
    place(price="12.50", quantity=2)
    order, payment = Order.objects.get(), Payment.objects.get()
    buyer = sdk(stripe_api)
    # when: the buyer's page confirms the intent with a card
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    assert buyer.v1.payment_intents.confirm(payment.reference).status == "succeeded"
    body, headers = received(stripe_webhooks, "payment_intent.succeeded")
    # then: localstripe's webhook verifies with the store's secret and says paid, for this order, in full
    notification = GATEWAY.notification_read(setting=setting, body=body, headers=headers)

    assert notification.outcome == Outcome.PAID
    assert notification.event_id.startswith("evt_") and notification.event_type == "payment_intent.succeeded"
    assert (notification.order_number, notification.reference) == (order.number, payment.reference)
    assert (notification.amount, notification.currency) == (Decimal("25.00"), "USD")
    assert GATEWAY.notification_answer() == ({"received": True}, 200)


def test_a_declined_card_is_notified_failed_with_the_cards_reason(stripe_webhooks, stripe_api, store, place):
    setting = stripe_setting(store)
    place()
    payment = Payment.objects.get()
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_chargeCustomerFail"})
    with pytest.raises(stripe.CardError):
        buyer.v1.payment_intents.confirm(payment.reference)
    body, headers = received(stripe_webhooks, "payment_intent.payment_failed")

    notification = GATEWAY.notification_read(setting=setting, body=body, headers=headers)

    assert notification.outcome == Outcome.FAILED
    assert notification.reference == payment.reference and notification.amount == Decimal("25.00")
    assert notification.message == "Your card was declined."


def test_another_stores_secret_does_not_verify_localstripes_webhook(stripe_webhooks, stripe_api, store,
                                                                     other_store, place):
    stripe_setting(store)
    other = stripe_setting(other_store, webhook_secret="whsec_store_beta")
    place()
    payment = Payment.objects.get()
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    buyer.v1.payment_intents.confirm(payment.reference)
    body, headers = received(stripe_webhooks, "payment_intent.succeeded")

    with pytest.raises(SignatureInvalid, match="does not match"):
        GATEWAY.notification_read(setting=other, body=body, headers=headers)


# --- refunds ------------------------------------------------------------------------
@pytest.fixture
def paid(stripe_api, store, place):
    """A Stripe payment the buyer confirmed at localstripe: answers (payment, setting)."""
    setting = stripe_setting(store)
    place(price="12.50", quantity=2)
    payment = Payment.objects.get()
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    buyer.v1.payment_intents.confirm(payment.reference)
    Payment.objects.filter(pk=payment.pk).update(status="paid")
    return payment, setting


def refund_row(payment, amount) -> Refund:
    return Refund.objects.create(store=payment.store, payment=payment, amount=Decimal(amount),
                                 currency=payment.currency)


def test_partial_then_full_refunds_reach_stripe_in_minor_units(paid, stripe_api):
    payment, setting = paid

    first = GATEWAY.refund(payment=payment, refund=refund_row(payment, "10.05"), setting=setting)
    second = GATEWAY.refund(payment=payment, refund=refund_row(payment, "14.95"), setting=setting)

    assert first.succeeded and second.succeeded and first.reference != second.reference
    refunds = sdk(stripe_api).v1.refunds.list(params={"payment_intent": payment.reference})
    assert sorted((r.id, r.amount, r.status) for r in refunds.data) == sorted(
        [(first.reference, 1005, "succeeded"), (second.reference, 1495, "succeeded")])


def test_a_refund_stripe_refuses_is_a_gateway_failure(stripe_api, store, place):
    setting = stripe_setting(store)
    place()
    payment = Payment.objects.get()  # never confirmed: nothing was charged

    with pytest.raises(GatewayFailed) as refused:
        GATEWAY.refund(payment=payment, refund=refund_row(payment, "1.00"), setting=setting)

    assert str(refused.value) == "Stripe refused to refund the payment."


def test_a_payment_stripe_never_saw_cannot_be_refunded_there(paid):
    payment, setting = paid
    payment.reference = ""

    with pytest.raises(GatewayFailed, match="never reached Stripe"):
        GATEWAY.refund(payment=payment, refund=refund_row(payment, "1.00"), setting=setting)


# --- signatures: GATEWAYS.md's vector, forgeries, stale timestamps ------------------------
VECTOR_SECRET = "whsec_test_secret"
VECTOR_TIMESTAMP = 1700000000
VECTOR_BODY = b'{"id":"evt_test_1","object":"event","type":"payment_intent.succeeded"}'
VECTOR_V1 = "871acfe933554b446cc41d791076dd56a10c0553cc61aafbeb881d0082b45043"


@pytest.fixture
def vector_setting(store) -> GatewaySetting:
    return stripe_setting(store, webhook_secret=VECTOR_SECRET)


@pytest.fixture
def lenient(monkeypatch):
    """The gateway with the timestamp check off, as GATEWAYS.md verifies its (old) vector."""
    monkeypatch.setattr(GATEWAY, "tolerance_seconds", None)
    return GATEWAY


def test_the_signature_vector(vector_setting, lenient):
    assert hmac.new(VECTOR_SECRET.encode(), b"%d.%s" % (VECTOR_TIMESTAMP, VECTOR_BODY),
                    hashlib.sha256).hexdigest() == VECTOR_V1
    headers = {"Stripe-Signature": f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}"}

    notification = lenient.notification_read(setting=vector_setting, body=VECTOR_BODY, headers=headers)

    assert (notification.event_id, notification.event_type) == ("evt_test_1", "payment_intent.succeeded")
    assert notification.outcome == Outcome.IGNORED  # the vector carries no payment intent


def test_the_vector_is_too_old_with_the_five_minutes_tolerance(vector_setting):
    headers = {"Stripe-Signature": f"t={VECTOR_TIMESTAMP},v1={VECTOR_V1}"}

    with pytest.raises(SignatureInvalid, match="too old"):
        GATEWAY.notification_read(setting=vector_setting, body=VECTOR_BODY, headers=headers)


@pytest.mark.parametrize("age, verifies", [(0, True), (290, True), (310, False), (3600, False)])
def test_a_signature_is_accepted_for_five_minutes(store, age, verifies):
    setting = stripe_setting(store)
    body, headers = signed(event("payment_intent.processing", {"object": "payment_intent", "id": "pi_1"}),
                           timestamp=int(time.time()) - age)

    if verifies:
        assert GATEWAY.notification_read(setting=setting, body=body, headers=headers).outcome == Outcome.PROCESSING
    else:
        with pytest.raises(SignatureInvalid, match="too old"):
            GATEWAY.notification_read(setting=setting, body=body, headers=headers)


def test_any_matching_v1_signature_verifies_during_a_secret_rotation(store):
    setting = stripe_setting(store)
    body, headers = signed(event("payment_intent.processing", {"object": "payment_intent", "id": "pi_1"}))
    timestamp, current = headers["Stripe-Signature"].split(",")
    old = "v1=" + hmac.new(b"whsec_old", b"x", hashlib.sha256).hexdigest()

    rotated = {"stripe-signature": f"{timestamp},{old},{current}"}  # any header case

    assert GATEWAY.notification_read(setting=setting, body=body, headers=rotated).event_id == "evt_1"


def forgeries():
    good = event("payment_intent.succeeded", {"object": "payment_intent", "id": "pi_1", "amount": 100,
                                             "currency": "usd"})
    body, headers = signed(good)
    tampered = body.replace(b'"amount": 100', b'"amount": 1')
    other_secret = signed(good, secret="whsec_someone_else")[1]
    future = int(time.time()) + 10
    return {
        "another secret": (body, other_secret, "does not match"),
        "a tampered body": (tampered, headers, "does not match"),
        "no header": (body, {}, "does not match"),
        "a header without v1": (body, {"Stripe-Signature": f"t={future}"}, "does not match"),
        "garbage header": (body, {"Stripe-Signature": "nonsense"}, "does not match"),
        "v0 only": (body, {"Stripe-Signature": headers["Stripe-Signature"].replace("v1=", "v0=")}, "does not match"),
    }


@pytest.mark.parametrize("case", list(forgeries()))
def test_forged_signatures_are_refused(store, case):
    setting = stripe_setting(store)
    body, headers, message = forgeries()[case]

    with pytest.raises(SignatureInvalid, match=message) as refused:
        GATEWAY.notification_read(setting=setting, body=body, headers=headers)

    assert WEBHOOK_SECRET not in str(refused.value) and refused.value.__cause__ is None


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"not json", b"[1, 2]", b'{"object": "event"}'])
def test_a_signed_body_that_is_no_stripe_event_is_refused(store, body):
    setting = stripe_setting(store)

    with pytest.raises(SignatureInvalid, match="not a Stripe event"):
        GATEWAY.notification_read(setting=setting, body=body, headers=signed(body)[1])


def test_a_store_without_a_webhook_secret_verifies_nothing(store):
    setting = stripe_setting(store, webhook_secret="")
    body, headers = signed(event("payment_intent.succeeded", {"object": "payment_intent", "id": "pi_1"}), secret="")

    with pytest.raises(SignatureInvalid, match="no Stripe webhook secret"):
        GATEWAY.notification_read(setting=setting, body=body, headers=headers)


# --- what each event means ----------------------------------------------------------
INTENT = {"object": "payment_intent", "id": "pi_9", "amount": 2500, "amount_received": 0, "currency": "usd",
          "metadata": {"order_number": "A1B2C3", "store": "alpha"}}


def read(store, payload):
    setting = stripe_setting(store)
    body, headers = signed(payload)
    return GATEWAY.notification_read(setting=setting, body=body, headers=headers)


def test_a_success_says_what_was_received(store):
    got = read(store, event("payment_intent.succeeded", {**INTENT, "amount_received": 2500,
                                                         "latest_charge": "ch_1"}))

    assert (got.outcome, got.reference, got.order_number) == (Outcome.PAID, "pi_9", "A1B2C3")
    assert (got.amount, got.currency, got.card_fingerprint) == (Decimal("25.00"), "USD", "")


def test_a_failure_carries_the_cards_message_and_fingerprint(store):
    error = {"code": "card_declined", "message": "Your card has insufficient funds.",
             "payment_method": {"id": "pm_1", "object": "payment_method", "card": {"fingerprint": "Xt5EWLLDS7FJjR1c"}}}

    got = read(store, event("payment_intent.payment_failed", {**INTENT, "last_payment_error": error}))

    assert (got.outcome, got.message, got.card_fingerprint) == (
        Outcome.FAILED, "Your card has insufficient funds.", "Xt5EWLLDS7FJjR1c")
    assert got.amount == Decimal("25.00")


def test_a_cancelled_intent_is_a_failure_with_its_reason(store):
    got = read(store, event("payment_intent.canceled", {**INTENT, "cancellation_reason": "abandoned"}))

    assert (got.outcome, got.message, got.reference) == (Outcome.FAILED, "cancelled: abandoned", "pi_9")


def test_a_refunded_charge_says_how_much_was_refunded_in_all(store):
    charge = {"object": "charge", "id": "ch_1", "payment_intent": "pi_9", "amount": 2500, "amount_refunded": 1500,
              "currency": "usd", "refunded": False, "metadata": {}}

    got = read(store, event("charge.refunded", charge))

    assert (got.outcome, got.reference, got.refund_reference) == (Outcome.REFUNDED, "pi_9", "")
    assert (got.amount, got.refund_amount, got.currency) == (Decimal("25.00"), Decimal("15.00"), "USD")


def test_a_refunded_charge_that_lists_its_refunds_is_about_the_newest(store):
    refunds = {"object": "list", "data": [
        {"object": "refund", "id": "re_old", "amount": 500, "created": 1700000000, "status": "succeeded"},
        {"object": "refund", "id": "re_new", "amount": 1000, "created": 1700000100, "status": "succeeded"}]}
    charge = {"object": "charge", "id": "ch_1", "payment_intent": "pi_9", "amount": 2500, "amount_refunded": 1500,
              "currency": "usd", "refunds": refunds}

    got = read(store, event("charge.refunded", charge))

    assert (got.outcome, got.reference, got.refund_reference, got.refund_amount) == (
        Outcome.REFUNDED, "pi_9", "re_new", Decimal("10.00"))


@pytest.mark.parametrize("event_type, status, outcome, message", [
    ("refund.created", "succeeded", Outcome.REFUNDED, ""),
    ("refund.updated", "succeeded", Outcome.REFUNDED, ""),
    ("refund.created", "pending", Outcome.IGNORED, ""),
    ("refund.failed", "failed", Outcome.FAILED, "refund failed: expired_or_canceled_card"),
    ("refund.updated", "canceled", Outcome.FAILED, "refund canceled: canceled"),
])
def test_a_refund_event_is_about_one_refund(store, event_type, status, outcome, message):
    refund = {"object": "refund", "id": "re_7", "payment_intent": "pi_9", "amount": 1000, "currency": "kwd",
              "status": status, "metadata": {"refund": "4"}}
    if status == "failed":
        refund["failure_reason"] = "expired_or_canceled_card"

    got = read(store, event(event_type, refund))

    assert (got.outcome, got.message) == (outcome, message)
    assert (got.reference, got.refund_reference, got.refund_amount, got.currency) == (
        "pi_9", "re_7", Decimal("1.000"), "KWD")


@pytest.mark.parametrize("event_type", ["customer.created", "payment_intent.created", "charge.succeeded"])
def test_other_events_are_ignored(store, event_type):
    got = read(store, event(event_type, {**INTENT, "object": event_type.split(".")[0]}, event_id="evt_other"))

    assert (got.outcome, got.event_id, got.event_type) == (Outcome.IGNORED, "evt_other", event_type)
