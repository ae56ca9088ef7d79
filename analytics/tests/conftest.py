"""Orders sold through the real checkout, moved in time where a test needs past days."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.models import PaymentStatus as OrderPaymentStatus
from orders.services import order_cancel
from payments import services as payments
from payments.models import Payment

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture
def sell(store, cart_with):
    """``sell((variant, quantity), …, paid=True, at=datetime, method="cod", cancel=False, email=…)``: an order placed
    through checkout (and marked paid or cancelled through the services), then dated ``at``."""

    def make(*pairs, paid: bool = True, at: datetime | None = None, method: str = "cod", cancel: bool = False,
             email: str = "buyer@example.com", store=store) -> Order:
        cart = cart_with(*pairs, store=store)
        order, payment = payments.checkout_complete(store=store, cart=cart, email=email, shipping_address=ADDRESS,
                                                    payment_method=method)
        if paid:
            payments.payment_mark_paid(payment=payment, actor=store.owner)
        if cancel:
            order_cancel(order=order, actor=store.owner)
        if at is not None:
            Order.objects.filter(pk=order.pk).update(created_at=at)
        return Order.objects.get(pk=order.pk)

    return make


def refund(order: Order, amount: str) -> None:
    """What a partial refund leaves behind (the refunds service's rows): the payment's refunded amount, the order
    partially refunded, both stamped now."""
    now = timezone.now()
    Payment.objects.filter(order=order).update(refunded_amount=Decimal(amount), updated_at=now)
    Order.objects.filter(pk=order.pk).update(payment_status=OrderPaymentStatus.PARTIALLY_REFUNDED, updated_at=now)


def refund_all(order: Order) -> None:
    payment = Payment.objects.get(order=order)
    payments.payment_refund(payment=payment, amount=payment.amount, reason="Returned", actor=order.store.owner)
