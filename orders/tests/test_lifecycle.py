"""The order lifecycle: one transition table, stock sold or released, events, audit rows; refusals change nothing."""

from decimal import Decimal

import pytest

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from config.api.errors import InvalidTransition, ValidationFailed
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders import services
from orders.errors import AlreadyPaid, OutOfStock
from orders.models import Cart, Coupon, CouponUse, Order, OrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_of(store, cart_with):
    """An order of ``(variant, quantity)`` pairs, pending unless told."""

    def make(*pairs, status="pending", user=None, coupon=None):
        cart = cart_with(*pairs, user=user)
        if coupon:
            services.cart_coupon_apply(cart=cart, code=coupon)
        return services.order_place(store=store, cart=cart, email="buyer@example.com", customer_name="Buyer",
                                    shipping_address={"city": "Benghazi"}, payment_method="cod",
                                    initial_status=status, user=user, actor=user)

    return make


def stock_of(variant) -> tuple[int, int]:
    variant.refresh_from_db()
    return variant.stock_quantity, variant.reserved


@pytest.fixture
def hooks(store):
    return WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/x", events=[
        "order.status_changed", "order.cancelled", "order.refunded", "order.paid"])


def delivered() -> list[str]:
    return list(WebhookDelivery.objects.order_by("id").values_list("event_type", flat=True))


def test_completing_consumes_the_reservation(store, make_variant, order_of, hooks):
    # given a processing order of 2 (5 on hand)
    variant = make_variant(stock=5)
    order = order_of((variant, 2), status="processing")
    # when
    order = services.order_transition(order=order, status="completed", actor=store.owner, note="Shipped")
    # then
    assert order.status == "completed"
    assert stock_of(variant) == (3, 0)
    assert list(InventoryMovement.objects.filter(order=order).order_by("id")
                .values_list("reason", "quantity_delta", "reserved_delta")) == [("reserve", 0, 2), ("sale", -2, -2)]
    event = order.events.get(kind="status")
    assert (event.from_status, event.to_status, event.note, event.actor_user) == ("processing", "completed",
                                                                                   "Shipped", store.owner)
    assert AuditLog.objects.get(action="order.status_changed").changes == {"status": ["processing", "completed"],
                                                                           "note": "Shipped"}
    assert delivered() == ["order.status_changed"]
    data = WebhookDelivery.objects.get().payload["data"]
    assert (data["status"], data["previous_status"], data["note"]) == ("completed", "processing", "Shipped")


def test_cancelling_releases_the_reservation_and_gives_the_coupon_back(store, user, make_variant, order_of, hooks):
    coupon = Coupon.objects.create(store=store, code="ONCE", kind="fixed", value=Decimal("1"), usage_limit=1,
                                   usage_limit_per_customer=1)
    variant = make_variant(stock=5)
    order = order_of((variant, 3), user=user, coupon="ONCE")
    assert stock_of(variant) == (5, 3) and Coupon.objects.get().used_count == 1

    services.order_cancel(order=order, actor=user, by_customer=True)

    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert stock_of(variant) == (5, 0)
    assert InventoryMovement.objects.filter(order=order, reason="release", reserved_delta=-3).count() == 1
    coupon.refresh_from_db()
    assert coupon.used_count == 0 and not CouponUse.objects.exists()
    assert delivered() == ["order.cancelled"]  # one event per transition (docs/EVENTS.md)
    data = WebhookDelivery.objects.get().payload["data"]
    assert (data["status"], data["previous_status"]) == ("cancelled", "pending")


def refund_in_full(order, refund_id: int = 1, note: str = ""):
    """What payments' refunds service records once a full refund succeeded."""
    return services.order_refund_record(order=order, amount=order.total, refunded_amount=order.total, full=True,
                                        refund_id=refund_id, note=note)


def test_refunding_a_processing_order_releases_and_a_completed_one_keeps_the_sale(store, make_variant, order_of):
    variant = make_variant(stock=10)
    processing = order_of((variant, 2), status="processing")
    completed = order_of((variant, 3), status="processing")
    services.order_transition(order=completed, status="completed")
    services.order_mark_paid(order=completed)  # paid after delivery (cash on delivery)
    services.order_mark_paid(order=processing)

    refund_in_full(Order.objects.get(pk=processing.pk))
    completed = refund_in_full(Order.objects.get(pk=completed.pk), refund_id=2)

    assert stock_of(variant) == (7, 0)  # 3 sold (a return is a stock adjustment), 2 released
    assert (completed.status, completed.payment_status) == ("refunded", "refunded")
    assert Order.objects.get(pk=processing.pk).payment_status == "refunded"


@pytest.mark.parametrize("paid", [True, False])
def test_a_status_change_never_refunds_an_order(store, make_variant, order_of, hooks, paid):
    # only a refund of its payment gives the money back and moves the order (payments' refunds service)
    variant = make_variant(stock=5)
    order = order_of((variant, 2), status="processing")
    if paid:
        services.order_mark_paid(order=order)
    WebhookDelivery.objects.all().delete()
    with pytest.raises(InvalidTransition) as refused:
        services.order_transition(order=order, status="refunded")
    assert "POST payments/{id}/refunds" in refused.value.message
    assert refused.value.details == {"status": "processing", "to": "refunded"}
    assert Order.objects.values_list("status", "payment_status").get(pk=order.pk) == (
        "processing", "paid" if paid else "unpaid")
    assert stock_of(variant) == (5, 2)
    assert delivered() == []


