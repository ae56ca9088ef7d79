"""POST payments {order, gateway}: a new payment for a pending order after a failed one; the payments throttle."""

from decimal import Decimal

import pytest
from rest_framework.throttling import SimpleRateThrottle

from auditlog.models import AuditLog
from orders.models import Order
from orders.services import order_cancel, order_hold, order_hold_release
from payments import services
from payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}
BUYER = "buyer@example.com"


def url(store) -> str:
    return f"/api/v1/stores/{store.slug}/payments"


@pytest.fixture
def card_order(store, make_variant, cart_with, card_gateway):
    """A pending 10.00 order placed with the test card gateway whose payment failed; answers (order, payment)."""

    def make(*, at=store, user=None, fingerprint=""):
        cart = cart_with((make_variant(store=at, price="10.00", stock=10), 1), store=at, user=user)
        order, payment = services.checkout_complete(store=at, cart=cart, email=BUYER, shipping_address=ADDRESS,
                                                    payment_method="testcard", user=user)
        Payment.objects.filter(pk=payment.pk).update(status="failed", failure_reason="Card declined.",
                                                     card_fingerprint=fingerprint)
        return order, payment

    return make


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**overrides: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **overrides})

    return set_rates


# --- a retry ----------------------------------------------------------------------------------------------------
def test_a_guest_retries_a_failed_payment_and_gets_what_their_page_needs(api, store, card_order, card_gateway):
    # given a pending order whose card payment failed
    order, first = card_order()
    # when the guest (naming the order's email, any case) pays again
    response = api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": "BUYER@example.com"},
                        REMOTE_ADDR="203.0.113.5")
    # then a second payment of the order's total starts
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    payment = Payment.objects.get(pk=data["id"])
    assert payment.pk != first.pk and card_gateway.started == [order.number, order.number]
    assert data == {"id": payment.pk, "order": order.pk, "order_number": order.number, "gateway": "testcard",
                    "status": "pending", "amount": "10.00", "refunded_amount": "0.00", "currency": "USD",
                    "instructions": "",
                    "created_at": data["created_at"], "paid_at": None, "held": False,
                    "redirect_url": f"https://pay.example/{order.number}"}
    assert (payment.amount, payment.email, payment.ip) == (Decimal("10.00"), BUYER, "203.0.113.5")
    first.refresh_from_db()
    assert first.status == "failed"
    assert AuditLog.objects.get(action="payment.created", object_id=str(payment.pk)).changes["retry"] is True


def test_the_logged_in_customer_and_a_manager_may_retry(store, user, member_factory, client_for, card_order):
    mine, _ = card_order(user=user)
    theirs, _ = card_order()

    by_customer = client_for(user).post(url(store), {"order": mine.pk, "gateway": "testcard"})
    by_staff = client_for(member_factory(store, "staff")).post(url(store), {"order": theirs.pk, "gateway": "testcard"})

    assert (by_customer.status_code, by_staff.status_code) == (201, 201)


def test_anyone_else_gets_404_and_a_member_without_orders_manage_403(api, store, other_store, user_factory,
                                                                    member_factory, client_for, card_order):
    order, _ = card_order()
    elsewhere, _ = card_order(at=other_store)

    answers = [
        api.post(url(store), {"order": order.pk, "gateway": "testcard"}).status_code,
        api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": "x@example.com"}).status_code,
        client_for(user_factory()).post(url(store), {"order": order.pk, "gateway": "testcard"}).status_code,
        api.post(url(store), {"order": elsewhere.pk, "gateway": "testcard", "email": BUYER}).status_code,
        client_for(store.owner).post(url(store), {"order": elsewhere.pk, "gateway": "testcard"}).status_code,
        client_for(member_factory(store, "viewer")).post(url(store), {"order": order.pk,
                                                                      "gateway": "testcard"}).status_code,
    ]

    assert answers == [404, 404, 404, 404, 404, 403]
    assert Payment.objects.count() == 2


def test_a_retry_can_switch_to_bank_transfer_but_not_to_cash_on_delivery(api, store, card_order):
    GatewaySetting.objects.create(store=store, gateway="bank_transfer", instructions="IBAN LY00")
    order, _ = card_order()

    bank = api.post(url(store), {"order": order.pk, "gateway": "bank_transfer", "email": BUYER})
    cod = api.post(url(store), {"order": order.pk, "gateway": "cod", "email": BUYER})

    assert bank.status_code == 201 and bank.json()["data"]["instructions"] == "IBAN LY00"
    assert cod.status_code == 400 and "gateway" in cod.json()["error"]["details"]


