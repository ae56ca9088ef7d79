"""A cancelled order's open payments are cancelled with it (the expiry job, the buyer, a member): registered with
orders.services.order_cancel_hook_register in PaymentsConfig.ready, called in the cancelling transaction."""

from django.utils import timezone

from orders.events import audit
from orders.models import Order

from ..models import Payment, PaymentStatus

OPEN = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)


def order_payments_cancel(order: Order, actor=None) -> int:
    """Cancels the order's pending and processing payments, each with an audit row (one conditional UPDATE: a
    payment paid meanwhile keeps its status). A success the gateway reports later is still applied
    (payments.services.webhooks). Returns how many were cancelled."""
    open_payments = list(Payment.objects.filter(order_id=order.pk, status__in=OPEN).values_list("pk", "status"))
    if not open_payments:
        return 0
    cancelled = Payment.objects.filter(pk__in=[pk for pk, _ in open_payments], status__in=OPEN).update(
        status=PaymentStatus.CANCELLED, updated_at=timezone.now())
    store = order.store
    for pk, status in open_payments:
        audit(store=store, actor=actor, action="payment.cancelled", target=Payment(pk=pk, store_id=store.pk),
              changes={"status": [status, PaymentStatus.CANCELLED], "order": order.number})
    return cancelled
