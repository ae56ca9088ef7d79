"""A member's decision on an order held for review: POST orders/{number}/approve|reject (orders.manage) and the
orders admin, both through payments.services.order_approve / order_reject."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.html import escape

from auditlog.models import AuditLog
from catalog.models import InventoryMovement, Variant
from catalog.services import stock_adjust
from config.api.errors import InvalidTransition
from config.money import money_str
from orders.models import Order, OrderEvent
from orders.services import order_cancel, order_hold, orders_expire
from payments import services
from payments.errors import ReviewRefused
from payments.models import Payment, Refund, WebhookEvent

from .signed_gateway import HEADER, NAME, event_body, sign

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}
BUYER = "buyer@example.com"
ORDERS_ADMIN = "/admin/orders/order/"


def review_url(order, decision) -> str:
    return f"/api/v1/stores/{order.store.slug}/orders/{order.number}/{decision}"


@pytest.fixture
def fraud_held(store, make_variant, cart_with, card_gateway):
    """A card order a fraud check held at checkout (the store's ceiling is below its total): (order, payment,
    variant)."""
    services.fraud_setting_update(store=store, amount_ceiling=Decimal("5.00"))

    def make(*, stock=5):
        variant = make_variant(price="10.00", stock=stock)
        order, payment = services.checkout_complete(store=store, cart=cart_with((variant, 1)), email=BUYER,
                                                    shipping_address=ADDRESS, payment_method="testcard")
        assert order.hold_reason.startswith("Fraud check:") and payment.failure_reason == services.NOT_STARTED
        return order, payment, variant

    return make


@pytest.fixture
def signed(store, signed_gateway, make_variant, cart_with, api, django_capture_on_commit_callbacks):
    """Orders paid through the signed test gateway, and ``deliver(payment, amount=)``: its signed success posted to
    the webhook URL and processed."""
    signed_gateway.configure(store)

    def place(*, stock=5):
        variant = make_variant(price="10.00", stock=stock)
        order, payment = services.checkout_complete(store=store, cart=cart_with((variant, 1)), email=BUYER,
                                                    shipping_address=ADDRESS, payment_method=NAME)
        return order, payment, variant

    def deliver(payment, *, amount=None, event_id="evt_1"):
        body = event_body(event_id, "payment.succeeded", order=payment.order.number, reference=payment.reference,
                          amount=amount or money_str(payment.amount, payment.currency), currency=payment.currency)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/payments/webhooks/{NAME}/{store.slug}", data=body,
                                content_type="application/json",
                                **{f"HTTP_{HEADER.upper().replace('-', '_')}": sign("test-secret-for-alpha", body)})
        assert response.status_code == 200
        return WebhookEvent.objects.get(event_id=event_id)

    place.deliver = deliver
    return place


def state(order, payment) -> tuple[str, str, str, bool]:
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status, order.payment_status, payment.status, bool(order.hold_reason)


def expire(order) -> None:
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    assert orders_expire() == 1


# --- approve -------------------------------------------------------------------------------------------------------
def test_approving_a_fraud_hold_starts_the_payment_and_gives_the_buyer_time_to_pay(
        store, member_factory, client_for, fraud_held, card_gateway):
    # given an order held at checkout long ago, its payment never started
    order, payment, _ = fraud_held()
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(hours=3))
    staff = member_factory(store, "staff")
    # when staff approve it
    response = client_for(staff).post(review_url(order, "approve"), {"note": "Called the buyer"})
    # then the hold is gone, the payment started, and the reservation runs again
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["held"], data["hold_reason"], data["status"]) == (False, None, "pending")
    assert data["payment"]["id"] == payment.pk
    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == ("pending", "")
    assert payment.reference and payment.action == {"redirect_url": f"https://pay.example/{order.number}"}
    assert card_gateway.started == [order.number]
    order.refresh_from_db()
    assert order.reserved_until > timezone.now() + timedelta(minutes=29)
    assert orders_expire() == 0
    assert OrderEvent.objects.get(order=order, kind="released").note == "Called the buyer"
    entry = AuditLog.objects.get(action="order.approved")
    assert (entry.actor_user, entry.changes["payment_started"]) == (staff, payment.pk)
    # a second approve is refused
    again = client_for(staff).post(review_url(order, "approve"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_TRANSITION"


def test_approving_applies_a_success_held_for_a_wrong_amount(store, client_for, signed):
    order, payment, _ = signed()
    event = signed.deliver(payment, amount="9.00")
    assert event.status == "held" and state(order, payment) == ("pending", "unpaid", "pending", True)

    response = client_for(store.owner).post(review_url(order, "approve"))

    assert response.status_code == 200, response.json()
    assert state(order, payment) == ("processing", "paid", "paid", False)
    event.refresh_from_db()
    assert event.status == "processed"
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.get(action="order.approved").changes["applied_events"] == [event.pk]


def test_approving_a_success_whose_stock_is_gone_is_refused_until_restocked(store, client_for, signed, cart_with):
    # given a success that arrived after the reservation expired and the last unit was sold meanwhile
    order, payment, variant = signed(stock=1)
    expire(order)
    services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="other@example.com",
                               shipping_address=ADDRESS, payment_method="bank_transfer")
    event = signed.deliver(payment)
    order.refresh_from_db()
    reason = order.hold_reason
    assert "stock is gone" in reason
    owner = client_for(store.owner)
    # when the owner approves: refused, and nothing changed
    refused = owner.post(review_url(order, "approve"))
    assert refused.status_code == 409 and "stock is gone" in refused.json()["error"]["message"]
    assert state(order, payment) == ("cancelled", "unpaid", "cancelled", True)
    assert order.hold_reason == reason
    event.refresh_from_db()
    assert event.status == "held"
    assert not AuditLog.objects.filter(action="order.approved").exists()
    # once restocked, approving reinstates the order with its stock and applies the payment
    stock_adjust(variant=Variant.objects.get(pk=variant.pk), delta=1, note="Found one")
    response = owner.post(review_url(order, "approve"))
    assert response.status_code == 200, response.json()
    assert state(order, payment) == ("processing", "paid", "paid", False)
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (2, 2)


def test_a_gateway_refusing_to_start_leaves_the_order_held(store, client_for, fraud_held, card_gateway):
    order, payment, _ = fraud_held()
    card_gateway.refusal = "The gateway is down."

    response = client_for(store.owner).post(review_url(order, "approve"))

    assert response.status_code == 402 and response.json()["error"]["code"] == "PAYMENT_ERROR"
    assert state(order, payment) == ("pending", "unpaid", "pending", True)
    assert not OrderEvent.objects.filter(order=order, kind="released").exists()


def test_an_unstarted_payment_of_a_gateway_no_longer_offered_is_cancelled(store, fraud_held, card_gateway):
    from payments.gateways import REGISTRY

    order, payment, _ = fraud_held()
    card_gateway.enabled_by_default = False  # the store stops offering it
    assert "testcard" not in services.gateways_offered(store=store)

    services.order_approve(order=order, actor=store.owner)

    payment.refresh_from_db()
    assert payment.status == "cancelled" and "no longer offers testcard" in payment.failure_reason
    assert REGISTRY["testcard"].started == []


# --- reject --------------------------------------------------------------------------------------------------------
def test_rejecting_a_fraud_hold_cancels_the_order_and_gives_its_stock_back(store, client_for, fraud_held):
    order, payment, variant = fraud_held()

    response = client_for(store.owner).post(review_url(order, "reject"), {"note": "Stolen card"})

    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Rejected and cancelled."
    assert state(order, payment) == ("cancelled", "unpaid", "cancelled", False)
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert list(OrderEvent.objects.filter(order=order).values_list("kind", "note")) == [
        ("created", ""), ("held", order.events.get(kind="held").note), ("released", "Stolen card"),
        ("status", "Stolen card")]
    assert AuditLog.objects.get(action="order.rejected").changes["refunds"] == []


def test_rejecting_a_held_success_refunds_the_money_through_the_gateway(store, client_for, signed, cart_with):
    order, payment, variant = signed(stock=1)
    expire(order)
    services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="other@example.com",
                               shipping_address=ADDRESS, payment_method="bank_transfer")
    event = signed.deliver(payment)

    response = client_for(store.owner).post(review_url(order, "reject"))

    assert response.status_code == 200, response.json()
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status) == (Decimal("10.00"), "succeeded")
    assert response.json()["message"] == f"Rejected and cancelled: refund #{refund.pk} of 10.00 USD succeeded."
    assert state(order, payment) == ("cancelled", "refunded", "refunded", False)
    event.refresh_from_db()
    assert event.status == "processed" and "rejected" in event.error
    assert InventoryMovement.objects.filter(order=order, reason="reserve").count() == 1  # never reserved again


@pytest.mark.parametrize("taken", ["9.00", "11.00"])
def test_rejecting_a_success_held_for_a_wrong_amount_refunds_what_the_gateway_took(store, client_for, signed, taken):
    # the gateway took another amount than the order's: all of it goes back, not the order's total
    order, payment, _ = signed()
    signed.deliver(payment, amount=taken)
    # the buyer cancelling meanwhile changes nothing: the order stays held, for a member to decide
    order_cancel(order=order, by_customer=True)
    listed = client_for(store.owner).get(f"/api/v1/stores/{store.slug}/orders?held=true").json()["data"]
    assert [row["number"] for row in listed] == [order.number]

    response = client_for(store.owner).post(review_url(order, "reject"))

    assert response.status_code == 200, response.json()
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status) == (Decimal(taken), "succeeded")
    assert state(order, payment) == ("cancelled", "refunded", "refunded", False)
    assert (payment.amount, payment.refunded_amount) == (Decimal(taken), Decimal(taken))
    assert AuditLog.objects.get(action="payment.paid").changes["amount"] == ["10.00", taken]


def test_a_paid_held_order_is_not_rejected(store, signed):
    order, first, _ = signed()
    second = Payment.objects.create(store=store, order=order, gateway=NAME, amount=first.amount,
                                    currency=first.currency, reference="sp_second")
    signed.deliver(first)
    signed.deliver(second, event_id="evt_2")  # paid twice: the order is held
    assert state(order, second)[3]

    with pytest.raises(ReviewRefused, match="paid"):
        services.order_reject(order=order, actor=store.owner)
    with pytest.raises(InvalidTransition):
        services.order_reject(order=Order.objects.create(store=store, number="NOTHELD", email=BUYER, currency="USD",
                                                         subtotal=1, total=1, payment_method="cod"))

    assert state(order, second) == ("processing", "paid", "paid", True)


# --- who may decide -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_deciding_needs_orders_manage_in_the_orders_store(api, store, other_store, member_factory, user_factory,
                                                         client_for, fraud_held, decision):
    order, payment, _ = fraud_held()

    answers = [
        api.post(review_url(order, decision)).status_code,
        client_for(user_factory()).post(review_url(order, decision)).status_code,
        client_for(member_factory(store, "viewer")).post(review_url(order, decision)).status_code,
        client_for(other_store.owner).post(review_url(order, decision)).status_code,
        client_for(other_store.owner).post(
            f"/api/v1/stores/{other_store.slug}/orders/{order.number}/{decision}").status_code,
    ]

    assert answers == [401, 404, 403, 404, 404]
    assert state(order, payment) == ("pending", "unpaid", "pending", True)


# --- the admin -----------------------------------------------------------------------------------------------------
def test_the_admin_lists_held_orders_and_approves_from_the_orders_page(store, admin_login, fraud_held, card_gateway,
                                                                       make_variant, cart_with):
    held, _, _ = fraud_held()
    services.checkout_complete(store=store, cart=cart_with((make_variant(), 1)), email=BUYER,
                               shipping_address=ADDRESS, payment_method="cod")
    client = admin_login(store.owner)

    listed = client.get(ORDERS_ADMIN, {"held": "yes"})
    page = client.get(f"{ORDERS_ADMIN}{held.pk}/change/")
    response = client.post(f"{ORDERS_ADMIN}{held.pk}/review/", {"decision": "approve", "note": "ok"}, follow=True)

    assert [order.pk for order in listed.context["cl"].result_list] == [held.pk]
    text = page.content.decode()
    assert "Held for review" in text and escape(held.hold_reason) in text and 'value="reject"' in text
    assert f"{held.number}: approved." in " ".join(str(m) for m in response.context["messages"])
    held.refresh_from_db()
    assert held.hold_reason == "" and card_gateway.started == [held.number]
    assert "Held for review" not in client.get(f"{ORDERS_ADMIN}{held.pk}/change/").content.decode()


def test_the_admin_rejects_held_orders_in_bulk_and_says_which_were_not_held(store, admin_login, fraud_held):
    first, _, _ = fraud_held()
    second, _, _ = fraud_held()
    order_hold(order=second, reason="again")  # still held: its first reason stays
    not_held = Order.objects.create(store=store, number="PLAIN", email=BUYER, currency="USD", subtotal=1, total=1,
                                    payment_method="cod")

    response = admin_login(store.owner).post(ORDERS_ADMIN, {
        "action": "reject_held", "_selected_action": [first.pk, second.pk, not_held.pk]}, follow=True)

    text = " ".join(str(m) for m in response.context["messages"])
    assert "2 order(s) rejected and cancelled." in text and "PLAIN: The order is not held for review." in text
    assert list(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == [
        "cancelled", "cancelled"]


def test_staff_of_another_store_cannot_decide_here(store, other_store, admin_login, fraud_held):
    order, payment, _ = fraud_held()

    response = admin_login(other_store.owner).post(f"{ORDERS_ADMIN}{order.pk}/review/", {"decision": "reject"})

    assert response.status_code == 404
    assert state(order, payment) == ("pending", "unpaid", "pending", True)
