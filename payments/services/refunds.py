"""Refunds: money given back on a paid payment, through its gateway (cod and bank transfer: recorded as paid out by
the merchant), never more than was paid.

A refund is three steps, so no row stays locked while a gateway is on the line (docs/ARCHITECTURE.md "Orders and
payments"):

1. ``refund_create`` (one transaction): one conditional UPDATE claims the amount on ``Payment.refunded_amount``
   (only while what was claimed before plus this amount fits in what was paid, on a paid or partly refunded
   payment), and the Refund is written ``pending``. Concurrent refunds queue on that UPDATE for a moment only, and
   the later ones see what the earlier ones claimed: together they never claim more than was paid (the table's CHECK
   constraint backs it).
2. ``refund_send`` (no transaction): the gateway's ``refund``.
3. ``refund_settle`` (one transaction, the order's and then the payment's row locked, as the webhook pipeline
   locks them): the pending refund becomes ``succeeded`` (the payment partially_refunded or refunded by the refunds
   that succeeded, the order's payment_status, a full refund moves the order to refunded, ``restock`` puts sold
   units back) or ``failed``, which gives the claimed amount back.

So ``refunded_amount`` counts the refunds that succeeded and those still on their way; a failed one counts nothing.
``payment_refund`` runs the three (the admin); the API runs step 1 in one transaction with its Idempotency-Key.
``refund_from_gateway`` is the webhook pipeline's entry: a refund the gateway reports, matched by its reference
with the refunds created here, or recorded as made at the gateway itself.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Round
from django.utils import timezone

from config.api.errors import NotFound, ValidationFailed
from config.money import DECIMAL_PLACES, money_fits, money_round, money_str
from orders.events import audit
from orders.models import Order
from orders.services import order_refund_record, order_restock_check

from ..errors import PaymentNotRefundable, RefundInFlight
from ..gateways import gateway_get
from ..gateways.base import GatewayFailed, RefundResult
from ..models import Payment, PaymentStatus, Refund, RefundStatus
from .settings import gateway_setting_get

logger = logging.getLogger("payments")

MAX_REASON_LENGTH = 255
# Statuses a refund can start from: paid, or partly refunded already (a refunded one has nothing left: 400).
REFUNDABLE = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def _places(expression):
    # money sums in SQL: exact on PostgreSQL; SQLite adds floats, so the result is rounded back to the column's
    # places before it is compared or stored (19.99 - 9.98 must be 10.01 there too)
    return Round(expression, DECIMAL_PLACES)


def _amount(amount, currency: str) -> Decimal:
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed("Invalid amount.", amount=["A decimal number, e.g. \"10.00\"."]) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed("Invalid amount.", amount=["Must be more than 0."])
    if not money_fits(amount, currency):
        raise ValidationFailed("Invalid amount.", amount=[f"Too many decimal places for {currency}."])
    return amount


def _payment_locked(payment_id: int) -> Payment:
    """The payment under its row lock, its order locked first: the order every payments service takes them in (the
    webhook pipeline holds the order, then the payment), so a refund settling and a gateway's notification about the
    same payment never deadlock."""
    order_id = Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get()
    list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True))
    return Payment.objects.select_for_update(of=("self",)).select_related("store", "order").get(pk=payment_id)


def _remains_refusal(payment_id: int) -> Exception:
    """Why nothing was claimed: not refundable (409), or more than remains (400, saying how much remains)."""
    row = Payment.objects.filter(pk=payment_id).values("status", "amount", "refunded_amount", "currency").first()
    if row is None:
        return NotFound("No such payment.")
    if row["status"] not in REFUNDABLE:
        return PaymentNotRefundable(f"A {row['status']} payment cannot be refunded: nothing was paid.",
                                    status=row["status"])
    currency = row["currency"]
    remains = money_str(max(row["amount"] - row["refunded_amount"], Decimal(0)), currency)
    on_the_way = Refund.objects.filter(payment_id=payment_id, status=RefundStatus.PENDING).aggregate(
        total=Sum("amount"))["total"]
    message = f"At most {remains} {currency} remains to refund"
    if on_the_way:
        message += f" ({money_str(on_the_way, currency)} {currency} is being refunded now)"
    return ValidationFailed("More than remains to refund.", amount=[f"{message}."])


# --- step 1: claim ------------------------------------------------------------------------------------------------
@transaction.atomic
def refund_create(*, payment: Payment, amount, reason: str = "", restock: bool = False, actor=None) -> Refund:
    """Claims ``amount`` of what remains of ``payment`` and writes the pending Refund (step 1): one conditional UPDATE,
    so concurrent refunds never claim more than was paid. Send it with refund_send, outside any transaction.

    Raises ValidationFailed (400: an amount not above 0 or with more places than the currency has, more than
    remains, a reason over 255 characters, ``restock`` with nothing to put back), PaymentNotRefundable (409: the
    payment was never paid, or its gateway is gone); nothing changes then.
    """
    gateway = gateway_get(payment.gateway)
    if gateway is None:
        raise PaymentNotRefundable(f"The {payment.gateway} gateway is not available.", gateway=payment.gateway)
    amount = _amount(amount, payment.currency)
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed("Invalid reason.", reason=[f"At most {MAX_REASON_LENGTH} characters."])
    now = timezone.now()
    claimed = Payment.objects.filter(
        pk=payment.pk, status__in=REFUNDABLE, refunded_amount__lte=_places(F("amount") - amount),
    ).update(refunded_amount=_places(F("refunded_amount") + amount), updated_at=now)
    if not claimed:
        raise _remains_refusal(payment.pk)
    payment = Payment.objects.select_related("store", "order").get(pk=payment.pk)
    if restock:
        order_restock_check(order=payment.order, full=payment.refunded_amount >= payment.amount)
    refund = Refund.objects.create(store_id=payment.store_id, payment=payment, amount=amount,
                                   currency=payment.currency, reason=reason, restock=restock)
    audit(store=payment.store, actor=actor, action="refund.created", target=refund,
          changes={"payment": payment.pk, "order": payment.order.number, "gateway": payment.gateway,
                   "amount": money_str(amount, payment.currency), "reason": reason, "restock": restock})
    return refund


# --- step 2: the gateway -------------------------------------------------------------------------------------------
def refund_send(*, refund: Refund, actor=None) -> Refund:
    """Asks the payment's gateway to refund (step 2), outside any transaction, then records its answer (step 3,
    refund_settle). A decline or GatewayFailed: the refund fails and its amount is given back. Anything else the
    gateway raises propagates and leaves the refund pending with its amount claimed: the gateway may have refunded,
    and its notification (refund_from_gateway) settles it. A refund that is not pending is answered as it is."""
    refund = Refund.objects.select_related("payment__store", "payment__order").get(pk=refund.pk)
    if refund.status != RefundStatus.PENDING:
        return refund
    payment = refund.payment
    gateway = gateway_get(payment.gateway)
    if gateway is None:
        result = RefundResult(succeeded=False, message=f"The {payment.gateway} gateway is not available.")
    else:
        setting = gateway_setting_get(store=payment.store, gateway=gateway.name)
        try:
            result = gateway.refund(payment=payment, refund=refund, setting=setting)
        except GatewayFailed as exc:
            result = RefundResult(succeeded=False, message=str(exc))
    if not result.succeeded:
        logger.info("Refund %s of payment %s failed at %s: %s", refund.pk, payment.pk, payment.gateway,
                    result.message)
    return refund_settle(refund=refund, succeeded=result.succeeded, reference=result.reference,
                         message=result.message, actor=actor)


# --- step 3: the answer -----------------------------------------------------------------------------------------
@transaction.atomic
def refund_settle(*, refund: Refund, succeeded: bool, reference: str = "", message: str = "", actor=None) -> Refund:
    """Records how a pending refund ended (step 3), under the order's and the payment's row locks; the first to
    settle it wins (one conditional UPDATE pending → succeeded or failed), so the gateway's answer and its
    notification converge.
    Succeeded: the payment becomes refunded when the refunds that succeeded add up to what was paid, else
    partially_refunded, and the order follows (orders.services.order_refund_record: payment_status, a full refund
    moves it to refunded with ``order.refunded``, ``restock``). Failed: the claimed amount is given back to what
    remains. Returns the refund as stored now."""
    payment = _payment_locked(refund.payment_id)
    now = timezone.now()
    changes: dict = {"status": RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED, "updated_at": now}
    if reference:
        changes["reference"] = reference[:128]
    if not succeeded:
        changes["failure_reason"] = ((message or "").strip() or "The gateway declined the refund.")[:255]
    if not Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(**changes):
        return Refund.objects.get(pk=refund.pk)  # settled already: its notification came first, or a second call
    refund = Refund.objects.get(pk=refund.pk)
    currency = payment.currency
    if not succeeded:
        Payment.objects.filter(pk=payment.pk).update(
            refunded_amount=_places(F("refunded_amount") - refund.amount), updated_at=now)
        audit(store=payment.store, actor=actor, action="refund.failed", target=refund,
              changes={"status": [RefundStatus.PENDING, RefundStatus.FAILED], "payment": payment.pk,
                       "amount": money_str(refund.amount, currency), "reason": refund.failure_reason})
        return refund
    refunded = money_round(Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).aggregate(
        total=Sum("amount"))["total"] or Decimal(0), currency)
    full = refunded >= money_round(payment.amount, currency)
    status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    Payment.objects.filter(pk=payment.pk).update(status=status, updated_at=now)
    audit(store=payment.store, actor=actor, action="refund.succeeded", target=refund,
          changes={"status": [RefundStatus.PENDING, RefundStatus.SUCCEEDED], "payment": payment.pk,
                   "amount": money_str(refund.amount, currency), "reference": refund.reference,
                   "payment_status": [payment.status, status]})
    note = f"Refund #{refund.pk}: {money_str(refund.amount, currency)} {currency}"
    order_refund_record(order=payment.order, amount=refund.amount, refunded_amount=refunded, full=full,
                        refund_id=refund.pk, restock=refund.restock, actor=actor,
                        note=f"{note} ({refund.reason})." if refund.reason else f"{note}.")
    return refund


def payment_refund(*, payment: Payment, amount, reason: str = "", restock: bool = False, actor=None) -> Refund:
    """refund_create then refund_send: the whole refund, for callers with no Idempotency-Key (the admin). Call it
    outside any transaction. Raises what refund_create raises; a failed refund is returned failed."""
    refund = refund_create(payment=payment, amount=amount, reason=reason, restock=restock, actor=actor)
    return refund_send(refund=refund, actor=actor)


# --- the gateway's notifications -------------------------------------------------------------------------------
@transaction.atomic
def refund_from_gateway(*, payment: Payment, reference: str, amount=None, succeeded: bool = True, message: str = "",
                        actor=None) -> Refund | None:
    """A refund the payment's gateway reports (the gateway's refund id ``reference`` and this refund's ``amount``, not
    the total refunded), converged with the refunds created here, under the order's and the payment's row locks (the
    webhook pipeline calls this; a replay changes nothing):

    - the refund with that reference: settled if still pending (refund_settle), else answered as it is;
    - else, while refunds of this payment are on their way (pending, no reference yet): the only one, when its amount
      is this amount, takes the reference and is settled; more than one: RefundInFlight (409; retried shortly, the
      reference is recorded by then);
    - else, a refund that succeeded at the gateway itself (its dashboard): recorded as made there (claimed like any
      refund, then settled), ValidationFailed (400) when it is more than remains;
    - else (a failure of a refund we never made): None, nothing changes.

    A notification that names no refund (no ``reference``: Stripe's charge.refunded says only how much was refunded
    in all) cannot be matched, and a later one naming the refund would count it twice: None, nothing changes.
    """
    reference = (reference or "").strip()[:128]
    if not reference:
        return None
    payment = _payment_locked(payment.pk)
    known = Refund.objects.filter(payment=payment, reference=reference).first()
    if known is None:
        on_the_way = list(Refund.objects.filter(payment=payment, status=RefundStatus.PENDING, reference="")[:2])
        if len(on_the_way) > 1:
            raise RefundInFlight(payment=payment.pk, reference=reference)
        if on_the_way and (amount is None or money_round(Decimal(amount), payment.currency)
                           == money_round(on_the_way[0].amount, payment.currency)):
            known = on_the_way[0]
    if known is not None:
        if known.status != RefundStatus.PENDING:
            return known
        return refund_settle(refund=known, succeeded=succeeded, reference=reference, message=message, actor=actor)
    if not succeeded or amount is None:
        return None
    made = refund_create(payment=payment, amount=amount, reason="Refunded at the gateway.", actor=actor)
    return refund_settle(refund=made, succeeded=True, reference=reference, actor=actor)
