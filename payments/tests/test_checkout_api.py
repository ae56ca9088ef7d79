"""POST checkout: a cart becomes an order with its pending payment (cod or bank transfer), or nothing changes."""

from decimal import Decimal

import pytest
from django.core import mail

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from orders.models import Cart, Order, OrderLine
from payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def checkout_url(store) -> str:
    return f"/api/v1/stores/{store.slug}/checkout"


def body(for_cart, **overrides) -> dict:
    return {"cart": str(for_cart.pk), "email": "buyer@example.com", "customer_name": "Buyer",
            "shipping_address": ADDRESS, "payment_method": "cod", **overrides}


def nothing_created(cart, variant):
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not Payment.objects.exists()
    assert Cart.objects.filter(pk=cart.pk).exists()
    assert not InventoryMovement.objects.filter(reason="reserve").exists()
    assert not AuditLog.objects.filter(action__in=["order.created", "payment.created"]).exists()
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_cash_on_delivery_places_a_processing_order_with_a_pending_payment(
        api, store, make_variant, cart_with, django_capture_on_commit_callbacks):
    # given a cart of 2 × 12.50
    variant = make_variant(price="12.50", stock=5, product_name="Shirt")
    cart = cart_with((variant, 2))
    # when an anonymous buyer checks out with cash on delivery
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(checkout_url(store), body(cart), format="json")
    # then
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    order = Order.objects.get()
    assert (data["number"], data["status"], data["payment_status"]) == (order.number, "processing", "unpaid")
    assert (data["total"], data["currency"], data["payment_method"]) == ("25.00", "USD", "cod")
    payment = Payment.objects.get()
    assert data["payment"] == {"id": payment.pk, "gateway": "cod", "status": "pending", "amount": "25.00"}
    assert (payment.order_id, payment.amount, payment.currency, payment.status) == (
        order.pk, Decimal("25.00"), "USD", "pending")
    assert [(line["sku"], line["quantity"], line["total"]) for line in data["lines"]] == [(variant.sku, 2, "25.00")]
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (5, 2)
    assert InventoryMovement.objects.filter(order=order, reason="reserve").count() == 1
    assert not Cart.objects.filter(pk=cart.pk).exists()
    assert order.user is None
    # order.created went out after commit: the buyer's confirmation email (and the owner's notice)
    to_buyer = [message for message in mail.outbox if message.to == ["buyer@example.com"]]
    assert len(to_buyer) == 1 and order.number in to_buyer[0].subject + to_buyer[0].body
    assert AuditLog.objects.filter(action="payment.created", store=store).count() == 1


def test_bank_transfer_places_a_pending_order_with_the_stores_instructions(
        api, store, make_variant, cart_with, django_capture_on_commit_callbacks):
    GatewaySetting.objects.create(store=store, gateway="bank_transfer", instructions="IBAN LY00 1234, ref: order no.")
    variant = make_variant(price="10.00", stock=3)
    cart = cart_with((variant, 3))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(checkout_url(store), body(cart, payment_method="bank_transfer"), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["status"], data["payment_status"]) == ("pending", "unpaid")
    assert data["payment"]["gateway"] == "bank_transfer" and data["payment"]["status"] == "pending"
    assert data["payment"]["instructions"] == "IBAN LY00 1234, ref: order no."
    order = Order.objects.get()
    assert order.reserved_until is not None
    assert Payment.objects.get().instructions == "IBAN LY00 1234, ref: order no."
    variant.refresh_from_db()
    assert (variant.reserved, variant.available) == (3, 0)
    assert not Cart.objects.filter(pk=cart.pk).exists()
    assert any(message.to == ["buyer@example.com"] for message in mail.outbox)


def test_a_logged_in_buyers_order_is_theirs(store, user, client_for, make_variant, cart_with):
    cart = cart_with((make_variant(), 1), user=user)

    response = client_for(user).post(checkout_url(store), body(cart), format="json")

    assert response.status_code == 201, response.json()
    assert Order.objects.get().user == user


def test_another_users_cart_is_not_found(api, store, user, user_factory, client_for, make_variant, cart_with):
    variant = make_variant()
    cart = cart_with((variant, 1), user=user)

    as_other = client_for(user_factory()).post(checkout_url(store), body(cart), format="json")
    as_anonymous = api.post(checkout_url(store), body(cart), format="json")

    assert as_other.status_code == 404 and as_anonymous.status_code == 404
    nothing_created(cart, variant)


def test_a_method_the_store_turned_off_is_refused_and_nothing_is_created(api, store, make_variant, cart_with):
    GatewaySetting.objects.create(store=store, gateway="cod", enabled=False)
    variant = make_variant()
    cart = cart_with((variant, 1))

    response = api.post(checkout_url(store), body(cart, payment_method="cod"), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "payment_method" in error["details"]
    assert "bank_transfer" in error["details"]["payment_method"][0]
    nothing_created(cart, variant)


@pytest.mark.parametrize("method", ["stripe", "cash", ""])
def test_an_unknown_method_is_refused(api, store, make_variant, cart_with, method):
    variant = make_variant()
    cart = cart_with((variant, 1))

    response = api.post(checkout_url(store), body(cart, payment_method=method), format="json")

    assert response.status_code == 400
    assert "payment_method" in response.json()["error"]["details"]
    nothing_created(cart, variant)


def test_a_cart_short_of_stock_is_409_and_nothing_is_created(api, store, make_variant, cart_with):
    # given a cart of 3 while someone else's order took 2 of the 4
    variant = make_variant(stock=4)
    cart = cart_with((variant, 3))
    variant.reserved = 2
    variant.save(update_fields=["reserved"])

    response = api.post(checkout_url(store), body(cart), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "OUT_OF_STOCK"
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert Cart.objects.filter(pk=cart.pk).exists()
    variant.refresh_from_db()
    assert variant.reserved == 2


def test_an_idempotency_key_replays_the_same_order(api, store, make_variant, cart_with):
    cart = cart_with((make_variant(), 1))
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-1"}

    first = api.post(checkout_url(store), body(cart), format="json", **headers)
    again = api.post(checkout_url(store), body(cart), format="json", **headers)
    other_body = api.post(checkout_url(store), body(cart, email="other@example.com"), format="json", **headers)

    assert first.status_code == 201, first.json()
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["number"] == first.json()["data"]["number"]
    assert other_body.status_code == 409 and other_body.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert Order.objects.count() == 1 and Payment.objects.count() == 1


def test_a_refused_checkout_does_not_hold_its_idempotency_key(api, store, make_variant, cart_with):
    GatewaySetting.objects.create(store=store, gateway="cod", enabled=False)
    cart = cart_with((make_variant(), 1))
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-2"}

    refused = api.post(checkout_url(store), body(cart), format="json", **headers)
    GatewaySetting.objects.filter(store=store, gateway="cod").update(enabled=True)
    retried = api.post(checkout_url(store), body(cart), format="json", **headers)

    assert refused.status_code == 400
    assert retried.status_code == 201, retried.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("field, value", [("email", "not-an-email"), ("shipping_address", "a string"),
                                          ("cart", "not-a-uuid"), ("shipping_method", "x"),
                                          ("shipping_address", {"line1": "x" * 100_000})])
def test_bad_checkout_data_is_400_naming_the_field(api, store, make_variant, cart_with, field, value):
    variant = make_variant()
    cart = cart_with((variant, 1))

    response = api.post(checkout_url(store), body(cart, **{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    nothing_created(cart, variant)
