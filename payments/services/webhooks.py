"""Gateways' notifications: received (verified, stored once, answered fast) and processed by a worker.

``webhook_event_receive`` (the view at POST payments/webhooks/{gateway}/{store}) verifies the raw body with the
store's setting through ``gateway.notification_read`` (nothing is stored when it does not verify), stores the event
once per (store, gateway, event id) and enqueues ``webhook_event_process_task`` on commit. ``webhook_event_process``
(the task, the admin's "Replay processing", a member approving a held order) applies it under row locks, so duplicates
and out-of-order events converge:

- a success pays the payment and its order once (one conditional UPDATE on the payment, then
  orders.services.order_mark_paid: pending → processing, ``order.paid``), whatever arrived before it (a failure of
  the same payment included); after the reservation expired, the order's stock is reserved again first, and when
  it is gone the order is held for review instead of being paid;
- an amount or currency that does not match the payment holds the order (``order_hold`` with the reason), never
  pays it; so does a success for an order already held, or cancelled by a person;
- a failure fails a pending or processing payment (``payment.failed``) and changes nothing once it is paid;
- a refund the gateway reports converges with the refunds made here (``refund_from_gateway``): ours is settled,
  one made at the gateway's dashboard recorded; while it cannot be told which of ours it is, the event stays
  pending and is retried.

Locks are taken in one order everywhere: the event, then the order, then its payment, then the variants (stock).
"""

import json
import logging
import uuid
from dataclasses import asdict, fields
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from auditlog.models import SecurityKind
from auditlog.security import record_security_event
from catalog.errors import OutOfStock
from config import metrics
from config.api.errors import DomainError, NotFound, ValidationFailed
from config.api.middleware import current_request_var
from config.celery import task_publish_on_commit
from config.money import money_str
from notifications import events
from orders.events import audit, emit_event
from orders.models import Order, OrderStatus
from orders.models import PaymentStatus as OrderPaymentStatus
from orders.services import (
    order_cancelled_by_expiry,
    order_hold,
    order_mark_paid,
    order_number_normalize,
    order_reinstate,
)

from ..errors import RefundInFlight
from ..gateways import Gateway, gateway_get
from ..gateways.base import Notification, Outcome, SignatureInvalid
from ..models import Payment, PaymentStatus, WebhookEvent, WebhookEventStatus
from .refunds import refund_from_gateway
from .settings import gateway_setting_get

logger = logging.getLogger("payments.webhooks")
security_logger = logging.getLogger("security")

E = WebhookEventStatus
P = PaymentStatus
# A payment the gateway has settled: nothing a later success or failure says changes it.
SETTLED = (P.PAID, P.PARTIALLY_REFUNDED, P.REFUNDED)
# A payment a success may still pay: open, or failed or cancelled on our side while the gateway took the money.
PAYABLE = (P.PENDING, P.PROCESSING, P.FAILED, P.CANCELLED)
# An order some payment paid already.
ORDER_PAID = (OrderPaymentStatus.PAID, OrderPaymentStatus.PARTIALLY_REFUNDED, OrderPaymentStatus.REFUNDED)
MAX_NOTE_LENGTH = 1000
# What a later run can settle: the event stays pending (payments.tasks retries it, webhook_events_resume too).
RETRY_LATER = (RefundInFlight,)


