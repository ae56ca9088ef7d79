"""Kashier and Moamalat end to end: a checkout through the API, the gateway's signed notification posted to the
webhook URL (again and again), a refund through the API to the gateway (the local fake), then the gateway's own
refund notifications, which converge with it; a refund made in the gateway's dashboard is recorded once."""

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from orders.models import Order
from payments.models import Payment, Refund, WebhookEvent
from payments.tests.test_checkout_api import body as checkout_body
from payments.tests.test_hosted_checkout import kashier_on, moamalat_on
from payments.tests.test_kashier import API_KEY
from payments.tests.test_kashier import webhook as kashier_webhook
from payments.tests.test_moamalat import TEST_KEY as MOAMALAT_KEY_HEX
from payments.tests.test_moamalat import signed as moamalat_signed
from payments.tests.test_webhooks_gateways import state
from tests.envelopes import data

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-1"  # kashier_on's account secret key


@pytest.fixture
def post(api, django_capture_on_commit_callbacks):
    """Posts a gateway's body and headers to the store's webhook URL and runs what it enqueued (eagerly)."""

    def send(gateway: str, store, body: bytes, headers: dict):
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(f"/api/v1/payments/webhooks/{gateway}/{store.slug}", data=body,
                            content_type="application/json", **extra)

    return send


def checkout_via_api(api, store, variant_price, gateway, cart_with, make_variant):
    cart = cart_with((make_variant(store=store, price=variant_price), 1), store=store)
    response = api.post(f"/api/v1/stores/{store.slug}/checkout", checkout_body(cart, payment_method=gateway),
                        format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=data(response)["number"]), data(response)["payment"]


def refund_via_api(client, store, payment, amount):
    return client.post(f"/api/v1/stores/{store.slug}/payments/{payment.pk}/refunds",
                       {"amount": amount, "reason": "Returned"}, format="json")


def test_kashier_pay_once_refund_and_converge(api, client_for, store_factory, make_variant, cart_with, post,
                                              fake_gateways):
    shop = store_factory(slug="cairo", currency="EGP")
    kashier_on(shop)
    order, answer = checkout_via_api(api, shop, "150.00", "kashier", cart_with, make_variant)
    assert parse_qs(urlsplit(answer["redirect_url"]).query)["orderId"] == [order.number]
    payment = Payment.objects.get(pk=answer["id"])

    # Kashier posts its pay webhook, and posts it again (retries): one effect
    paid = {"merchantOrderId": order.number, "kashierOrderId": "k-9", "transactionId": "TX-9", "status": "SUCCESS",
            "amount": 150, "currency": "EGP"}
    for _ in range(10):
        assert post("kashier", shop, *kashier_webhook(paid, key=API_KEY)).status_code == 200
    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "k-9:TX-9" and WebhookEvent.objects.count() == 1

    # the merchant refunds 50.00 through the API: Kashier's refund API, with the account secret key
    fake_gateways.kashier_transaction("k-9", "TX-9", "150.00", secret_key=SECRET_KEY)
    owner = client_for(shop.owner)
    response = refund_via_api(owner, shop, payment, "50.00")
    assert response.status_code == 201, response.json()
    ours = Refund.objects.get()
    assert (ours.status, ours.amount) == ("succeeded", Decimal("50.00")) and ours.reference.startswith("RF-")
    [sent] = fake_gateways.requests
    assert sent.path == "/kashier/orders/k-9/transactions/TX-9" and sent.headers["Authorization"] == SECRET_KEY

    # Kashier's refund webhook for it, twice: nothing more is refunded
    refunded = {**paid, "transactionId": ours.reference, "amount": 50}
    for _ in range(2):
        assert post("kashier", shop, *kashier_webhook(refunded, event="refund", key=API_KEY)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount, Refund.objects.count()) == (
        "partially_refunded", Decimal("50.00"), 1)

    # a refund of the rest made in Kashier's dashboard is recorded once, and the order is refunded
    dashboard = {**paid, "transactionId": "RF-DASH", "amount": 100}
    for _ in range(2):
        post("kashier", shop, *kashier_webhook(dashboard, event="refund", key=API_KEY))
    assert state(order, payment) == ("refunded", "refunded", "refunded")
    assert sorted(Refund.objects.values_list("reference", "amount")) == sorted(
        [(ours.reference, Decimal("50.00")), ("RF-DASH", Decimal("100.00"))])

    # nothing remains: a further refund is refused here, before Kashier is asked
    assert refund_via_api(owner, shop, payment, "0.01").status_code == 400
    assert len(fake_gateways.requests) == 1


def test_moamalat_pay_once_a_declined_refund_gives_the_amount_back_then_refund(
        api, client_for, store_factory, make_variant, cart_with, post, fake_gateways):
    shop = store_factory(slug="tripoli", currency="LYD")
    moamalat_on(shop)
    order, answer = checkout_via_api(api, shop, "12.500", "moamalat", cart_with, make_variant)
    assert answer["lightbox"]["AmountTrxn"] == 12500
    payment = Payment.objects.get(pk=answer["id"])
    approved = moamalat_signed({
        "Amount": "12500", "Currency": "434", "DateTimeLocalTrxn": "20250101120000", "MerchantId": "10081014649",
        "TerminalId": "99179395", "ActionCode": "00", "TxnType": "1", "SystemReference": "SR-1",
        "MerchantReference": order.number, "Message": "Approved"}, key=MOAMALAT_KEY_HEX)

    for _ in range(10):
        response = post("moamalat", shop, json.dumps(approved).encode(), {})
        assert response.json() == {"Message": "Success", "Success": True}
    assert state(order, payment) == ("processing", "paid", "paid") and payment.reference == "SR-1"

    # Moamalat knows a smaller transaction: it declines 12.500, the amount is given back (402)
    fake_gateways.moamalat_terminal("10081014649", "99179395", MOAMALAT_KEY_HEX)
    fake_gateways.moamalat_transaction("SR-1", 10000)
    owner = client_for(shop.owner)
    declined = refund_via_api(owner, shop, payment, "12.500")
    assert declined.status_code == 402, declined.json()
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("paid", Decimal("0"))

    # 2.500 goes through; Moamalat's refund notification for it converges
    assert refund_via_api(owner, shop, payment, "2.500").status_code == 201
    ours = Refund.objects.get(status="succeeded")
    notified = moamalat_signed({**approved, "Amount": "2500", "TxnType": "2", "SystemReference": ours.reference},
                               key=MOAMALAT_KEY_HEX)
    for _ in range(2):
        post("moamalat", shop, json.dumps(notified).encode(), {})
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("2.500"))
    assert Refund.objects.filter(status="succeeded").count() == 1
    assert [(sent.json()["AmountTrxn"], sent.json()["SystemReference"]) for sent in fake_gateways.requests] == [
        (12500, "SR-1"), (2500, "SR-1")]
