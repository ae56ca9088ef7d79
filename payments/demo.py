"""Demo orders for a demo store, placed through checkout (payments.services.checkout_complete: priced, stock
reserved, a payment started, events and audit rows as a shopper's checkout makes them) and moved through the
services: a pending bank transfer, a processing cash-on-delivery order with the welcome coupon, a completed and
paid one, a cancelled one. Idempotent: an order is placed only when its customer has none in the store."""

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from catalog.models import ProductStatus, Variant
from orders import services as orders
from orders.demo import WELCOME_CODE, seed_shipping_and_coupon
from orders.models import Order, OrderStatus, ShippingMethod
from stores.models import Store

from .errors import PaymentError
from .gateways import gateway_get
from .gateways.addresses import public_base_url
from .models import GatewaySetting, Payment, PaymentStatus
from .services import (
    checkout_complete,
    gateway_setting_update,
    gateway_webhook_url,
    gateways_offered,
    payment_mark_paid,
)

BANK_INSTRUCTIONS = "Transfer the total to IBAN LY00 0000 0000 0000 0000 0000 (Demo Bank), quoting your order number."
PAID, CANCELLED = "paid", OrderStatus.CANCELLED
# (customer email, name, city, payment method, how many lines, coupon, what happens after checkout)
ORDERS = [
    ("nadia@customers.demo", "Nadia Salem", "Benghazi", "bank_transfer", 1, False, ()),
    ("omar@customers.demo", "Omar Haddad", "Tripoli", "cod", 2, True, ()),
    ("lina@customers.demo", "Lina Farouk", "Misrata", "cod", 1, False, (OrderStatus.COMPLETED, PAID)),
    ("sam@customers.demo", "Sam Carter", "Sabha", "bank_transfer", 2, False, (CANCELLED,)),
]


def _variants(store: Store, count: int) -> list[Variant]:
    """Published, tracked variants with a few units to spare, cheapest first."""
    return list(Variant.objects.filter(store=store, product__status=ProductStatus.PUBLISHED, track_inventory=True,
                                       stock_quantity__gte=F("reserved") + 5).order_by("price", "id")[:count])


def seed_orders(store: Store) -> int:
    """The store's shipping methods and coupon (orders.demo), bank-transfer instructions when it has none, and the
    ORDERS not yet in the store. Returns how many orders it placed."""
    seed_shipping_and_coupon(store)
    if not GatewaySetting.objects.filter(store=store, gateway="bank_transfer").exclude(instructions="").exists():
        gateway_setting_update(store=store, gateway="bank_transfer", instructions=BANK_INSTRUCTIONS)
    method = ShippingMethod.objects.filter(store=store, is_active=True).order_by("position", "id").first()
    existing = set(Order.objects.filter(store=store, email__endswith="@customers.demo")
                   .values_list("email", flat=True))
    pool = _variants(store, 2 * len(ORDERS))
    if not pool:
        return 0  # no catalog to sell from
    placed = 0
    for index, (email, name, city, payment_method, line_count, with_coupon, then) in enumerate(ORDERS):
        if email in existing:
            continue
        # different products for different orders, the same ones on every run
        variants = list({pool[(2 * index + n) % len(pool)].pk: pool[(2 * index + n) % len(pool)]
                         for n in range(line_count)}.values())
        cart = orders.cart_create(store=store, user=None)
        for quantity, variant in enumerate(variants, start=1):
            orders.cart_item_add(cart=cart, variant_id=variant.pk, quantity=quantity)
        if with_coupon:
            orders.cart_coupon_apply(cart=cart, code=WELCOME_CODE)
        order, payment = checkout_complete(
            store=store, cart=cart, email=email, customer_name=name,
            shipping_address={"name": name, "line1": "12 Demo Street", "city": city, "country": "LY"},
            shipping_method_id=method.pk if method else None, payment_method=payment_method)
        for step in then:
            if step == PAID:
                payment_mark_paid(payment=payment, actor=store.owner)
            elif step == CANCELLED:
                orders.order_cancel(order=order, actor=store.owner, note="The customer changed their mind.")
            else:
                orders.order_transition(order=order, status=step, actor=store.owner, note="Delivered.")
        placed += 1
    return placed


# Test-mode credentials for the demo stores' card gateway: Moamalat's published test merchant for a store selling in
# LYD; otherwise Kashier with the sample keys of ../shared/GATEWAYS.md (put your Kashier test account's merchant id and
# Payment API key instead to pay on Kashier's test page: its page refuses a hash made with another account's key).
MOAMALAT_TEST = {"enabled": True, "mode": "test", "merchant_id": "10081014649", "terminal_id": "99179395",
                 "secure_key": "39636630633731362D663963322D346362642D386531662D633963303432353936373431"}
KASHIER_TEST = {"enabled": True, "mode": "test", "merchant_id": "MID-123-456", "api_key": "d3adb33f-test-api-key"}


