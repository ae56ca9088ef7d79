"""Payments' writes: the store's gateway settings, checkout (it starts a payment), mark-paid.

Checkout lives here, not in orders, because it starts a payment: payments sits above orders and calls
``orders.services.order_place`` inside its own transaction (docs/ARCHITECTURE.md "Layers").
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.api.errors import NotFound, ValidationFailed
from orders.events import audit
from orders.models import Order
from orders.services import order_mark_paid, order_place

from .errors import PaymentNotPending
from .gateways import REGISTRY, Gateway, gateway_get
from .models import GatewaySetting, Payment, PaymentStatus

MAX_INSTRUCTIONS_LENGTH = 2000


# --- gateway settings ------------------------------------------------------------
def _gateway(name) -> Gateway:
    gateway = gateway_get(name)
    if gateway is None:
        raise NotFound("No such payment gateway.")
    return gateway


def _default_setting(*, store, gateway: Gateway) -> GatewaySetting:
    return GatewaySetting(store=store, gateway=gateway.name, enabled=gateway.enabled_by_default, instructions="")


def gateway_setting_get(*, store, gateway: str) -> GatewaySetting:
    """The store's setting for ``gateway`` (unsaved defaults when it never changed them). NotFound (404) for a
    name no gateway has."""
    found = _gateway(gateway)
    setting = GatewaySetting.objects.filter(store=store, gateway=found.name).first()
    return setting or _default_setting(store=store, gateway=found)


def gateway_setting_check(*, gateway: str, values: dict) -> dict:
    """The values a store may set for ``gateway``, cleaned (the API and the admin both call this). Raises NotFound
    (404) for an unknown gateway, ValidationFailed (400) naming each field another gateway's or badly typed."""
    found = _gateway(gateway)
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name, value in values.items():
        if name not in found.fields:
            errors[name] = [f"{found.label} has no such setting."]
        elif name == "enabled":
            if not isinstance(value, bool):
                errors[name] = ["Must be true or false."]
            else:
                cleaned[name] = value
        elif name == "instructions":
            if not isinstance(value, str):
                errors[name] = ["Must be text."]
            elif len(value.strip()) > MAX_INSTRUCTIONS_LENGTH:
                errors[name] = [f"At most {MAX_INSTRUCTIONS_LENGTH} characters."]
            else:
                cleaned[name] = value.strip()
    if errors:
        raise ValidationFailed("Invalid gateway settings.", **errors)
    return cleaned


@transaction.atomic
def gateway_setting_update(*, store, gateway: str, actor=None, **values) -> GatewaySetting:
    """Sets what ``values`` names for the store's ``gateway`` (the others keep their value) and writes an audit
    row. Raises what gateway_setting_check raises; nothing changes then."""
    cleaned = gateway_setting_check(gateway=gateway, values=values)
    found = _gateway(gateway)
    setting = GatewaySetting.objects.select_for_update().filter(store=store, gateway=found.name).first()
    if setting is None:
        try:
            with transaction.atomic():  # a concurrent first update may insert the row before us
                setting = _default_setting(store=store, gateway=found)
                setting.save()
        except IntegrityError:
            setting = GatewaySetting.objects.select_for_update().get(store=store, gateway=found.name)
    changes = {name: [getattr(setting, name), value] for name, value in cleaned.items()
               if getattr(setting, name) != value}
    for name, value in cleaned.items():
        setattr(setting, name, value)
    setting.save()
    if changes:
        audit(store=store, actor=actor, action="payment_gateway.updated", target=setting,
              changes={"gateway": found.name, **changes})
    return setting


def gateways_offered(*, store) -> list[str]:
    """The names of the gateways the store offers at checkout, in registry order."""
    saved = dict(GatewaySetting.objects.filter(store=store).values_list("gateway", "enabled"))
    return [name for name, gateway in REGISTRY.items() if saved.get(name, gateway.enabled_by_default)]


# --- checkout ------------------------------------------------------------------
def _offered(*, store, payment_method) -> tuple[Gateway, GatewaySetting]:
    gateway = gateway_get(payment_method)
    setting = None if gateway is None else gateway_setting_get(store=store, gateway=gateway.name)
    if setting is None or not setting.enabled:
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
    start = gateway.start(order=order, setting=setting)
    payment = Payment.objects.create(store=store, order=order, gateway=gateway.name, status=PaymentStatus.PENDING,
                                     amount=order.total, currency=order.currency, instructions=start.instructions)
    audit(store=store, actor=actor, action="payment.created", target=payment,
          changes={"order": order.number, "gateway": gateway.name, "amount": str(order.total)})
    return order, payment


# --- mark-paid -----------------------------------------------------------------
@transaction.atomic
def payment_mark_paid(*, payment: Payment, actor=None) -> Payment:
    """Marks a pending cash-on-delivery or bank-transfer payment paid, and its order paid, exactly once: one
    conditional UPDATE pending → paid, then orders' order_mark_paid in the same transaction.

    Raises ValidationFailed (400) for a gateway that confirms its own payments, PaymentNotPending (409 CONFLICT)
    when it is not pending (a second call), and the order's 409 (cancelled, e.g. expired) which rolls the payment
    back to pending.
    """
    gateway = gateway_get(payment.gateway)
    if gateway is None or not gateway.offline:
        raise ValidationFailed("Only cash on delivery and bank transfer payments are marked paid by hand.",
                               gateway=["The gateway confirms this payment itself."])
    now = timezone.now()
    if not Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.PAID, paid_at=now):
        current = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).first()
        raise PaymentNotPending(f"The payment is {current or 'gone'}, not pending.", status=current)
    order_mark_paid(order=Order(pk=payment.order_id), actor=actor)
    payment = Payment.objects.select_related("store", "order").get(pk=payment.pk)
    audit(store=payment.store, actor=actor, action="payment.paid", target=payment,
          changes={"status": [PaymentStatus.PENDING, PaymentStatus.PAID], "order": payment.order.number})
    return payment
