"""A new payment for a placed order: the buyer tries again after a failed payment (or with another gateway)."""

from django.db import transaction

from config import metrics
from config.api.errors import InvalidTransition, NotFound, ValidationFailed
from orders.events import audit
from orders.models import Order, OrderEvent, OrderStatus
from orders.models import PaymentStatus as OrderPaymentStatus

from ..errors import OrderHeld, OrderNotAwaitingPayment
from ..models import Payment, PaymentStatus
from .checkout import gateway_offered, payment_screen_and_start

# A payment in one of these says money is on its way or arrived: no second one is started beside it.
UNDER_WAY = (PaymentStatus.PROCESSING, PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


@transaction.atomic
def payment_create(*, order: Order, gateway: str, actor=None, ip: str | None = None) -> Payment:
    """Starts a new payment of the order's total with ``gateway`` (one the store offers), for a pending order whose
    payments all failed, were cancelled or are still waiting for the buyer. The order row is locked, so two retries
    at once start one after the other and a concurrent payment is seen.

    A card payment is screened first, as at checkout (with the cards of the order's earlier payments), unless a member
    already released the order after a review: on a hit the order is held and the payment recorded unstarted.

    Raises ValidationFailed (400, details.gateway: not offered, or cash on delivery, which only checkout places),
    OrderHeld (409) for an order held for review, InvalidTransition (409) for an order no longer pending,
    OrderNotAwaitingPayment (409) when it is paid or a payment is under way, PaymentError (402) when the gateway
    refuses; nothing changes then.
    """
    found, setting = gateway_offered(store=order.store, payment_method=gateway, field="gateway")
    if found.order_status != OrderStatus.PENDING:
        raise ValidationFailed(f"{found.label} is chosen at checkout only.",
                               gateway=[f"{found.label} cannot replace a payment: choose a gateway the buyer pays."])
    order = Order.objects.select_for_update(of=("self",)).select_related("store").filter(pk=order.pk).first()
    if order is None:
        raise NotFound("No such order.")
    if order.hold_reason:
        raise OrderHeld("The order is held for review: the store approves or rejects it first.")
    if order.status != OrderStatus.PENDING:
        raise InvalidTransition(f"A {order.status} order takes no new payment.", status=order.status)
    if order.payment_status not in (OrderPaymentStatus.UNPAID, OrderPaymentStatus.FAILED):
        raise OrderNotAwaitingPayment(f"The order is {order.payment_status}.", payment_status=order.payment_status)
    earlier = list(Payment.objects.filter(order=order).values_list("status", "card_fingerprint"))
    under_way = next((status for status, _ in earlier if status in UNDER_WAY), None)
    if under_way:
        raise OrderNotAwaitingPayment(f"A payment of this order is {under_way} already.", payment_status=under_way)
    payment = Payment(store=order.store, order=order, gateway=found.name, status=PaymentStatus.PENDING,
                      amount=order.total, currency=order.currency, email=order.email, ip=ip)
    # a member who released the order after a review has decided: it is not screened again
    reviewed = OrderEvent.objects.filter(order=order, kind="released").exists()
    held = payment_screen_and_start(order=order, payment=payment, gateway=found, setting=setting,
                                    card_fingerprints=[card for _, card in earlier if card], screen=not reviewed)
    payment.save(force_insert=True)
    audit(store=order.store, actor=actor, action="payment.created", target=payment,
          changes={"order": order.number, "gateway": found.name, "amount": str(order.total), "retry": True,
                   **({"held": True} if held else {})})
    metrics.count_on_commit(metrics.PAYMENTS, gateway=found.name, outcome="held" if held else "started")
    return payment
