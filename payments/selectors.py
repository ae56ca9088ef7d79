"""Payments' reads: the payment summary an order answer shows, for one payment or many orders at once."""

from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.utils import timezone

from config.money import money_str
from stores.models import Store

from .gateways import REGISTRY, gateway_get
from .models import GatewaySetting, Payment, PaymentStatus, WebhookEvent, WebhookEventStatus
from .services.settings import gateway_setting_offered


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


def payments_health(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Per gateway: the active stores offering it (enabled and configured), its payments paid and failed in the
    last hour, its webhook events pending and failed. A handful of grouped queries whatever the number of stores
    (the gateways that need credentials decrypt their enabled settings to tell they are configured)."""
    since = (now or timezone.now()) - timedelta(hours=1)
    stores = Store.objects.filter(is_active=True).count()
    saved: dict[str, list[GatewaySetting]] = {}
    for setting in GatewaySetting.objects.filter(store__is_active=True):
        saved.setdefault(setting.gateway, []).append(setting)
    paid = dict(Payment.objects.filter(paid_at__gte=since).values("gateway").annotate(n=Count("id"))
                .values_list("gateway", "n"))
    failed = dict(Payment.objects.filter(status=PaymentStatus.FAILED, updated_at__gte=since).values("gateway")
                  .annotate(n=Count("id")).values_list("gateway", "n"))
    waiting = {(gateway, status): n for gateway, status, n in WebhookEvent.objects.filter(
        status__in=(WebhookEventStatus.PENDING, WebhookEventStatus.FAILED)).values("gateway", "status")
        .annotate(n=Count("id")).values_list("gateway", "status", "n")}
    health = {}
    for name, gateway in REGISTRY.items():
        settings = saved.get(name, [])
        offering = sum(1 for setting in settings if gateway_setting_offered(setting))
        if gateway.enabled_by_default and not gateway.required:  # no row: on by default
            offering += stores - len(settings)
        health[name] = {
            "configured_stores": offering, "succeeded_last_hour": paid.get(name, 0),
            "failed_last_hour": failed.get(name, 0),
            "webhooks_pending": waiting.get((name, WebhookEventStatus.PENDING), 0),
            "webhooks_failed": waiting.get((name, WebhookEventStatus.FAILED), 0)}
    return health
