"""POST payments/{id}/refunds through each real card gateway: Stripe's SDK against a real localstripe, Kashier's and
Moamalat's refund APIs on the local fake (tests/fake_gateways.py). The gateway is called once per refund, in minor
units where it wants them, and a refund beyond what remains is refused here before any gateway hears of it."""

import json
from decimal import Decimal

import pytest
import stripe

from orders.services import order_mark_paid
from payments import services
from payments.models import GatewaySetting, Payment, Refund

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Cairo"}


def refunds_url(store, payment) -> str:
    return f"/api/v1/stores/{store.slug}/payments/{payment.pk}/refunds"


def settle_paid(payment: Payment, **fields) -> Payment:
    """The payment paid as its gateway's success notification leaves it (the pipeline is tested elsewhere)."""
    Payment.objects.filter(pk=payment.pk).update(status="paid", **fields)
    order_mark_paid(order=payment.order)
    payment.refresh_from_db()
    return payment


@pytest.fixture
def offline_paid(store, make_variant, cart_with):
    """An order placed and paid here with cash on delivery, its payment then standing for one the card gateway
    ``gateway`` took (``reference``): the gateways' own checkout pages are tested with each gateway."""

    def make(gateway: str, *, currency: str, price: str, reference: str) -> Payment:
        store.currency = currency
        store.save()
        variant = make_variant(price=price, stock=5)
        _, payment = services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="b@example.com",
                                                shipping_address=ADDRESS, payment_method="cod")
        return settle_paid(payment, gateway=gateway, reference=reference)

    return make


def test_a_stripe_refund_goes_to_localstripe_in_cents(store, stripe_api, make_variant, cart_with, client_for):
    # given a Stripe payment of 25.00 the buyer confirmed at localstripe
    secret_key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    GatewaySetting.objects.create(store=store, gateway="stripe", enabled=True,
                                  options={"publishable_key": "pk_test_alpha"},
                                  secrets=json.dumps({"secret_key": secret_key, "webhook_secret": "whsec_alpha"}))
    variant = make_variant(price="12.50", stock=5)
    _, payment = services.checkout_complete(store=store, cart=cart_with((variant, 2)), email="b@example.com",
                                            shipping_address=ADDRESS, payment_method="stripe")
    buyer = stripe.StripeClient(secret_key, base_addresses={"api": stripe_api.url}, max_network_retries=0)
    buyer.v1.payment_intents.update(payment.reference, params={"payment_method": "pm_card_visa"})
    buyer.v1.payment_intents.confirm(payment.reference)
    payment = settle_paid(payment)
    owner = client_for(store.owner)
    # when 10.05 goes back, then the rest, then a cent more
    first = owner.post(refunds_url(store, payment), {"amount": "10.05", "reason": "Damaged"}, format="json")
    rest = owner.post(refunds_url(store, payment), {"amount": "14.95"}, format="json")
    beyond = owner.post(refunds_url(store, payment), {"amount": "0.01"}, format="json")
    # then Stripe holds exactly the two refunds, each answered with Stripe's refund id
    assert (first.status_code, rest.status_code, beyond.status_code) == (201, 201, 400), beyond.json()
    at_stripe = buyer.v1.refunds.list(params={"payment_intent": payment.reference}).data
    assert sorted((r.id, r.amount) for r in at_stripe) == sorted(
        [(first.json()["data"]["reference"], 1005), (rest.json()["data"]["reference"], 1495)])
    assert all(r.id.startswith("re_") for r in at_stripe)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount, payment.order.status) == ("refunded", Decimal("25.00"),
                                                                               "refunded")


def test_a_kashier_refund_goes_through_its_api(store, fake_gateways, offline_paid, client_for):
    secret_key = "kashier-account-secret-0042"
    GatewaySetting.objects.create(store=store, gateway="kashier", enabled=True, options={"merchant_id": "MID-1"},
                                  secrets=json.dumps({"api_key": "kashier-api-key", "secret_key": secret_key}))
    fake_gateways.kashier_transaction("65f1c0ffee", "TX-246810", "150.00", secret_key=secret_key)
    payment = offline_paid("kashier", currency="EGP", price="150.00", reference="65f1c0ffee:TX-246810")
    owner = client_for(store.owner)

    done = owner.post(refunds_url(store, payment), {"amount": "50.00", "reason": "Too big"}, format="json")
    beyond = owner.post(refunds_url(store, payment), {"amount": "100.01"}, format="json")

    assert done.status_code == 201, done.json()
    assert done.json()["data"]["reference"].startswith("RF-")
    assert beyond.status_code == 400  # refused here: Kashier never heard of it
    [sent] = fake_gateways.requests
    assert (sent.method, sent.path, sent.json()) == (
        "PUT", "/kashier/orders/65f1c0ffee/transactions/TX-246810", {"amount": "50.00", "reason": "Too big"})
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("50.00"))


def test_a_moamalat_refund_goes_through_its_api_in_dirhams(store, fake_gateways, offline_paid, client_for):
    mid, tid, secure_key = "10081014649", "99179395", "39636630633731362D663963322D346362642D386531662D63396330"
    GatewaySetting.objects.create(store=store, gateway="moamalat", enabled=True,
                                  options={"merchant_id": mid, "terminal_id": tid, "mode": "test"},
                                  secrets=json.dumps({"secure_key": secure_key, "notification_key": secure_key}))
    fake_gateways.moamalat_terminal(mid, tid, secure_key)
    fake_gateways.moamalat_transaction("224601234567", 10000)
    payment = offline_paid("moamalat", currency="LYD", price="10.000", reference="224601234567")
    owner = client_for(store.owner)

    done = owner.post(refunds_url(store, payment), {"amount": "10.000", "restock": True}, format="json")

    assert done.status_code == 201, done.json()
    [sent] = fake_gateways.requests
    assert (sent.path, sent.json()["AmountTrxn"], sent.json()["SystemReference"]) == (
        "/moamalat/RefundTransaction", 10000, "224601234567")
    payment.refresh_from_db()
    assert (payment.status, payment.order.status, payment.order.payment_status) == ("refunded", "refunded",
                                                                                    "refunded")


def test_a_refund_a_gateway_refuses_is_402_and_gives_the_amount_back(store, fake_gateways, offline_paid,
                                                                    client_for):
    # Moamalat holds another key than the store's: it refuses the refund's hash
    mid, tid = "10081014649", "99179395"
    GatewaySetting.objects.create(store=store, gateway="moamalat", enabled=True,
                                  options={"merchant_id": mid, "terminal_id": tid, "mode": "test"},
                                  secrets=json.dumps({"secure_key": "AA" * 16, "notification_key": "AA" * 16}))
    fake_gateways.moamalat_terminal(mid, tid, "BB" * 16)
    fake_gateways.moamalat_transaction("224601234567", 10000)
    payment = offline_paid("moamalat", currency="LYD", price="10.000", reference="224601234567")

    refused = client_for(store.owner).post(refunds_url(store, payment), {"amount": "4.000"}, format="json")

    assert refused.status_code == 402
    assert refused.json()["error"]["details"]["reason"] == "Invalid Secure Hash"
    assert Refund.objects.get().status == "failed"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("paid", Decimal("0.000"))