# --- receiving ------------------------------------------------------------------------------------------------
def webhook_event_receive(*, store, gateway: str, body: bytes, headers) -> tuple[WebhookEvent, Gateway]:
    """Verifies a gateway's notification for ``store`` over the raw ``body`` and stores it once; enqueues its
    processing on commit. A replay of a stored event is a no-op (an event still pending is enqueued again, so a
    task lost before it ran is picked up by the gateway's retry). Returns the event and the gateway, whose
    ``notification_answer()`` the caller answers with.

    Raises NotFound (404) for an unknown gateway, ValidationFailed (400, ``details.signature``) when the signature
    does not verify with the store's settings; nothing is stored then but a ``security`` warning and the store's
    security log (``webhook_signature_invalid``).
    """
    found = gateway_get(gateway)
    if found is None:
        raise NotFound("No such payment gateway.")
    setting = gateway_setting_get(store=store, gateway=found.name)
    try:
        notification = found.notification_read(setting=setting, body=body, headers=headers)
    except SignatureInvalid as exc:
        _security_warning("payment webhook refused: the signature does not verify", store=store,
                          gateway=found.name, reason=str(exc)[:200])
        record_security_event(SecurityKind.WEBHOOK_SIGNATURE_INVALID, store_id=store.pk,
                              details={"source": "payment webhook", "gateway": found.name, "reason": str(exc)})
        raise ValidationFailed("The notification's signature does not verify.",
                               signature=["Invalid or expired signature."]) from exc
    payload = {"body": _body_json(body), "notification": _notification_dump(notification)}
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(store=store, gateway=found.name, event_id=notification.event_id,
                                                    event_type=notification.event_type[:64], payload=payload)
        except IntegrityError:  # a replay, or the same event arriving twice at once: the first one stored wins
            event = WebhookEvent.objects.get(store=store, gateway=found.name, event_id=notification.event_id)
            if event.status != E.PENDING:
                return event, found
        _enqueue(event.pk)
    return event, found


RESUME_AFTER = timedelta(minutes=2)
RESUME_BATCH = 500


def webhook_events_resume(*, now=None) -> int:
    """Enqueues again the events still pending RESUME_AFTER after they arrived (their task was lost: a broker
    outage at enqueue time, a worker killed), oldest first, at most RESUME_BATCH a run. Processing a pending
    event twice is a no-op, so an event whose task is merely late is safe. Returns how many were enqueued."""
    cutoff = (now or timezone.now()) - RESUME_AFTER
    ids = list(WebhookEvent.objects.filter(status=E.PENDING, received_at__lt=cutoff)
               .order_by("received_at", "pk").values_list("pk", flat=True)[:RESUME_BATCH])
    with transaction.atomic():
        for pk in ids:
            _enqueue(pk)
    return len(ids)


