"""The webhook pipeline with the real gateways: Stripe's notifications as localstripe signs and sends them for a
PaymentIntent it confirmed, Kashier's and Moamalat's signed as they sign them, each posted to
POST payments/webhooks/{gateway}/{store} and applied by the (eager) worker."""

import json
from decimal import Decimal

import pytest
import stripe

from notifications.tests.receiver import start_receiver
from orders.models import OrderEvent
from payments import services
from payments.models import Payment, Refund, WebhookEvent
from payments.tests.test_kashier import API_KEY, MID
from payments.tests.test_kashier import webhook as kashier_webhook
from payments.tests.test_moamalat import MID as MOAMALAT_MID
from payments.tests.test_moamalat import TEST_KEY, TID
from payments.tests.test_moamalat import signed as moamalat_signed
from payments.tests.test_stripe import (
    WEBHOOK_SECRET,
    event,
    received,
    sdk,
    stripe_setting,
)
from payments.tests.test_stripe import signed as stripe_signed

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Cairo"}


@pytest.fixture
def post(api, django_capture_on_commit_callbacks):
    """Posts a gateway's body and headers to a store's webhook URL, as the gateway would, and runs what it
    enqueued (the worker's task, eagerly)."""

    def send(gateway: str, store, body: bytes, headers: dict):
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(f"/api/v1/payments/webhooks/{gateway}/{store.slug}", data=body,
                            content_type="application/json", **extra)

    return send


@pytest.fixture
def checkout(make_variant, cart_with):
    def make(store, gateway: str, *, price: str, quantity: int = 1, stock: int = 5):
        variant = make_variant(store=store, price=price, stock=stock)
        order, payment = services.checkout_complete(store=store, cart=cart_with((variant, quantity), store=store),
                                                    email="buyer@example.com", shipping_address=ADDRESS,
                                                    payment_method=gateway)
        return order, payment

    return make


def state(order, payment) -> tuple[str, str, str]:
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status, order.payment_status, payment.status


# --- Stripe, through localstripe ------------------------------------------------------------------------------
@pytest.fixture
def stripe_webhooks(stripe_api):
    """A local receiver localstripe sends its signed webhooks to (we forward them to our URL, as Stripe would)."""
    receiver, server = start_receiver()
    stripe_api.webhook_send_to(receiver.url, WEBHOOK_SECRET)
    yield receiver
    server.shutdown()
    server.server_close()


def stripe_header(headers) -> dict:
    return {"Stripe-Signature": next(value for name, value in headers.items() if name.lower() == "stripe-signature")}


def test_stripe_a_confirmed_intent_pays_the_order_once_however_often_it_is_delivered(stripe_webhooks, stripe_api,
                                                                                     store, checkout, post):
    # given a card checkout: a PaymentIntent at localstripe, the order pending
    stripe_setting(store)
    order, payment = checkout(store, "stripe", price="12.50", quantity=2)
    assert payment.reference.startswith("pi_")
    # when the buyer confirms it and localstripe notifies us (the webhook it signed, delivered 10 times)
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    buyer.v1.payment_intents.confirm(payment.reference)
    body, headers = received(stripe_webhooks, "payment_intent.succeeded")
    answers = [post("stripe", store, body, stripe_header(headers)) for _ in range(10)]
    # then
    assert [answer.status_code for answer in answers] == [200] * 10
    assert answers[0].json() == {"received": True}
    assert state(order, payment) == ("processing", "paid", "paid")
    assert WebhookEvent.objects.get().status == "processed"
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1


def test_stripe_a_declined_card_fails_the_payment_then_a_second_card_pays_it(stripe_webhooks, stripe_api, store,
                                                                             checkout, post):
    stripe_setting(store)
    order, payment = checkout(store, "stripe", price="10.00")
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_chargeCustomerFail"})
    with pytest.raises(stripe.CardError):
        buyer.v1.payment_intents.confirm(payment.reference)
    body, headers = received(stripe_webhooks, "payment_intent.payment_failed")

    assert post("stripe", store, body, stripe_header(headers)).status_code == 200
    assert state(order, payment) == ("pending", "unpaid", "failed")
    assert payment.failure_reason == "Your card was declined."

    # the same intent confirmed with another card (Stripe keeps the intent): paid after failed wins
    succeeded = event("payment_intent.succeeded", {
        "id": payment.reference, "object": "payment_intent", "amount": 1000, "amount_received": 1000,
        "currency": "usd", "status": "succeeded", "metadata": {"order_number": order.number}}, "evt_second_card")
    body, headers = stripe_signed(succeeded)
    post("stripe", store, body, headers)
    assert state(order, payment) == ("processing", "paid", "paid")


def test_stripe_a_stale_or_foreign_signature_is_refused(store, post):
    stripe_setting(store)
    payload = event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "amount": 100,
                                                 "currency": "usd", "metadata": {}})

    stale = post("stripe", store, *stripe_signed(payload, timestamp=1700000000))
    foreign = post("stripe", store, *stripe_signed(payload, secret="whsec_someone_else"))

    assert (stale.status_code, foreign.status_code) == (400, 400)
    assert not WebhookEvent.objects.exists()


