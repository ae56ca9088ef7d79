"""A member's decision on an order held for review (a fraud check's hit, a payment that did not match, a payment
after the reservation ran out): approve lets it go on, reject cancels it. The API (POST orders/{number}/approve,
/reject) and the admin (the orders page's actions and buttons) both call these.

What a hold left behind is read from the data the other services wrote: a payment a fraud check left unstarted says
so in its ``failure_reason`` (fraud.NOT_STARTED); a gateway's success that was not applied is a webhook event held
for review (``WebhookEvent.status == held``, its ``payment`` set, payments.services.webhooks).
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from config import metrics
from config.api.errors import InvalidTransition, NotFound, ValidationFailed
from config.money import money_str
from orders.events import audit
from orders.models import Order, OrderStatus
from orders.models import PaymentStatus as OrderPaymentStatus
from orders.services import order_hold_release, order_transition

from ..errors import ReviewRefused
from ..models import Payment, PaymentStatus, Refund, WebhookEvent, WebhookEventStatus
from .checkout import gateway_offered, payment_start
from .fraud import NOT_STARTED
from .refunds import refund_create, refund_send
from .webhooks import notification_load, webhook_event_process

MAX_NOTE_LENGTH = 1000
# A payment a gateway's held success may be about: not settled (a cancelled one: the order was cancelled meanwhile).
OPEN_OR_CLOSED_UNPAID = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED,
                         PaymentStatus.CANCELLED)


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationFailed("Invalid note.", note=[f"At most {MAX_NOTE_LENGTH} characters."])
    return note


def _held_events(order: Order) -> list[int]:
    """The ids of the gateway successes held with this order, row-locked: the lock order of the webhook pipeline
    (the event, then the order)."""
    return list(WebhookEvent.objects.select_for_update().filter(payment__order_id=order.pk,
                                                                status=WebhookEventStatus.HELD)
                .order_by("pk").values_list("pk", flat=True))


# --- approve -------------------------------------------------------------------------------------------------------
@transaction.atomic
def order_approve(*, order: Order, actor=None, note: str = "") -> Order:
    """Lets a held order go on, all or nothing: releases the hold (a pending unpaid order gets a fresh reservation),
    applies each gateway success that was held (payments.services.webhooks, the amount check and the hold aside: the
    payment and the order become paid; an order cancelled meanwhile is reinstated with its stock reserved again), and
    starts a payment a fraud check left unstarted, so its buyer can pay. Writes an ``order.approved`` audit row.

    Raises InvalidTransition (409) when the order is not held, ReviewRefused (409 CONFLICT, saying why) when a held
    success still cannot be applied (its stock is gone), PaymentError (402) when the gateway refuses to start the
    payment; nothing changes then: the order stays held.
    """
    note = _note(note)
    events = _held_events(order)
    order = order_hold_release(order=order, actor=actor, note=note or "Approved after review.")
    for event_id in events:
        event = webhook_event_process(event_id=event_id, actor=actor, review_approved=True)
        if event is not None and event.status in (WebhookEventStatus.HELD, WebhookEventStatus.FAILED):
            raise ReviewRefused(f"The payment could not be applied: {event.error}", event=event.pk)
    order = Order.objects.select_related("store").get(pk=order.pk)
    started = None
    if order.status == OrderStatus.PENDING and order.payment_status == OrderPaymentStatus.UNPAID \
            and not order.hold_reason:
        started = _unstarted_start(order)
    audit(store=order.store, actor=actor, action="order.approved", target=order,
          changes={"applied_events": events, **({"payment_started": started} if started else {}),
                   **({"note": note} if note else {})})
    return order


def _unstarted_start(order: Order) -> int | None:
    """Starts the order's latest payment a fraud check left unstarted (the store's gateway setting of now); one whose
    gateway the store no longer offers is cancelled instead (the buyer pays with another through POST payments).
    Returns the id of the payment started."""
    payment = (Payment.objects.select_for_update().filter(order=order, status=PaymentStatus.PENDING,
                                                          failure_reason=NOT_STARTED).order_by("-pk").first())
    if payment is None:
        return None
    payment.order = order
    try:
        gateway, setting = gateway_offered(store=order.store, payment_method=payment.gateway, field="gateway")
    except ValidationFailed:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.CANCELLED, updated_at=timezone.now(),
            failure_reason=f"Not started: the store no longer offers {payment.gateway}.")
        return None
    payment_start(order=order, payment=payment, gateway=gateway, setting=setting)
    payment.save(update_fields=["instructions", "reference", "action", "failure_reason", "updated_at"])
    return payment.pk


# --- reject --------------------------------------------------------------------------------------------------------
@dataclass
class Rejection:
    """What rejecting did: the order as stored now, and the refunds of the money the gateway had taken."""

    order: Order
    refunds: list[Refund] = field(default_factory=list)


def order_reject(*, order: Order, actor=None, note: str = "") -> Rejection:
    """Turns a held order down: releases the hold and cancels it (its stock and coupon use given back; its open
    payments cancelled with it, ``order.cancelled``). Money a gateway took whose success was held is given back: the
    payment is recorded as paid, then refunded in full through its gateway (payments.services.refunds), after the
    cancellation committed and with no transaction open (a refund that fails is shown failed, to be retried with
    POST payments/{id}/refunds).

    Raises InvalidTransition (409) when the order is not held, ReviewRefused (409 CONFLICT) when it is paid (refund
    it, or approve it); nothing changes then.
    """
    note = _note(note)
    with transaction.atomic():
        order, refunds = _reject(order=order, actor=actor, note=note)
    return Rejection(order=order, refunds=[refund_send(refund=refund, actor=actor) for refund in refunds])


def _reject(*, order: Order, actor, note: str) -> tuple[Order, list[Refund]]:
    events = _held_events(order)
    row = Order.objects.select_for_update().filter(pk=order.pk).values_list(
        "hold_reason", "status", "payment_status").first()
    if row is None:
        raise NotFound("No such order.")
    held, status, payment_status = row
    if not held:
        raise InvalidTransition("The order is not held for review.", hold_reason="")
    if payment_status != OrderPaymentStatus.UNPAID:
        raise ReviewRefused(f"The order's payment is {payment_status}: refund it (POST payments/{{id}}/refunds), or "
                            "approve the order.", payment_status=payment_status)
    reason = note or "Rejected after review."
    order = order_hold_release(order=order, actor=actor, note=reason)
    taken = [_held_success_record(event_id=event_id, actor=actor) for event_id in events]
    if status != OrderStatus.CANCELLED:
        order = order_transition(order=order, status=OrderStatus.CANCELLED, actor=actor, note=reason)
    refunds = [refund_create(payment=payment, amount=payment.amount, reason=f"Order rejected: {reason}"[:255],
                             actor=actor) for payment in taken if payment is not None]  # the amount taken
    audit(store=order.store, actor=actor, action="order.rejected", target=order,
          changes={"status": [status, OrderStatus.CANCELLED], "refunds": [refund.pk for refund in refunds],
                   **({"note": note} if note else {})})
    return Order.objects.select_related("store").get(pk=order.pk), refunds


def _held_success_record(*, event_id: int, actor) -> Payment | None:
    """The money a held success says the gateway took: its payment recorded paid (one conditional UPDATE, so it is
    refunded once) and the event closed. Returns the payment, None when it was settled meanwhile."""
    event = WebhookEvent.objects.select_related("payment__order", "store").get(pk=event_id)
    payment = event.payment
    now = timezone.now()
    # what the gateway took, when it said so in the payment's currency (a success held for a wrong amount): that is
    # what was paid, and what goes back; never more (the gateway would refuse), never less (the rest kept silently)
    said = notification_load(event.payload.get("notification"))
    taken = {}
    if said.amount is not None and said.amount > 0 and said.currency.upper() == payment.currency.upper() \
            and said.amount != payment.amount:
        taken["amount"] = said.amount
    recorded = Payment.objects.filter(pk=payment.pk, status__in=OPEN_OR_CLOSED_UNPAID).update(
        status=PaymentStatus.PAID, paid_at=now, failure_reason="", updated_at=now, **taken)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEventStatus.PROCESSED, processed_at=now, attempts=event.attempts + 1,
        error="The order was rejected after review: the payment is refunded.")
    if not recorded:
        return None
    metrics.count_on_commit(metrics.PAYMENTS, gateway=payment.gateway, outcome="paid")
    audit(store=event.store, actor=actor, action="payment.paid", target=payment,
          changes={"status": [payment.status, PaymentStatus.PAID], "order": payment.order.number,
                   "event": event.event_id, "note": "Taken by the gateway; refunded as the order was rejected.",
                   **({"amount": [money_str(payment.amount, payment.currency),
                                  money_str(taken["amount"], payment.currency)]} if taken else {})})
    return Payment.objects.select_related("store", "order").get(pk=payment.pk)
