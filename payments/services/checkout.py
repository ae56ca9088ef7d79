"""Checkout lives here, not in orders, because it starts a payment: payments sits above orders and calls
``orders.services.order_place`` inside its own transaction (docs/ARCHITECTURE.md "Layers")."""

from django.db import transaction

from accounts.consents import MARKETING_EMAIL, consents_set
from accounts.models import ConsentSource
from config import metrics
from config.api.errors import ValidationFailed
from config.db import row_insert
from orders.events import audit
from orders.models import Order
from orders.services import checkout_guest_check, order_hold, order_place

from ..errors import PaymentError
from ..gateways import Gateway, gateway_get
from ..gateways.base import GatewayFailed
from ..models import GatewaySetting, Payment, PaymentStatus
from .fraud import NOT_STARTED, fraud_screen
from .settings import gateway_setting_get, gateway_setting_offered, gateways_offered


# --- checkout ------------------------------------------------------------------
def gateway_offered(*, store, payment_method, field: str = "payment_method") -> tuple[Gateway, GatewaySetting]:
    """The gateway and the store's setting for ``payment_method``. Raises ValidationFailed (400, details naming
    ``field``) when the store does not offer it."""
    gateway = gateway_get(payment_method)
    setting = None if gateway is None else gateway_setting_get(store=store, gateway=gateway.name)
    if setting is None or not gateway_setting_offered(setting):  # enabled and configured
        offered = ", ".join(gateways_offered(store=store)) or "none"
        raise ValidationFailed("This store does not offer that payment method.",
                               **{field: [f"Choose one the store offers: {offered}."]})
    return gateway, setting


@transaction.atomic
def checkout_complete(*, store, cart, email: str, customer_name: str = "", shipping_address: dict,
                      billing_address: dict | None = None, shipping_method_id: int | None = None,
                      payment_method: str, user=None, actor=None, ip: str | None = None,
                      marketing_consent: bool | None = None) -> tuple[Order, Payment]:
    """Places the cart's order with the status its payment method starts from and creates its pending payment,
    in one transaction: either both exist, or nothing changed (stock, coupon, cart included).

    A card gateway's payment is first screened (payments.services.fraud, with the buyer's ``ip``): on a hit the order
    is placed but held for review with the reason, and the payment is recorded without starting it (no charge).

    ``marketing_consent`` (true or false) records a signed-in buyer's answer to marketing email with the order
    (source checkout, accounts.consents); a guest cannot give it (no account to hold it), so their true is refused.

    Raises GuestCheckoutOff (401 AUTHENTICATION_REQUIRED) without a signed-in buyer where the store switched guest
    checkout off, ValidationFailed (400; ``details.payment_method`` for a method the store does not offer,
    ``details.marketing_consent`` for a guest's consent), PaymentError (402) when the gateway refuses to start the
    payment, and whatever orders.services.order_place raises (404 cart, 400 checkout data, 409 OUT_OF_STOCK).
    """
    checkout_guest_check(store=store, user=user, actor=actor)  # before the rest: signing in is the answer
    if marketing_consent and user is None:
        raise ValidationFailed("Sign in to agree to marketing email.",
                               marketing_consent=["A guest's consent cannot be recorded: sign in, or leave it out."])
    gateway, setting = gateway_offered(store=store, payment_method=payment_method)
    order = order_place(store=store, cart=cart, email=email, customer_name=customer_name,
                        shipping_address=shipping_address, billing_address=billing_address,
                        shipping_method_id=shipping_method_id, payment_method=gateway.name,
                        initial_status=gateway.order_status, user=user, actor=actor)
    payment = Payment(store=store, order=order, gateway=gateway.name, status=PaymentStatus.PENDING,
                      amount=order.total, currency=order.currency, email=order.email, ip=ip)
    # A card gateway is called here, inside the transaction: if it fails, nothing was placed (its cost: the order's
    # stock rows stay locked for the gateway's round trip; docs/ARCHITECTURE.md "Orders and payments").
    held = payment_screen_and_start(order=order, payment=payment, gateway=gateway, setting=setting)
    row_insert(payment)
    if marketing_consent is not None and user is not None:
        consents_set(user=user, answers={MARKETING_EMAIL: marketing_consent}, source=ConsentSource.CHECKOUT)
    audit(store=store, actor=actor, action="payment.created", target=payment,
          changes={"order": order.number, "gateway": gateway.name, "amount": str(order.total),
                   **({"held": True} if held else {})})
    metrics.count_on_commit(metrics.CHECKOUTS, payment_method=gateway.name)
    metrics.count_on_commit(metrics.PAYMENTS, gateway=gateway.name, outcome="held" if held else "started")
    return order, payment


# --- starting a payment ------------------------------------------------------------
def payment_start(*, order: Order, payment: Payment, gateway: Gateway, setting: GatewaySetting) -> None:
    """Starts ``payment`` with its gateway and keeps what the buyer's page needs on it (unsaved). Raises PaymentError
    (402 PAYMENT_ERROR, the gateway's message) when the gateway refuses or cannot be reached: the caller's
    transaction then rolls back."""
    try:
        start = gateway.start(order=order, payment=payment, setting=setting)
    except GatewayFailed as exc:
        metrics.count(metrics.PAYMENTS, gateway=gateway.name, outcome="refused")  # rolled back, but it happened
        raise PaymentError(str(exc) or PaymentError.default_message, gateway=gateway.name) from exc
    payment.instructions, payment.reference, payment.action = start.instructions, start.reference, start.action()
    payment.failure_reason = ""


def payment_screen_and_start(*, order: Order, payment: Payment, gateway: Gateway, setting: GatewaySetting,
                             card_fingerprints=(), screen: bool = True) -> str | None:
    """Screens a card payment (payments.services.fraud; offline gateways and ``screen=False`` are not) and starts
    it, or on a hit holds the order for review with the reason and leaves the payment unstarted (no charge; its
    failure_reason says so). The payment is left unsaved. Returns the hold reason, None when it started."""
    held = None
    if screen and not gateway.offline:
        held = fraud_screen(store=order.store, amount=payment.amount, currency=payment.currency, email=payment.email,
                            ip=payment.ip, card_fingerprints=card_fingerprints)
    if not held:
        payment_start(order=order, payment=payment, gateway=gateway, setting=setting)
        return None
    # the system holds it, not the buyer: the member who reviews it sees why (order.hold_reason)
    stored = order_hold(order=order, reason=held, actor=None)
    order.hold_reason, order.held_at = stored.hold_reason, stored.held_at
    payment.failure_reason = NOT_STARTED
    return held
