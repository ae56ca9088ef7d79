"""Demo orders for a demo store, placed through checkout (payments.services.checkout_complete: priced, stock
reserved, a payment started, events and audit rows as a shopper's checkout makes them) and moved through the
services: a pending bank transfer, a processing cash-on-delivery order with the welcome coupon, a completed and
paid one, a cancelled one. Idempotent: an order is placed only when its customer has none in the store."""

from django.db.models import F

from catalog.models import ProductStatus, Variant
from orders import services as orders
from orders.demo import WELCOME_CODE, seed_shipping_and_coupon
from orders.models import Order, OrderStatus, ShippingMethod
from stores.models import Store

from .models import GatewaySetting
from .services import checkout_complete, gateway_setting_update, payment_mark_paid

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

