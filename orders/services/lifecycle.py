"""An order's life: the transition table, cancel, mark-paid, reorder. Each change is one conditional UPDATE."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import ProductStatus
from catalog.services import stock_release, stock_sell
from config.api.errors import InvalidTransition, NotFound, ValidationFailed
from notifications import events

from ..errors import AlreadyPaid
from ..events import actor_label, actor_user, audit, emit_event, order_payload
from ..models import Cart, CartLine, Coupon, CouponUse, Order, OrderEvent, OrderStatus, PaymentStatus
from .carts import cart_create, lines_add_capped

S = OrderStatus
# DESIGN.md "Money, stock and order rules": the only moves an order makes.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.CANCELLED}),
    S.PROCESSING: frozenset({S.COMPLETED, S.CANCELLED, S.REFUNDED}),
    S.COMPLETED: frozenset({S.REFUNDED}),
}
# Cash on delivery is often recorded as delivered (completed) before the cash is booked: still payable.
PAYABLE = (S.PENDING, S.PROCESSING, S.COMPLETED)
# An order becomes refunded only when its money is back: by a refund of its payment (payments' refunds service, through
# order_refund_record), never by a status change alone (which would tell the buyer "refunded" with nothing given back,
# leave the payment paid and refundable again, and bypass payments.refund).
REFUND_BY_HAND_REFUSED = ("An order becomes refunded when its payment is refunded in full: POST "
                          "payments/{id}/refunds (payments.refund), or the Refund form on the payment's admin page.")
EVENT_FOR_STATUS = {S.CANCELLED: events.ORDER_CANCELLED, S.REFUNDED: events.ORDER_REFUNDED}

# What must follow a cancellation in the apps above orders (payments: the order's open payments become cancelled),
# called in the cancelling transaction with (order, actor). Handed down at startup (docs/ARCHITECTURE.md "Layers").
CancelHook = Callable[[Order, object], None]
_cancel_hooks: list[CancelHook] = []


def order_cancel_hook_register(hook: CancelHook) -> None:
    """An app above orders registers what a cancellation does to its rows (once, in its AppConfig.ready)."""
    if hook not in _cancel_hooks:
        _cancel_hooks.append(hook)


def _refuse(order: Order, status: str) -> InvalidTransition:
    current = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
    return InvalidTransition(f"A {current} order cannot become {status}.", status=current, to=status)


def _coupon_use_release(order: Order) -> None:
    """A cancelled order gives its coupon use back (the overall and the customer's count)."""
    use = CouponUse.objects.filter(order=order).first()
    if use is None:
        return
    Coupon.objects.filter(pk=use.coupon_id, used_count__gt=0).update(used_count=F("used_count") - 1)
    use.delete()


def order_moved(*, order: Order, from_status: str, actor, note: str = "", refund: dict | None = None) -> Order:
    """What follows a status change already written by a conditional UPDATE (in the same transaction): the coupon
    use and the stock (cancel releases, complete sells, refund before completion releases), the order event, the
    audit row and one event out (order.cancelled, order.refunded or order.status_changed; sent on commit).
    ``refund`` (a refund that moved it: ``refund_id``, ``amount``, ``refunded_amount``) goes into order.refunded.
    Returns the order as stored now."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    status = order.status
    if status == S.CANCELLED:
        _coupon_use_release(order)  # the coupon row before the variants: the lock order checkout uses
        for hook in _cancel_hooks:  # the order's row first, then its payments, then the variants
            hook(order, actor)
    if status == S.COMPLETED:
        stock_sell(order=order, actor=actor)
    elif status == S.CANCELLED or (status == S.REFUNDED and from_status == S.PROCESSING):
        stock_release(order=order, actor=actor, reason="release")
    OrderEvent.objects.create(order=order, kind="status", from_status=from_status, to_status=status,
                              note=note, actor_user=actor_user(actor), actor_label=actor_label(actor)[:255])
    audit(store=order.store, actor=actor, action="order.status_changed", target=order,
          changes={"status": [from_status, status], **({"note": note} if note else {})})
    lines = list(order.lines.all())
    # one event per transition (docs/EVENTS.md): a cancellation is order.cancelled, a refund order.refunded
    extra = {"previous_status": from_status, **({"note": note} if note else {})}
    if status == S.CANCELLED and note:
        extra["reason"] = note
    elif status == S.REFUNDED:
        extra.update(refund or {})  # the refund that moved it (order_refund_record)
    emit_event(EVENT_FOR_STATUS.get(status, events.ORDER_STATUS_CHANGED), store=order.store, actor=actor,
               payload=order_payload(order, lines, **extra), order=order)
    return order


@transaction.atomic
def order_transition(*, order: Order, status: str, actor=None, note: str = "") -> Order:
    """Moves the order along TRANSITIONS in one conditional UPDATE (two concurrent moves cannot both win).

    Raises ValidationFailed (400) for an unknown status, InvalidTransition (409) for a move the table does not
    allow from the order's current status, or to refunded (only a refund moves an order there:
    order_refund_record); nothing changes then.
    """
    if status not in S.values:
        raise ValidationFailed("Unknown status.", status=[f"One of {', '.join(S.values)}."])
    note = (note or "").strip()
    current = Order.objects.select_for_update().filter(pk=order.pk).values_list("status", flat=True).first()
    if current is None:
        raise NotFound("No such order.")
    if status not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(f"A {current} order cannot become {status}.", status=current, to=status)
    if status == S.REFUNDED:
        raise InvalidTransition(REFUND_BY_HAND_REFUSED, status=current, to=status)
    updated = Order.objects.filter(pk=order.pk, status=current).update(
        status=status, reserved_until=None, updated_at=timezone.now())
    if not updated:
        raise _refuse(order, status)
    return order_moved(order=order, from_status=current, actor=actor, note=note)


@transaction.atomic
def order_cancel(*, order: Order, actor=None, by_customer: bool = False, note: str = "") -> Order:
    """Cancels the order and releases its stock. A customer (``by_customer``) may cancel only while it is pending;
    the store also while processing. Raises InvalidTransition (409) otherwise. Whose order it is, the caller
    checks."""
    if not by_customer:
        return order_transition(order=order, status=S.CANCELLED, actor=actor, note=note)
    updated = Order.objects.filter(pk=order.pk, status=S.PENDING).update(
        status=S.CANCELLED, reserved_until=None, updated_at=timezone.now())
    if not updated:
        current = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
        if current == S.PROCESSING:  # the store may still cancel it: say so rather than "cannot become"
            raise InvalidTransition("The store is preparing this order: only the store can cancel it now.",
                                    status=current, to=S.CANCELLED)
        raise _refuse(order, S.CANCELLED)
    return order_moved(order=order, from_status=S.PENDING, actor=actor, note=(note or "").strip())


@transaction.atomic
def order_mark_paid(*, order: Order, actor=None, note: str = "") -> Order:
    """Marks an unpaid pending, processing or completed order paid exactly once (a pending one moves to
    processing): the row locked, then one conditional UPDATE, so a concurrent expiry or second call cannot both
    win. Emits ``order.paid`` (with ``previous_status`` when it moved).

    Raises AlreadyPaid (409 CONFLICT) when it is paid already, InvalidTransition (409) when it is cancelled or
    refunded.
    """
    row = Order.objects.select_for_update().filter(pk=order.pk).values_list("status", "payment_status").first()
    if row is None:
        raise NotFound("No such order.")
    from_status, payment_status = row
    if payment_status == PaymentStatus.PAID:
        raise AlreadyPaid("The order is already paid.", payment_status=payment_status)
    if payment_status != PaymentStatus.UNPAID or from_status not in PAYABLE:
        raise InvalidTransition(f"A {from_status} order cannot be paid.", status=from_status,
                                payment_status=payment_status)
    to_status = S.PROCESSING if from_status == S.PENDING else from_status
    updated = Order.objects.filter(pk=order.pk, status=from_status, payment_status=PaymentStatus.UNPAID).update(
        payment_status=PaymentStatus.PAID, status=to_status, reserved_until=None, updated_at=timezone.now())
    if not updated:  # only without row locks (SQLite): another writer got there first
        raise AlreadyPaid("The order changed meanwhile; reload it.")
    order = Order.objects.select_related("store").get(pk=order.pk)
    OrderEvent.objects.create(order=order, kind="paid", from_status=from_status, to_status=order.status,
                              note=(note or "").strip(), actor_user=actor_user(actor),
                              actor_label=actor_label(actor)[:255])
    audit(store=order.store, actor=actor, action="order.paid", target=order,
          changes={"payment_status": [PaymentStatus.UNPAID, PaymentStatus.PAID],
                   **({"status": [from_status, order.status]} if from_status != order.status else {})})
    # one event for this transition (docs/EVENTS.md): order.paid, also when the order moved on to processing
    emit_event(events.ORDER_PAID, store=order.store, actor=actor, order=order,
               payload=order_payload(order, **({"previous_status": from_status} if from_status != order.status
                                                else {})))
    return order


@transaction.atomic
def order_reorder(*, order: Order, user=None) -> Cart:
    """A cart with the order's lines that can still be bought, each capped by available stock: the user's cart in
    the order's store (lines added to it), or a new anonymous cart for a guest."""
    cart = cart_create(store=order.store, user=user)
    cart = Cart.objects.select_for_update().get(pk=cart.pk)
    existing = {line.variant_id: line for line in CartLine.objects.filter(cart=cart)}
    for line in order.lines.select_related("variant__product").exclude(variant=None):
        variant = line.variant
        if variant.store_id != order.store_id or variant.product.status != ProductStatus.PUBLISHED:
            continue
        lines_add_capped(cart=cart, existing=existing, variant=variant, quantity=line.quantity)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return cart
