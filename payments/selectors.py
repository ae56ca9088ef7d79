"""Payments' reads: the payment summary an order answer shows, for one payment or many orders at once."""

from django.db.models import Max

from config.money import money_str

from .gateways import gateway_get
from .models import Payment, PaymentStatus


def payment_summary(payment: Payment) -> dict:
    """``{id, gateway, status, amount}`` plus ``instructions`` for a gateway that has them (bank_transfer) and, while
    it is pending, what the buyer's page needs to pay: ``client_secret``, ``redirect_url`` or ``lightbox``."""
    summary = {"id": payment.pk, "gateway": payment.gateway, "status": payment.status,
               "amount": money_str(payment.amount, payment.currency)}
    gateway = gateway_get(payment.gateway)
    if gateway is not None and "instructions" in gateway.fields:
        summary["instructions"] = payment.instructions
    if payment.status == PaymentStatus.PENDING:
        # what the buyer's page needs to pay (client_secret, redirect_url, lightbox): nothing once it is done
        summary.update(payment.action or {})
    return summary


def order_payments_read(order_ids: list[int]) -> dict[int, dict]:
    """The latest payment of each of these orders as its summary, by order id (two queries whatever the count)."""
    latest = (Payment.objects.filter(order_id__in=order_ids).values("order_id")
              .annotate(last=Max("id")).values_list("last", flat=True))
    return {payment.order_id: payment_summary(payment) for payment in Payment.objects.filter(pk__in=list(latest))}
