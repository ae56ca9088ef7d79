"""Holding an order for review, and letting it go: a fraud check's hit, a payment whose amount did not match, a
payment after the reservation ran out with no stock left. A held order says why (``hold_reason``); the expiry job
leaves it alone, and it moves on only once a member releases it (payments decide what approving or rejecting does
with its payment: docs/ARCHITECTURE.md "Orders and payments")."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.api.errors import InvalidTransition, NotFound

from ..events import actor_label, actor_user, audit
from ..models import Order, OrderEvent, OrderStatus, PaymentStatus

MAX_REASON_LENGTH = 255


@transaction.atomic
def order_hold(*, order: Order, reason: str, actor=None) -> Order:
    """Holds the order with ``reason`` (one conditional UPDATE: holding a held order keeps its first reason and
    writes nothing). Writes an order event and an audit row. Returns the order as stored now."""
    reason = (reason or "").strip()[:MAX_REASON_LENGTH] or "Held for review."
    now = timezone.now()
    if Order.objects.filter(pk=order.pk, hold_reason="").update(hold_reason=reason, held_at=now, updated_at=now):
        order = Order.objects.select_related("store").get(pk=order.pk)
        OrderEvent.objects.create(order=order, kind="held", from_status=order.status, to_status=order.status,
                                  note=reason, actor_user=actor_user(actor), actor_label=actor_label(actor)[:255])
        audit(store=order.store, actor=actor, action="order.held", target=order, changes={"hold_reason": reason})
        return order
    order = Order.objects.select_related("store").filter(pk=order.pk).first()
    if order is None:
        raise NotFound("No such order.")
    return order


@transaction.atomic
def order_hold_release(*, order: Order, actor=None, note: str = "") -> Order:
    """Releases a held order (the hold reason is kept in its events). A pending unpaid one gets a fresh reservation
    (ORDER_RESERVATION_MINUTES from now): its own ran on while it was held, and its buyer now needs the time to pay.
    Raises InvalidTransition (409) when it is not held, e.g. a second approve."""
    row = Order.objects.select_for_update().filter(pk=order.pk).values_list(
        "hold_reason", "status", "payment_status").first()
    if row is None:
        raise NotFound("No such order.")
    held, status, payment_status = row
    if not held:
        raise InvalidTransition("The order is not held for review.", hold_reason="")
    now = timezone.now()
    renewed = {}
    if status == OrderStatus.PENDING and payment_status == PaymentStatus.UNPAID:
        renewed["reserved_until"] = now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES)
    Order.objects.filter(pk=order.pk).update(hold_reason="", held_at=None, updated_at=now, **renewed)
    order = Order.objects.select_related("store").get(pk=order.pk)
    OrderEvent.objects.create(order=order, kind="released", from_status=order.status, to_status=order.status,
                              note=(note or "").strip(), actor_user=actor_user(actor),
                              actor_label=actor_label(actor)[:255])
    audit(store=order.store, actor=actor, action="order.released", target=order,
          changes={"hold_reason": [held, ""], **({"note": note.strip()} if note and note.strip() else {})})
    return order
