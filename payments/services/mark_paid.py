"""Mark-paid: the merchant confirms a cash-on-delivery or bank-transfer payment arrived."""

from django.db import transaction
from django.utils import timezone

from config import metrics
from config.api.errors import ValidationFailed
from orders.events import audit
from orders.models import Order
from orders.services import order_mark_paid

from ..errors import PaymentNotPending
from ..gateways import gateway_get
from ..models import Payment, PaymentStatus


# --- mark-paid -----------------------------------------------------------------
@transaction.atomic
def payment_mark_paid(*, payment: Payment, actor=None) -> Payment:
    """Marks a pending cash-on-delivery or bank-transfer payment paid, and its order paid, exactly once: one
    conditional UPDATE pending → paid, then orders' order_mark_paid in the same transaction.

    Raises ValidationFailed (400) for a gateway that confirms its own payments, PaymentNotPending (409 CONFLICT)
    when it is not pending (a second call, or cancelled with its order, e.g. expired).
    """
    gateway = gateway_get(payment.gateway)
    if gateway is None or not gateway.offline:
        raise ValidationFailed("Only cash on delivery and bank transfer payments are marked paid by hand.",
                               gateway=["The gateway confirms this payment itself."])
    now = timezone.now()
    # the order's row before its payment's: the lock order of the expiry job, which cancels both
    Order.objects.select_for_update().filter(pk=payment.order_id).values_list("pk", flat=True).first()
    if not Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.PAID, paid_at=now):
        current = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).first()
        raise PaymentNotPending(f"The payment is {current or 'gone'}, not pending.", status=current)
    order_mark_paid(order=Order(pk=payment.order_id), actor=actor)
    payment = Payment.objects.select_related("store", "order").get(pk=payment.pk)
    audit(store=payment.store, actor=actor, action="payment.paid", target=payment,
          changes={"status": [PaymentStatus.PENDING, PaymentStatus.PAID], "order": payment.order.number})
    metrics.count_on_commit(metrics.PAYMENTS, gateway=payment.gateway, outcome="paid")
    return payment
