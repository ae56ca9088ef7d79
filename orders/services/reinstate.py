"""Bringing a cancelled order back: a card payment that succeeds after the order's reservation ran out (the gateway
took the money after the expiry job cancelled it). The order comes back only with its stock reserved again; when
the stock is gone the caller holds it for review instead (payments.services.webhooks)."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.errors import OutOfStock
from catalog.services import stock_reserve
from config.api.errors import InvalidTransition, NotFound

from ..events import actor_label, actor_user, audit
from ..models import Coupon, CouponUse, Order, OrderEvent, OrderLine, OrderStatus, PaymentStatus
from .jobs import EXPIRED_NOTE


def order_cancelled_by_expiry(*, order: Order) -> bool:
    """True when the order's latest cancellation was the expiry job's (its reservation ran out), not a person's."""
    last = (OrderEvent.objects.filter(order_id=order.pk, kind="status", to_status=OrderStatus.CANCELLED)
            .order_by("-created_at", "-pk").values_list("note", "actor_user_id").first())
    return last is not None and last == (EXPIRED_NOTE, None)


@transaction.atomic
def order_reinstate(*, order: Order, actor=None, note: str = "") -> Order:
    """Moves a cancelled, unpaid order back to pending with its lines' stock reserved again (through
    catalog.services.stock_reserve), its coupon use counted again, an order event and an audit row. It is left
    without a reservation deadline: the caller marks it paid in the same transaction.

    Raises InvalidTransition (409) unless the order is cancelled and unpaid, OutOfStock (409 OUT_OF_STOCK) when a
    line's stock is gone (or its variant deleted); nothing changes then.
    """
    row = Order.objects.select_for_update().filter(pk=order.pk).values_list("status", "payment_status").first()
    if row is None:
        raise NotFound("No such order.")
    status, payment_status = row
    if status != OrderStatus.CANCELLED or payment_status != PaymentStatus.UNPAID:
        raise InvalidTransition(f"A {status} order whose payment is {payment_status} cannot be reinstated.",
                                status=status, to=OrderStatus.PENDING)
    order = Order.objects.select_related("store").get(pk=order.pk)
    # custom lines (a print quote) hold no stock: still the order's, they come back with it
    lines = list(OrderLine.objects.filter(order=order, reference="").values_list("variant_id", "quantity", "sku"))
    gone = [{"variant": None, "sku": sku, "requested": quantity, "available": 0}
            for variant_id, quantity, sku in lines if variant_id is None]
    if gone:
        raise OutOfStock("Some of the order's products no longer exist.", variants=gone)
    if order.coupon_id:  # the coupon row before the variants: the lock order checkout uses
        _coupon_use_take(order)
    if lines:
        stock_reserve(store=order.store, items=[(variant_id, quantity) for variant_id, quantity, _ in lines],
                      order=order, actor=actor)
    Order.objects.filter(pk=order.pk, status=OrderStatus.CANCELLED).update(
        status=OrderStatus.PENDING, reserved_until=None, updated_at=timezone.now())
    order.status = OrderStatus.PENDING
    note = (note or "").strip()
    OrderEvent.objects.create(order=order, kind="reinstated", from_status=OrderStatus.CANCELLED,
                              to_status=OrderStatus.PENDING, note=note, actor_user=actor_user(actor),
                              actor_label=actor_label(actor)[:255])
    audit(store=order.store, actor=actor, action="order.reinstated", target=order,
          changes={"status": [OrderStatus.CANCELLED, OrderStatus.PENDING], **({"note": note} if note else {})})
    return order


def _coupon_use_take(order: Order) -> None:
    """The cancellation gave the coupon use back; the buyer paid the discounted total, so it is counted again (its
    limits aside: the order was placed within them)."""
    if CouponUse.objects.filter(order=order).exists():
        return
    if Coupon.objects.filter(pk=order.coupon_id).update(used_count=F("used_count") + 1):
        CouponUse.objects.create(coupon_id=order.coupon_id, order=order, user_id=order.user_id, email=order.email)
