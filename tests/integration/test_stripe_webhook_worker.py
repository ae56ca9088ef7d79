"""End to end: a card checkout through Stripe (the real SDK against localstripe), the buyer confirms, localstripe
sends its signed webhook to the running app, the app verifies and stores it and enqueues its processing on Redis,
and a real Celery worker marks the payment and the order paid, once, however often the event comes again."""

import hashlib
import hmac
import json
import time

import pytest
import requests
import stripe

from auditlog.models import AuditLog
from notifications import events
from notifications.models import Notification
from orders.models import Order, OrderEvent
from payments import services
from payments.models import Payment, WebhookEvent
from tests.integration.servers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SECRET_KEY = "sk_test_e2e_0123456789abcdef"
WEBHOOK_SECRET = "whsec_e2e_0123456789abcdef"


def test_a_localstripe_webhook_makes_the_worker_mark_the_order_paid_once(
        celery_worker, live_server, stripe_api, store_factory, make_variant, cart_with, api):
    # given: a store that takes Stripe, and a buyer's pending order of 2 × 12.50 with its PaymentIntent
    store = store_factory(name="Stripe E2E", slug="stripe-e2e")
    services.gateway_setting_update(store=store, gateway="stripe", enabled=True, secret_key=SECRET_KEY,
                                    webhook_secret=WEBHOOK_SECRET)
    cart = cart_with((make_variant(store=store, price="12.50", stock=5), 2), store=store)
    placed = api.post(f"/api/v1/stores/{store.slug}/checkout", {
        "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": {"line1": "1 Main St"},
        "payment_method": "stripe"}, format="json")
    assert placed.status_code == 201, placed.json()
    order, payment = Order.objects.get(store=store), Payment.objects.get(store=store)
    assert (order.status, order.payment_status, payment.status) == ("pending", "unpaid", "pending")
    # the endpoint the merchant pastes into Stripe's dashboard, here localstripe's
    webhook_url = f"{live_server.url}/api/v1/payments/webhooks/stripe/{store.slug}"
    stripe_api.webhook_send_to(webhook_url, WEBHOOK_SECRET)

    # when: the buyer's page confirms the intent with a card (localstripe sends payment_intent.succeeded ~1 s later)
    buyer = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_api.url}, max_network_retries=0)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    assert buyer.v1.payment_intents.confirm(payment.reference).status == "succeeded"

    # then: the worker processed the stored event and the payment and order are paid
    paid = wait_for(lambda: Payment.objects.filter(pk=payment.pk, status="paid").exists(), timeout=40)
    assert paid, "".join(celery_worker[-40:]) + stripe_api.log()[-3000:]
    event = WebhookEvent.objects.get(gateway="stripe")
    assert (event.store_id, event.event_type, event.status, event.attempts) == (
        store.pk, "payment_intent.succeeded", "processed", 1)
    assert any(f"payment-webhook-event-{event.pk}-" in line and "succeeded" in line for line in celery_worker)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "paid")
    assert payment.paid_at is not None and event.payment_id == payment.pk
    # order.paid went out from the worker: the owner's in-app notification, through the worker's fan-out
    assert wait_for(lambda: Notification.objects.filter(user=store.owner, store=store,
                                                        event_type=events.ORDER_PAID).exists(), timeout=20)

    # when: Stripe sends the same event again (its retries re-sign it with a new timestamp), three times
    body = json.dumps(event.payload["body"]).encode()
    for _ in range(3):
        timestamp = int(time.time())
        signature = hmac.new(WEBHOOK_SECRET.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
        again = requests.post(webhook_url, data=body, timeout=10, headers={
            "Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={signature}"})
        assert (again.status_code, again.json()) == (200, {"received": True})
    time.sleep(1.5)  # what a stray task would have needed to run

    # then: nothing happened twice
    assert WebhookEvent.objects.filter(gateway="stripe").count() == 1
    assert AuditLog.objects.filter(action="payment.paid", store=store).count() == 1
    assert AuditLog.objects.filter(action="order.paid", store=store).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert Notification.objects.filter(user=store.owner, store=store, event_type=events.ORDER_PAID).count() == 1
    payment.refresh_from_db()
    assert payment.status == "paid"
