"""A refund, as the order sees it: its payment_status, and for a full refund the move to refunded. How much goes
back and through which gateway is payments' business (payments.services, refunds); it calls these in its
transaction once the money is back."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.services import stock_return, stock_returnable
from config.api.errors import NotFound, ValidationFailed
from config.money import money_str
from notifications import events

from ..events import actor_label, actor_user, audit, emit_event, order_payload
from ..models import Order, OrderEvent, OrderStatus, PaymentStatus
from .lifecycle import TRANSITIONS, order_moved

S = OrderStatus


def order_restock_check(*, order: Order, full: bool) -> None:
    """Whether a refund with ``restock`` has units to put back: what the order sold and has not returned, or, for a
    full refund of a processing order, its reservation (the move to refunded releases it). Raises ValidationFailed
    (400, details.restock) otherwise."""
    if stock_returnable(order):
        return
    status = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
    if status == S.PROCESSING:
        if full:
            return
        raise ValidationFailed("Nothing to restock: the order has not been completed.", restock=[
            "Its units are still reserved, not sold: they go back when the order is refunded in full or cancelled."])
    raise ValidationFailed("Nothing to restock.", restock=[
        "The order has no units out to put back: never completed, released, or returned already."])


@transaction.atomic
def order_refund_record(*, order: Order, amount: Decimal, refunded_amount: Decimal, full: bool, refund_id: int,
                        restock: bool = False, actor=None, note: str = "") -> Order:
    """Records a refund of the order's payment that succeeded (``amount`` this time, ``refunded_amount`` in all),
    under the order's row lock: payment_status becomes partially_refunded, or refunded when ``full``. A full refund
    moves a processing or completed order to refunded (a processing one's reservation released), with one
    ``order.refunded`` naming the refund; an order that cannot move (cancelled, refunded by hand already) keeps its
    status and still says ``order.refunded``, since its money is all back. ``restock`` returns the units it sold
    (``return`` movements). Writes an order event and an audit row. Returns the order as stored now."""
    row = Order.objects.select_for_update().filter(pk=order.pk).values_list(
        "status", "payment_status", "currency").first()
    if row is None:
        raise NotFound("No such order.")
    from_status, payment_status, currency = row
    refund = {"refund_id": refund_id, "amount": money_str(amount, currency),
              "refunded_amount": money_str(refunded_amount, currency)}
    note = (note or "").strip() or f"Refund #{refund_id}: {refund['amount']} {currency}."
    now = timezone.now()
    if full and S.REFUNDED in TRANSITIONS.get(from_status, frozenset()):
        Order.objects.filter(pk=order.pk).update(status=S.REFUNDED, payment_status=PaymentStatus.REFUNDED,
                                                 reserved_until=None, updated_at=now)
        if restock:
            stock_return(order=order, actor=actor)
        return order_moved(order=order, from_status=from_status, actor=actor, note=note, refund=refund)
    to_payment_status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    Order.objects.filter(pk=order.pk).update(payment_status=to_payment_status, updated_at=now)
    if restock:
        stock_return(order=order, actor=actor)
    order = Order.objects.select_related("store").get(pk=order.pk)
    OrderEvent.objects.create(order=order, kind="refund", from_status=from_status, to_status=from_status, note=note,
                              actor_user=actor_user(actor), actor_label=actor_label(actor)[:255])
    audit(store=order.store, actor=actor, action="order.payment_refunded", target=order,
          changes={"payment_status": [payment_status, to_payment_status], **refund})
    if full:
        emit_event(events.ORDER_REFUNDED, store=order.store, actor=actor, order=order,
                   payload=order_payload(order, previous_status=from_status, note=note, **refund))
    return order