def webhook_events_prune(*, now=None, dry_run: bool = False) -> int:
    """Deletes the gateways' notifications (raw bodies: the buyer's details) settled more than
    PAYMENT_EVENT_RETENTION_DAYS ago (0: kept): processed, ignored or failed; pending and held ones stay whatever
    their age. Returns how many (dry: would)."""
    days = settings.PAYMENT_EVENT_RETENTION_DAYS
    if not days:
        return 0
    settled = WebhookEvent.objects.filter(status__in=[E.PROCESSED, E.IGNORED, E.FAILED],
                                          received_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return settled.count()
    return settled.delete()[0]


def _enqueue(event_pk: int) -> None:
    from ..tasks import webhook_event_process_task

    # a task id per enqueue, naming the event: the worker's log says which event each run was for
    task_publish_on_commit(webhook_event_process_task, event_pk,
                           task_id=f"payment-webhook-event-{event_pk}-{uuid.uuid4().hex[:8]}")


def _security_warning(message: str, *, store, gateway: str, reason: str) -> None:
    request = current_request_var.get()
    ip = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    security_logger.warning(message, extra={"store": store.slug, "gateway": gateway, "reason": reason, "ip": ip})


def _body_json(body: bytes):
    """The body as stored: its JSON when it is JSON, else its text."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def _notification_dump(notification: Notification) -> dict:
    values = asdict(notification)
    for name in ("amount", "refund_amount"):
        values[name] = None if values[name] is None else str(values[name])
    return values


def notification_load(values: dict) -> Notification:
    """A stored event's notification (``payload["notification"]``) read back."""
    known = {field.name for field in fields(Notification)}
    values = {name: value for name, value in (values or {}).items() if name in known}
    for name in ("amount", "refund_amount"):
        values[name] = _decimal(values.get(name))
    values.setdefault("event_id", "")
    values.setdefault("event_type", "")
    values.setdefault("outcome", Outcome.IGNORED)
    return Notification(**values)


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


# --- processing -----------------------------------------------------------------------------------------------
def webhook_event_process(*, event_id: int, actor=None, review_approved: bool = False) -> WebhookEvent | None:
    """Applies a stored event once, under its row lock: an event already processed, ignored or held is left as it
    is, so a task delivered twice, or two workers at once, make one effect. A pending or failed event (the admin's
    replay) is applied; ``review_approved`` (a member approved the held order) applies a held success too, the
    amount check and the order's hold aside. Records the outcome on the event (status, ``error`` saying why it
    was held, ignored or failed, attempts). Database errors a retry may cure (deadlock, lost connection) propagate
    with nothing written; what only a later run can tell (RETRY_LATER: a refund of ours still on its way to the
    gateway) leaves the event pending, saying why; any other error marks it failed. Returns the event, or None when
    it is gone."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            return None
        if event.status in (E.PROCESSED, E.IGNORED) or (event.status == E.HELD and not review_approved):
            return event
        event = WebhookEvent.objects.select_related("store").get(pk=event.pk)
        payment_id = event.payment_id
        try:
            with transaction.atomic():
                status, note, payment_id = _apply(event=event, actor=actor, review_approved=review_approved)
        except OperationalError:
            raise
        except RETRY_LATER as exc:  # cannot be told yet: left pending for the task's retry (or the resume job)
            status, note = E.PENDING, exc.message
        except Exception as exc:
            if not isinstance(exc, DomainError):
                logger.exception("payment webhook event %s failed", event.pk)
            status, note = E.FAILED, (exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}")
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=status, error=(note or "")[:MAX_NOTE_LENGTH], attempts=event.attempts + 1,
            processed_at=None if status == E.PENDING else timezone.now(), payment_id=payment_id)
        return WebhookEvent.objects.select_related("store", "payment").get(pk=event.pk)


def webhook_event_replay_check(*, event: WebhookEvent) -> None:
    """Only a failed event is replayed by hand (a pending one is on its way; the others are done). Raises
    ValidationFailed (400) otherwise."""
    if event.status != E.FAILED:
        raise ValidationFailed(f"Only a failed event is replayed; this one is {event.status}.",
                               status=[f"The event is {event.status}."])


def webhook_event_replay(*, event: WebhookEvent, actor=None) -> WebhookEvent:
    """Processes a failed event again (the admin's "Replay processing"), as the worker does, and records who
    replayed it and what came of it (``payment_webhook.replayed``). Raises what webhook_event_replay_check
    raises."""
    webhook_event_replay_check(event=event)
    processed = webhook_event_process(event_id=event.pk, actor=actor) or event
    with transaction.atomic():
        audit(store=processed.store, actor=actor, action="payment_webhook.replayed", target=processed,
              changes={"gateway": processed.gateway, "event": processed.event_id, "status": processed.status})
    return processed


def _apply(*, event: WebhookEvent, actor, review_approved: bool) -> tuple[str, str, int | None]:
    """(event status, note, matched payment id) for ``event``, its effects written in the caller's transaction."""
    notification = notification_load(event.payload.get("notification"))
    if notification.outcome == Outcome.IGNORED:
        return E.IGNORED, "Nothing to do for this event type.", None
    found = _payment_find(store=event.store, gateway=event.gateway, notification=notification)
    if found is None:
        return E.IGNORED, _unmatched(notification), None
    # the lock order: the order's row, then its payment's (the expiry job and mark-paid take them in this order); the
    # order's row only, not the joined store's: checkouts take a key-share lock on the store row at COMMIT
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=found.order_id)
    payment = Payment.objects.select_for_update().get(pk=found.pk)
    payment.order = order
    apply = {Outcome.PAID: _paid, Outcome.FAILED: _failed, Outcome.PROCESSING: _processing,
             Outcome.REFUNDED: _refunded}.get(notification.outcome)
    if apply is None:
        return E.IGNORED, f"Unknown outcome {notification.outcome!r}.", payment.pk
    status, note = apply(event=event, notification=notification, order=order, payment=payment, actor=actor,
                         review_approved=review_approved)
    return status, note, payment.pk


def _payment_find(*, store, gateway: str, notification: Notification) -> Payment | None:
    """The store's payment the notification is about: the one with the gateway's reference, else the order's (by
    the number we sent), the open attempt first, else the latest (a hosted page's retry after a decline is a new
    transaction of the same payment: Kashier's and Moamalat's references change with it). Another store's payments
    are never looked at: a store's secret moves only its own orders."""
    payments = Payment.objects.filter(store=store, gateway=gateway)
    if notification.reference:
        found = payments.filter(reference=notification.reference).order_by("-pk").first()
        if found is not None:
            return found
    if not notification.order_number:
        return None
    candidates = list(payments.filter(order__number=order_number_normalize(notification.order_number))
                      .order_by("-pk"))
    open_ones = [payment for payment in candidates if payment.status in (P.PENDING, P.PROCESSING)]
    return (open_ones or candidates or [None])[0]


def _unmatched(notification: Notification) -> str:
    parts = [f"order {notification.order_number}" if notification.order_number else "",
             f"reference {notification.reference}" if notification.reference else ""]
    named = " and ".join(part for part in parts if part) or "no order number or reference"
    return f"No payment of this store matches ({named})."


def _mismatch(notification: Notification, payment: Payment) -> str:
    """Why the amount the gateway took is not the payment's ("" when it is)."""
    expected = f"{money_str(payment.amount, payment.currency)} {payment.currency}"
    if notification.amount is None or not notification.currency:
        return f"Payment amount unknown: the gateway did not say what it took (expected {expected})."
    if notification.currency.upper() != payment.currency.upper() or notification.amount != payment.amount:
        return (f"Payment amount mismatch: the gateway took {notification.amount} {notification.currency.upper()}, "
                f"expected {expected}.")
    return ""


def _hold(order: Order, reason: str, actor) -> tuple[str, str]:
    order_hold(order=order, reason=reason, actor=actor)
    return E.HELD, reason


def _paid(*, event, notification, order, payment, actor, review_approved) -> tuple[str, str]:
    if payment.status in SETTLED:
        return E.PROCESSED, f"The payment is {payment.status} already: nothing changed."
    if not review_approved:
        mismatch = _mismatch(notification, payment)
        if mismatch:
            return _hold(order, mismatch, actor)
        if order.hold_reason:
            return E.HELD, (f"The order is held for review ({order.hold_reason}): the payment is applied when a "
                            "member approves it.")
    if order.status == OrderStatus.CANCELLED and order.payment_status == OrderPaymentStatus.UNPAID:
        if not review_approved and not order_cancelled_by_expiry(order=order):
            return _hold(order, "Paid after the order was cancelled: refund the payment, or approve to reinstate "
                                "the order.", actor)
        try:
            with transaction.atomic():
                order = order_reinstate(order=order, actor=actor,
                                        note="Paid after the order was cancelled: its stock is reserved again.")
        except OutOfStock as exc:
            return _hold(order, f"Paid after the reservation expired, but the stock is gone ({exc.message}): "
                                "refund the payment, or restock and approve.", actor)
    if not _payment_paid(payment=payment, notification=notification, event=event, actor=actor):
        return E.PROCESSED, "The payment changed meanwhile: nothing changed."
    if order.payment_status in ORDER_PAID:
        # another payment of this order was paid already: the buyer paid twice
        return E.PROCESSED, _hold(order, f"Paid twice: payment #{payment.pk} ({payment.gateway}) was paid as well "
                                         "as an earlier one; refund one of them.", actor)[1]
    order_mark_paid(order=order, actor=actor)
    return E.PROCESSED, ""


def _payment_paid(*, payment: Payment, notification: Notification, event, actor) -> bool:
    """The one conditional UPDATE that makes a payment paid; False when it was not payable any more."""
    now = timezone.now()
    extra = {}
    if notification.reference:  # the transaction that paid: what a refund names
        extra["reference"] = notification.reference[:128]
    if notification.card_fingerprint:
        extra["card_fingerprint"] = notification.card_fingerprint[:64]
    if not Payment.objects.filter(pk=payment.pk, status__in=PAYABLE).update(
            status=P.PAID, paid_at=now, failure_reason="", updated_at=now, **extra):
        return False
    audit(store=event.store, actor=actor, action="payment.paid", target=payment,
          changes={"status": [payment.status, P.PAID], "order": payment.order.number, "gateway": payment.gateway,
                   "event": event.event_id})
    metrics.count_on_commit(metrics.PAYMENTS, gateway=payment.gateway, outcome="paid")
    return True


def _failed(*, event, notification, order, payment, actor, review_approved) -> tuple[str, str]:
    if notification.refund_reference:  # a refund's failure, not the payment's
        return _refund_reported(notification=notification, payment=payment, actor=actor, succeeded=False)
    if payment.status in SETTLED:
        return E.PROCESSED, f"The payment is {payment.status} already: a failure changes nothing."
    if payment.status in (P.FAILED, P.CANCELLED):
        return E.PROCESSED, f"The payment is {payment.status} already: nothing changed."
    reason = (notification.message or "The gateway declined the payment.").strip()[:255]
    now = timezone.now()
    extra = {"card_fingerprint": notification.card_fingerprint[:64]} if notification.card_fingerprint else {}
    if notification.reference and not payment.reference:
        extra["reference"] = notification.reference[:128]
    if not Payment.objects.filter(pk=payment.pk, status__in=(P.PENDING, P.PROCESSING)).update(
            status=P.FAILED, failure_reason=reason, updated_at=now, **extra):
        return E.PROCESSED, "The payment changed meanwhile: nothing changed."
    audit(store=event.store, actor=actor, action="payment.failed", target=payment,
          changes={"status": [payment.status, P.FAILED], "order": order.number, "gateway": payment.gateway,
                   "reason": reason, "event": event.event_id})
    metrics.count_on_commit(metrics.PAYMENTS, gateway=payment.gateway, outcome="failed")
    emit_event(events.PAYMENT_FAILED, store=event.store, actor=actor, order=order, payload={
        "order_number": order.number, "payment_id": payment.pk, "gateway": payment.gateway,
        "amount": money_str(payment.amount, payment.currency), "currency": payment.currency, "reason": reason})
    return E.PROCESSED, ""


def _processing(*, event, notification, order, payment, actor, review_approved) -> tuple[str, str]:
    if not Payment.objects.filter(pk=payment.pk, status=P.PENDING).update(status=P.PROCESSING,
                                                                          updated_at=timezone.now()):
        return E.PROCESSED, f"The payment is {payment.status}: nothing changed."
    audit(store=event.store, actor=actor, action="payment.processing", target=payment,
          changes={"status": [P.PENDING, P.PROCESSING], "order": order.number, "event": event.event_id})
    return E.PROCESSED, ""


def _refunded(*, event, notification, order, payment, actor, review_approved) -> tuple[str, str]:
    """A refund the gateway reports converges with the refunds made here (payments.services.refund_from_gateway):
    ours with that reference is settled, one made at the gateway's dashboard is recorded."""
    return _refund_reported(notification=notification, payment=payment, actor=actor, succeeded=True)


def _refund_reported(*, notification, payment, actor, succeeded: bool) -> tuple[str, str]:
    if not notification.refund_reference:
        # only how much is refunded in all (Stripe's charge.refunded): each refund is counted by its own event
        # (refund.*), which names it; counting this too would count a refund twice
        return E.IGNORED, "A refund notification naming no refund: each refund is counted by its own event."
    refund = refund_from_gateway(payment=payment, reference=notification.refund_reference,
                                 amount=notification.refund_amount, succeeded=succeeded,
                                 message=notification.message, actor=actor)
    if refund is None:
        return E.IGNORED, f"A refund failure for a refund not made here ({notification.refund_reference})."
    return E.PROCESSED, ""
