"""POST checkout with Kashier (the hosted page's address in the answer) and Moamalat (the Lightbox parameters);
a gateway that cannot start the payment is 402 and nothing is placed."""

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from orders.models import Order
from payments.gateways import gateway_get
from payments.models import GatewaySetting, Payment
from payments.tests.test_checkout_api import body, checkout_url, nothing_created
from tests.envelopes import data, error

pytestmark = pytest.mark.django_db

API_KEY = "d3adb33f-test-api-key"
MOAMALAT_KEY = "39636630633731362D663963322D346362642D386531662D633963303432353936373431"


def kashier_on(store, **options):
    return GatewaySetting.objects.create(store=store, gateway="kashier", enabled=True,
                                         options={"merchant_id": "MID-123-456", **options},
                                         secrets=json.dumps({"api_key": API_KEY, "secret_key": "sk-1"}))


def moamalat_on(store):
    return GatewaySetting.objects.create(store=store, gateway="moamalat", enabled=True,
                                         options={"merchant_id": "10081014649", "terminal_id": "99179395"},
                                         secrets=json.dumps({"secure_key": MOAMALAT_KEY}))


def test_a_kashier_checkout_answers_the_hosted_page_to_send_the_buyer_to(
        api, store_factory, make_variant, cart_with, settings):
    settings.PUBLIC_BASE_URL = ""
    shop = store_factory(slug="cairo-shop", currency="EGP")
    kashier_on(shop)
    cart = cart_with((make_variant(store=shop, price="75.00"), 2), store=shop)

    response = api.post(checkout_url(shop), body(cart, payment_method="kashier"), format="json")

    assert response.status_code == 201, response.json()
    answer = data(response)
    order, payment = Order.objects.get(), Payment.objects.get()
    assert (answer["status"], answer["payment_status"], answer["payment"]["status"]) == ("pending", "unpaid", "pending")
    query = parse_qs(urlsplit(answer["payment"]["redirect_url"]).query)
    assert (query["orderId"], query["amount"], query["currency"]) == ([order.number], ["150.00"], ["EGP"])
    expected = hmac.new(API_KEY.encode(), f"/?payment=MID-123-456.{order.number}.150.00.EGP".encode(),
                        hashlib.sha256).hexdigest()
    assert query["hash"] == [expected]
    # built from the request's host (no PUBLIC_BASE_URL here)
    assert query["serverWebhook"] == ["http://testserver/api/v1/payments/webhooks/kashier/cairo-shop"]
    assert query["merchantRedirect"] == ["http://testserver/api/v1/payments/return/kashier/cairo-shop"]
    assert payment.action == {"redirect_url": answer["payment"]["redirect_url"]} and payment.reference == ""
    assert API_KEY not in response.content.decode()


def test_a_moamalat_checkout_answers_the_lightbox_parameters(api, store_factory, make_variant, cart_with):
    shop = store_factory(slug="tripoli-shop", currency="LYD")
    moamalat_on(shop)
    cart = cart_with((make_variant(store=shop, price="12.500"), 1), store=shop)

    response = api.post(checkout_url(shop), body(cart, payment_method="moamalat"), format="json")

    assert response.status_code == 201, response.json()
    lightbox = data(response)["payment"]["lightbox"]
    order = Order.objects.get()
    assert {name: lightbox[name] for name in ("MID", "TID", "AmountTrxn", "MerchantReference")} == {
        "MID": "10081014649", "TID": "99179395", "AmountTrxn": 12500, "MerchantReference": order.number}
    message = (f"Amount=12500&DateTimeLocalTrxn={lightbox['TrxDateTime']}&MerchantId=10081014649"
               f"&MerchantReference={order.number}&TerminalId=99179395")
    assert lightbox["SecureHash"] == hmac.new(bytes.fromhex(MOAMALAT_KEY), message.encode(),
                                              hashlib.sha256).hexdigest().upper()
    assert MOAMALAT_KEY not in response.content.decode()


def test_a_gateway_that_cannot_start_the_payment_is_402_and_nothing_is_placed(api, store, make_variant, cart_with):
    moamalat_on(store)  # the store sells in USD: Moamalat takes LYD only
    variant = make_variant()
    cart = cart_with((variant, 1))

    response = api.post(checkout_url(store), body(cart, payment_method="moamalat"), format="json")

    assert response.status_code == 402, response.json()
    refused = error(response)
    assert refused["code"] == "PAYMENT_ERROR" and "LYD" in refused["message"]
    nothing_created(cart, variant)


def test_the_answer_stops_showing_the_buyers_part_once_the_payment_is_done(
        api, owner_api, store_factory, make_variant, cart_with):
    shop = store_factory(slug="done-shop", currency="EGP")
    kashier_on(shop)
    cart = cart_with((make_variant(store=shop), 1), store=shop)
    number = data(api.post(checkout_url(shop), body(cart, payment_method="kashier"), format="json"))["number"]
    Payment.objects.update(status="failed")

    owner = api.__class__()
    owner.force_authenticate(shop.owner)
    answer = data(owner.get(f"/api/v1/stores/{shop.slug}/orders/{number}"))

    assert answer["payment"]["status"] == "failed" and "redirect_url" not in answer["payment"]


# --- the merchant sets them up (PUT payment-gateways/{gateway}) ----------------------------------------
def test_kashier_settings_have_the_documented_defaults_and_take_the_open_points_per_store(store, client_for):
    owner = client_for(store.owner)
    url = f"/api/v1/stores/{store.slug}/payment-gateways/kashier"
    before = data(owner.get(url))
    assert {name: before[name] for name in ("enabled", "mode", "signature_keys_sorted", "signature_key",
                                            "return_url")} == {
        "enabled": False, "mode": "test", "signature_keys_sorted": True, "signature_key": "api_key", "return_url": ""}

    response = owner.put(url, {"enabled": True, "merchant_id": "MID-1-2", "api_key": API_KEY, "mode": "live",
                               "signature_keys_sorted": False, "signature_key": "secret_key",
                               "return_url": "https://shop.example.com/thanks"}, format="json")

    assert response.status_code == 200, response.json()
    setting = GatewaySetting.objects.get(store=store, gateway="kashier")
    gateway = gateway_get("kashier")
    assert [gateway.option(setting, name) for name in ("mode", "signature_keys_sorted", "signature_key")] == [
        "live", False, "secret_key"]
    assert data(response)["configured"] is True and API_KEY not in response.content.decode()


@pytest.mark.parametrize("gateway, values, field", [
    ("kashier", {"mode": "production"}, "mode"),
    ("kashier", {"signature_key": "webhook_key"}, "signature_key"),
    ("kashier", {"signature_keys_sorted": "sometimes"}, "signature_keys_sorted"),
    ("kashier", {"return_url": "javascript:alert(1)"}, "return_url"),
    ("moamalat", {"secure_key": "not-hex-secret-value"}, "secure_key"),
    ("moamalat", {"notification_key": "abc"}, "notification_key"),
])
def test_a_setting_the_gateway_cannot_use_is_400_on_its_field(store, client_for, gateway, values, field):
    response = client_for(store.owner).put(f"/api/v1/stores/{store.slug}/payment-gateways/{gateway}", values,
                                           format="json")
    assert response.status_code == 400
    assert list(error(response)["details"]) == [field]
    assert "not-hex-secret-value" not in response.content.decode()
    assert not GatewaySetting.objects.exists()
