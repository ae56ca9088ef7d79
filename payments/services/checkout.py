"""Checkout lives here, not in orders, because it starts a payment: payments sits above orders and calls
``orders.services.order_place`` inside its own transaction (docs/ARCHITECTURE.md "Layers")."""

from django.db import transaction

from config.api.errors import ValidationFailed
from orders.events import audit
from orders.models import Order
from orders.services import order_place

from ..gateways import Gateway, gateway_get
from ..models import GatewaySetting, Payment, PaymentStatus
from .settings import gateway_setting_get, gateway_setting_offered, gateways_offered


# --- checkout ------------------------------------------------------------------
def _offered(*, store, payment_method) -> tuple[Gateway, GatewaySetting]:
    gateway = gateway_get(payment_method)
    setting = None if gateway is None else gateway_setting_get(store=store, gateway=gateway.name)
    if setting is None or not gateway_setting_offered(setting):  # enabled and configured
        offered = ", ".join(gateways_offered(store=store)) or "none"
        raise ValidationFailed("This store does not offer that payment method.",
                               payment_method=[f"Choose one the store offers: {offered}."])
    return gateway, setting


@transaction.atomic
def checkout_complete(*, store, cart, email: str, customer_name: str = "", shipping_address: dict,
                      billing_address: dict | None = None, shipping_method_id: int | None = None,
                      payment_method: str, user=None, actor=None) -> tuple[Order, Payment]:
    """Places the cart's order with the status its payment method starts from and creates its pending payment,
    in one transaction: either both exist, or nothing changed (stock, coupon, cart included).

    Raises ValidationFailed (400; ``details.payment_method`` for a method the store does not offer) and whatever
    orders.services.order_place raises (404 cart, 400 checkout data, 409 OUT_OF_STOCK).
    """
    gateway, setting = _offered(store=store, payment_method=payment_method)
    order = order_place(store=store, cart=cart, email=email, customer_name=customer_name,
                        shipping_address=shipping_address, billing_address=billing_address,
                        shipping_method_id=shipping_method_id, payment_method=gateway.name,
                        initial_status=gateway.order_status, user=user, actor=actor)
    payment = Payment(store=store, order=order, gateway=gateway.name, status=PaymentStatus.PENDING,
                      amount=order.total, currency=order.currency, email=order.email)
    # A card gateway is called here, inside the transaction: if it fails, nothing was placed (its cost: the order's
    # stock rows stay locked for the gateway's round trip; docs/ARCHITECTURE.md "Orders and payments").
    start = gateway.start(order=order, payment=payment, setting=setting)
    payment.instructions, payment.reference, payment.action = start.instructions, start.reference, start.action()
    payment.save(force_insert=True)
    audit(store=store, actor=actor, action="payment.created", target=payment,
          changes={"order": order.number, "gateway": gateway.name, "amount": str(order.total)})
    return order, payment