def test_a_gateway_the_store_does_not_offer_is_400_naming_it(api, store, card_order):
    GatewaySetting.objects.create(store=store, gateway="bank_transfer", enabled=False)
    order, _ = card_order()

    for gateway in ("bank_transfer", "nope"):
        response = api.post(url(store), {"order": order.pk, "gateway": gateway, "email": BUYER})
        assert response.status_code == 400 and "gateway" in response.json()["error"]["details"]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("state, status, code", [
    ("paid", 409, "CONFLICT"),
    ("processing", 409, "CONFLICT"),
    ("cancelled", 409, "INVALID_TRANSITION"),
    ("held", 409, "CONFLICT"),
])
def test_an_order_that_waits_for_no_payment_takes_none(api, store, card_order, state, status, code):
    order, payment = card_order()
    if state in ("paid", "processing"):
        Payment.objects.filter(pk=payment.pk).update(status=state)
    elif state == "cancelled":
        order_cancel(order=order)
    else:
        order_hold(order=order, reason="Amount mismatch.")

    response = api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": BUYER})

    assert response.status_code == status and response.json()["error"]["code"] == code
    assert Payment.objects.filter(order=order).count() == 1


def test_a_gateways_refusal_is_402_and_records_nothing(api, store, card_order, card_gateway):
    order, _ = card_order()
    card_gateway.refusal = "The gateway is down."

    response = api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": BUYER})

    assert response.status_code == 402
    assert response.json()["error"] == {"code": "PAYMENT_ERROR", "message": "The gateway is down.",
                                        "details": {"gateway": "testcard"}}
    assert Payment.objects.filter(order=order).count() == 1
    assert not AuditLog.objects.filter(action="payment.created", changes__retry=True).exists()


def test_an_idempotency_key_replays_the_same_payment(api, store, card_order):
    order, _ = card_order()
    body = {"order": order.pk, "gateway": "testcard", "email": BUYER}

    first = api.post(url(store), body, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = api.post(url(store), body, HTTP_IDEMPOTENCY_KEY="retry-1")
    other = api.post(url(store), {**body, "gateway": "bank_transfer"}, HTTP_IDEMPOTENCY_KEY="retry-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json()["data"] == first.json()["data"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert Payment.objects.filter(order=order).count() == 2


# --- screened like a checkout --------------------------------------------------------------------------------
def test_a_retry_with_a_card_that_keeps_failing_holds_the_order(api, store, card_order, card_gateway):
    # given an order whose payments with one card failed three times (the default card limit)
    order, _ = card_order(fingerprint="fp_1")
    for _ in range(2):
        Payment.objects.create(store=store, order=order, gateway="testcard", status="failed", amount=order.total,
                               currency="USD", email="other@example.com", card_fingerprint="fp_1")
    # when the buyer tries again
    response = api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": BUYER})
    # then the order is held and the new payment is recorded unstarted
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["held"] is True and "redirect_url" not in data
    assert "held for review" in response.json()["message"]
    order.refresh_from_db()
    assert order.hold_reason == ("Fraud check: 3 failed payments with the same card in the last 60 minutes "
                                 "(limit 3).")
    payment = Payment.objects.get(pk=data["id"])
    assert (payment.status, payment.failure_reason) == ("pending", services.NOT_STARTED)
    assert card_gateway.started == [order.number]


def test_an_order_a_member_released_after_review_is_not_screened_again(api, store, card_order, card_gateway):
    order, _ = card_order(fingerprint="fp_1")
    services.fraud_setting_update(store=store, max_failed_per_card=1)
    order_hold(order=order, reason="Fraud check: …")
    order_hold_release(order=order, actor=store.owner)

    response = api.post(url(store), {"order": order.pk, "gateway": "testcard", "email": BUYER})

    assert response.status_code == 201 and response.json()["data"]["held"] is False
    assert Order.objects.get(pk=order.pk).hold_reason == ""


# --- the payments throttle -------------------------------------------------------------------------------------
def test_retries_count_against_the_payments_scope(api, store, card_order, rates):
    rates(payments="2/hour")
    order, _ = card_order()
    body = {"order": order.pk, "gateway": "testcard", "email": BUYER}
    Payment.objects.filter(order=order).update(status="failed")

    answers = []
    for _ in range(3):
        answers.append(api.post(url(store), body))
        Payment.objects.filter(order=order).update(status="failed")

    assert [answer.status_code for answer in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "RATE_LIMITED" and int(answers[2]["Retry-After"]) > 60


def test_card_checkouts_count_against_the_payments_scope_and_offline_ones_do_not(
        api, store, make_variant, cart_with, card_gateway, rates):
    rates(payments="1/hour")

    def checkout(method):
        cart = cart_with((make_variant(), 1))
        return api.post(f"/api/v1/stores/{store.slug}/checkout", {
            "cart": str(cart.pk), "email": BUYER, "shipping_address": ADDRESS, "payment_method": method})

    answers = [checkout(method).status_code for method in ("cod", "testcard", "bank_transfer", "cod", "testcard")]

    assert answers == [201, 201, 201, 201, 429]


def test_reading_payments_is_not_throttled_by_the_payments_scope(store, client_for, rates):
    rates(payments="1/hour")
    owner = client_for(store.owner)

    assert [owner.get(url(store)).status_code for _ in range(3)] == [200, 200, 200]