def test_stripe_refunds_converge_with_those_made_here(stripe_api, store, checkout, post):
    # given a paid intent, refunded in part through the store (Stripe answered: succeeded, re_…)
    stripe_setting(store)
    order, payment = checkout(store, "stripe", price="20.00")
    buyer = sdk(stripe_api)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    buyer.v1.payment_intents.confirm(payment.reference)
    paid = event("payment_intent.succeeded", {"id": payment.reference, "object": "payment_intent", "amount": 2000,
                                              "amount_received": 2000, "currency": "usd",
                                              "metadata": {"order_number": order.number}}, "evt_paid")
    post("stripe", store, *stripe_signed(paid))
    ours = services.payment_refund(payment=Payment.objects.get(pk=payment.pk), amount="5.00", reason="Dented")
    assert ours.status == "succeeded" and ours.reference.startswith("re_")

    def refund_event(refund_id: str, amount: int, event_id: str) -> dict:
        return event("refund.updated", {"id": refund_id, "object": "refund", "payment_intent": payment.reference,
                                         "amount": amount, "currency": "usd", "status": "succeeded",
                                         "metadata": {}}, event_id)

    # when Stripe notifies our refund, and charge.refunded (a total, naming no refund): nothing new
    post("stripe", store, *stripe_signed(refund_event(ours.reference, 500, "evt_refund_ours")))
    post("stripe", store, *stripe_signed(event("charge.refunded", {
        "id": "ch_1", "object": "charge", "payment_intent": payment.reference, "amount": 2000, "amount_refunded": 500,
        "currency": "usd", "metadata": {"order_number": order.number}}, "evt_charge_refunded")))
    assert Refund.objects.filter(payment=payment).count() == 1
    assert WebhookEvent.objects.get(event_id="evt_charge_refunded").status == "ignored"
    # and when the merchant refunds 3.00 more in Stripe's dashboard, its refund event records it, once
    for _ in range(2):
        post("stripe", store, *stripe_signed(refund_event("re_dashboard", 300, "evt_refund_dashboard")))
    made = Refund.objects.filter(payment=payment).exclude(pk=ours.pk).get()
    assert (made.amount, made.status, made.reference) == (Decimal("3.00"), "succeeded", "re_dashboard")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("8.00"))


# --- Kashier --------------------------------------------------------------------------------------------------
@pytest.fixture
def kashier_store(store_factory, settings):
    from payments.tests.test_kashier import setting_for

    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    shop = store_factory(name="Cairo", slug="cairo", currency="EGP")
    setting_for(shop, save=True)
    return shop


def kashier_paid(order, *, amount="150.00", transaction="TX-1", status="SUCCESS", event_kind="pay"):
    return kashier_webhook({"merchantOrderId": order.number, "kashierOrderId": "k-1", "transactionId": transaction,
                            "status": status, "amount": amount, "currency": "EGP", "method": "card"},
                           event=event_kind, key=API_KEY)


def test_kashier_a_signed_pay_webhook_pays_the_order(kashier_store, checkout, post):
    order, payment = checkout(kashier_store, "kashier", price="150.00")
    assert MID in payment.action["redirect_url"]

    response = post("kashier", kashier_store, *kashier_paid(order))

    assert response.status_code == 200
    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "k-1:TX-1"  # what a Kashier refund names
    assert WebhookEvent.objects.get().event_id == "TX-1:pay"


def test_kashier_an_amount_that_is_not_the_orders_holds_it(kashier_store, checkout, post):
    order, payment = checkout(kashier_store, "kashier", price="150.00")

    post("kashier", kashier_store, *kashier_paid(order, amount="15.00"))

    assert state(order, payment) == ("pending", "unpaid", "pending")
    assert order.hold_reason == ("Payment amount mismatch: the gateway took 15.00 EGP, expected 150.00 EGP.")


def test_kashier_a_forged_webhook_is_refused(kashier_store, checkout, post):
    order, payment = checkout(kashier_store, "kashier", price="150.00")
    body, headers = kashier_paid(order)

    response = post("kashier", kashier_store, body.replace(b"150.00", b"1.00"), headers)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert state(order, payment) == ("pending", "unpaid", "pending")


# --- Moamalat -------------------------------------------------------------------------------------------------
@pytest.fixture
def moamalat_store(store_factory):
    from payments.tests.test_moamalat import setting_for

    shop = store_factory(name="Tripoli", slug="tripoli", currency="LYD")
    setting_for(shop).save()
    return shop


def moamalat_notification(order, *, amount="12500", action="00", txn="1", reference="224601234567") -> bytes:
    return json.dumps(moamalat_signed({
        "Amount": amount, "Currency": "434", "DateTimeLocalTrxn": "20250101120000", "MerchantId": MOAMALAT_MID,
        "TerminalId": TID, "ActionCode": action, "TxnType": txn, "SystemReference": reference,
        "NetworkReference": "N-1", "MerchantReference": order.number, "Message": "Approved", "Status": "Approved",
    }, key=TEST_KEY)).encode()


def test_moamalat_an_approved_notification_pays_the_order_and_is_answered_as_it_expects(moamalat_store, checkout,
                                                                                       post):
    order, payment = checkout(moamalat_store, "moamalat", price="12.500")

    response = post("moamalat", moamalat_store, moamalat_notification(order), {})

    assert response.status_code == 200
    assert response.json() == {"Message": "Success", "Success": True}
    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "224601234567"


def test_moamalat_a_declined_then_an_approved_transaction(moamalat_store, checkout, post):
    order, payment = checkout(moamalat_store, "moamalat", price="12.500")

    post("moamalat", moamalat_store, moamalat_notification(order, action="05", reference="S-1"), {})
    assert state(order, payment) == ("pending", "unpaid", "failed")
    post("moamalat", moamalat_store, moamalat_notification(order, reference="S-2"), {})

    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "S-2"


def test_moamalat_an_amount_in_the_wrong_minor_units_holds_the_order(moamalat_store, checkout, post):
    order, payment = checkout(moamalat_store, "moamalat", price="12.500")

    post("moamalat", moamalat_store, moamalat_notification(order, amount="1250"), {})

    assert state(order, payment) == ("pending", "unpaid", "pending")
    assert "took 1.250 LYD, expected 12.500 LYD" in order.hold_reason