def seed_card_gateway(store: Store) -> str:
    """Sets up, in test mode, the card gateway that suits the store (Moamalat for LYD, Kashier otherwise) unless the
    store has a setting for it already (a merchant's own keys or choice are kept). Returns the gateway's name."""
    name, values = ("moamalat", MOAMALAT_TEST) if store.currency == "LYD" else ("kashier", KASHIER_TEST)
    if not GatewaySetting.objects.filter(store=store, gateway=name).exists():
        gateway_setting_update(store=store, gateway=name, **values)
    return name



# Stripe against a local Stripe API server (a localstripe: ``make localstripe``, then STRIPE_API_BASE), never Stripe's
# own: localstripe takes any sk_test_ key and signs its webhooks with the secret it is given.
STRIPE_LOCAL = {"enabled": True, "publishable_key": "pk_test_demo_local", "secret_key": "sk_test_demo_local",
                "webhook_secret": "whsec_demo_local"}
STRIPE_NO_CURRENCIES = ("LYD",)  # Stripe does not settle these
DEMO_BASE_URL = "http://127.0.0.1:8000"  # where ``make run`` serves, when PUBLIC_BASE_URL is unset


def seed_stripe(store: Store) -> bool:
    """Sets up Stripe for the store against the local Stripe server STRIPE_API_BASE names, when one answers there
    (a localstripe) and Stripe takes the store's currency, and has that server send its webhooks to the store's
    webhook URL (on PUBLIC_BASE_URL, else ``make run``'s address). A Stripe setting of the store's own is kept and
    left alone. Returns whether the store takes Stripe against the local server."""
    base = settings.STRIPE_API_BASE.rstrip("/")
    if not base or store.currency in STRIPE_NO_CURRENCIES:
        return False
    own = GatewaySetting.objects.filter(store=store, gateway="stripe").first()
    if own is not None and gateway_get("stripe").secret(own, "webhook_secret") != STRIPE_LOCAL["webhook_secret"]:
        return False
    webhook_url = gateway_webhook_url(store=store, gateway="stripe", base_url=DEMO_BASE_URL)
    try:  # localstripe's own configuration call: any other server (Stripe's) answers it with an error
        answer = requests.post(f"{base}/_config/webhooks/demo-{store.slug}", timeout=2,
                               data={"url": webhook_url, "secret": STRIPE_LOCAL["webhook_secret"]})
    except requests.RequestException:
        return False
    if answer.status_code != 200:
        return False
    if own is None:
        gateway_setting_update(store=store, gateway="stripe", **STRIPE_LOCAL)
    return True


CARD_BUYER = ("card@customers.demo", "Card Buyer")


def seed_card_checkout(store: Store, gateway: str) -> Payment | None:
    """A pending order of the store's paid by ``gateway``, to try its payment page: the demo's earlier one while its
    reservation runs, else a new one placed through checkout (the cheapest variant). Its payment's ``action`` holds
    what the buyer's page needs (Kashier's ``redirect_url``, Stripe's ``client_secret``, Moamalat's ``lightbox``).
    None when the store does not offer the gateway or has nothing to sell."""
    email, name = CARD_BUYER
    pending = (Payment.objects.filter(store=store, gateway=gateway, status=PaymentStatus.PENDING,
                                      order__email=email, order__status=OrderStatus.PENDING,
                                      order__reserved_until__gt=timezone.now())
               .exclude(action={}).order_by("-pk").first())
    if pending is not None:
        return pending
    if gateway not in gateways_offered(store=store):
        return None
    variants = _variants(store, 1)
    method = ShippingMethod.objects.filter(store=store, is_active=True).order_by("position", "id").first()
    if not variants:
        return None
    cart = orders.cart_create(store=store, user=None)
    orders.cart_item_add(cart=cart, variant_id=variants[0].pk, quantity=1)
    try:
        _, payment = checkout_complete(
            store=store, cart=cart, email=email, customer_name=name,
            shipping_address={"name": name, "line1": "1 Demo Street", "city": "Cairo", "country": "EG"},
            shipping_method_id=method.pk if method else None, payment_method=gateway)
    except PaymentError:  # the gateway refused to start it (a local Stripe gone meanwhile): nothing was placed
        return None
    return payment


def card_checkout_line(payment: Payment) -> str:
    """What seed_demo prints for a demo card order: the hosted page's link (Kashier), else where its buyer's page
    reads what it needs (the order's ``payment``: Moamalat's Lightbox parameters, Stripe's client_secret)."""
    order = payment.order
    if payment.action.get("redirect_url"):
        return f"{order.store.slug} order {order.number}, {payment.gateway}'s page: {payment.action['redirect_url']}"
    base = public_base_url() or DEMO_BASE_URL
    return (f"{order.store.slug} order {order.number}, {payment.gateway}: its payment parameters in "
            f"{base}/api/v1/stores/{order.store.slug}/orders/{order.number}?email={order.email}")