def test_a_refund_is_one_order_refunded_event_with_its_amount(store, make_variant, order_of, hooks):
    order = order_of((make_variant(price="12.50"), 2), status="processing")
    services.order_mark_paid(order=order)
    WebhookDelivery.objects.all().delete()
    refund_in_full(Order.objects.get(pk=order.pk), refund_id=7, note="Damaged")
    assert delivered() == ["order.refunded"]
    data = WebhookDelivery.objects.get().payload["data"]
    assert (data["amount"], data["refund_id"], data["previous_status"], data["note"]) == (
        "25.00", 7, "processing", "Damaged")


def test_a_cancellation_sends_the_buyer_one_email(store, make_variant, order_of, mailoutbox,
                                                  django_capture_on_commit_callbacks):
    order = order_of((make_variant(), 1))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, note="Out of season")
    assert [message.to for message in mailoutbox] == [["buyer@example.com"]]


@pytest.mark.parametrize("start, target", [
    ("pending", "completed"), ("pending", "refunded"), ("pending", "pending"), ("processing", "pending"),
])
def test_moves_outside_the_table_are_409_and_change_nothing(store, make_variant, order_of, start, target):
    variant = make_variant(stock=5)
    order = order_of((variant, 1), status=start)
    with pytest.raises(InvalidTransition) as refused:
        services.order_transition(order=order, status=target)
    assert refused.value.code == "INVALID_TRANSITION" and refused.value.details == {"status": start, "to": target}
    assert Order.objects.get(pk=order.pk).status == start
    assert stock_of(variant) == (5, 1)
    assert not OrderEvent.objects.filter(kind="status").exists()
    assert not AuditLog.objects.filter(action="order.status_changed").exists()


def test_final_states_go_nowhere(store, make_variant, order_of):
    order = order_of((make_variant(), 1))
    services.order_cancel(order=order)
    for target in ("pending", "processing", "completed", "refunded", "cancelled"):
        with pytest.raises(InvalidTransition):
            services.order_transition(order=order, status=target)
    with pytest.raises(ValidationFailed):
        services.order_transition(order=order, status="shipped")


def test_a_customer_cancels_only_while_pending_the_store_also_while_processing(store, make_variant, order_of):
    order = order_of((make_variant(stock=5), 1), status="processing")
    with pytest.raises(InvalidTransition) as refused:
        services.order_cancel(order=order, by_customer=True)
    assert "only the store can cancel it" in refused.value.message
    assert Order.objects.get(pk=order.pk).status == "processing"
    assert services.order_cancel(order=order, actor=store.owner).status == "cancelled"


def test_mark_paid_pays_once_and_moves_a_pending_order_on(store, make_variant, order_of, hooks):
    # given a pending bank-transfer order
    variant = make_variant(stock=5)
    order = order_of((variant, 1))
    # when
    paid = services.order_mark_paid(order=order, actor=store.owner)
    # then
    assert (paid.status, paid.payment_status, paid.reserved_until) == ("processing", "paid", None)
    assert list(paid.events.filter(kind="paid").values_list("from_status", "to_status")) == [("pending",
                                                                                               "processing")]
    assert delivered() == ["order.paid"]
    assert WebhookDelivery.objects.get().payload["data"]["previous_status"] == "pending"
    assert AuditLog.objects.get(action="order.paid").changes == {"payment_status": ["unpaid", "paid"],
                                                                 "status": ["pending", "processing"]}
    assert stock_of(variant) == (5, 1)  # still held until completed
    # and a second call is a conflict that writes nothing
    with pytest.raises(AlreadyPaid) as refused:
        services.order_mark_paid(order=order, actor=store.owner)
    assert refused.value.code == "CONFLICT" and refused.value.status_code == 409
    assert OrderEvent.objects.filter(kind="paid").count() == 1 and len(delivered()) == 1


def test_a_processing_order_is_paid_without_moving(store, make_variant, order_of):
    order = order_of((make_variant(), 1), status="processing")
    paid = services.order_mark_paid(order=order)
    assert (paid.status, paid.payment_status) == ("processing", "paid")


def test_a_cancelled_order_cannot_be_paid(store, make_variant, order_of):
    order = order_of((make_variant(), 1))
    services.order_cancel(order=order)
    with pytest.raises(InvalidTransition):
        services.order_mark_paid(order=order)
    assert Order.objects.get(pk=order.pk).payment_status == "unpaid"


def test_completing_a_backorder_before_its_units_arrive_is_refused(store, make_variant, order_of):
    variant = make_variant(stock=1, allow_backorder=True)
    order = order_of((variant, 3), status="processing")
    with pytest.raises(OutOfStock):
        services.order_transition(order=order, status="completed")
    assert Order.objects.get(pk=order.pk).status == "processing"
    assert stock_of(variant) == (1, 3)


def test_reorder_fills_a_cart_with_what_can_still_be_bought(store, user, make_variant, order_of):
    plenty, scarce, gone = make_variant(stock=10), make_variant(stock=4), make_variant(stock=10)
    order = order_of((plenty, 2), (scarce, 3), (gone, 1), user=user)
    services.order_transition(order=order, status="cancelled")
    scarce.reserved = 3  # someone else's order
    scarce.save()
    gone.product.status = "archived"
    gone.product.save()

    cart = services.order_reorder(order=order, user=user)

    assert cart.user == user and cart.store == store
    assert dict(cart.lines.values_list("variant", "quantity")) == {plenty.pk: 2, scarce.pk: 1}
    assert Cart.objects.filter(user=user).count() == 1
