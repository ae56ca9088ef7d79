"""Demo shipping methods, a coupon and orders in several states for a demo store, all through orders.services
(priced, stock reserved, events and audit rows as a real checkout would). Idempotent: each piece is added only
when it is missing."""

from decimal import Decimal

from django.db.models import F

from catalog.models import ProductStatus, Variant
from config.money import money_round
from stores.models import Store

from . import services
from .models import Coupon, Order, OrderStatus, ShippingMethod

WELCOME_CODE = "WELCOME10"
# (name, price, free above) in the store currency
SHIPPING_METHODS = [("Standard delivery", Decimal("5"), Decimal("50")), ("Express courier", Decimal("15"), None)]
# (customer email, name, city, payment method, how many lines, coupon, what happens after checkout)
ORDERS = [
    ("nadia@customers.demo", "Nadia Salem", "Benghazi", "bank_transfer", 1, False, None),
    ("omar@customers.demo", "Omar Haddad", "Tripoli", "cod", 2, True, None),
    ("lina@customers.demo", "Lina Farouk", "Misrata", "cod", 1, False, OrderStatus.COMPLETED),
    ("sam@customers.demo", "Sam Carter", "Sabha", "bank_transfer", 2, False, OrderStatus.CANCELLED),
]
# Where an order of each payment method starts (as payments' checkout starts it).
INITIAL_STATUS = {"cod": OrderStatus.PROCESSING, "bank_transfer": OrderStatus.PENDING}


def seed_shipping_and_coupon(store: Store) -> None:
    """Two shipping methods (the first free above a subtotal) and a 10 % welcome coupon, if missing."""
    names = set(ShippingMethod.objects.filter(store=store).values_list("name", flat=True))
    for position, (name, price, free_above) in enumerate(SHIPPING_METHODS):
        if name not in names:
            services.shipping_method_create(
                store=store, name=name, price=money_round(price, store.currency),
                free_above=money_round(free_above, store.currency) if free_above is not None else None,
                position=position)
    if not Coupon.objects.filter(store=store, code__iexact=WELCOME_CODE).exists():
        services.coupon_create(store=store, code=WELCOME_CODE, kind="percent", value=Decimal("10"))


def _variants(store: Store, count: int) -> list[Variant]:
    """Published, tracked variants with a few units to spare, cheapest first."""
    return list(Variant.objects.filter(store=store, product__status=ProductStatus.PUBLISHED, track_inventory=True,
                                       stock_quantity__gte=F("reserved") + 5).order_by("price", "id")[:count])


def seed_orders(store: Store) -> int:
    """The demo orders of ORDERS not yet in the store (by customer email): a pending bank transfer, a processing
    cash-on-delivery order with the welcome coupon, a completed and a cancelled one. Returns how many it placed."""
    seed_shipping_and_coupon(store)
    method = ShippingMethod.objects.filter(store=store, is_active=True).order_by("position", "id").first()
    placed = 0
    existing = set(Order.objects.filter(store=store, email__endswith="@customers.demo")
                   .values_list("email", flat=True))
    pool = _variants(store, 2 * len(ORDERS))
    if not pool:
        return 0  # no catalog to sell from
    for index, (email, name, city, payment_method, line_count, with_coupon, then) in enumerate(ORDERS):
        if email in existing:
            continue
        # different products for different orders, the same ones on every run
        variants = list({pool[(2 * index + n) % len(pool)].pk: pool[(2 * index + n) % len(pool)]
                         for n in range(line_count)}.values())
        cart = services.cart_create(store=store, user=None)
        for quantity, variant in enumerate(variants, start=1):
            services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=quantity)
        if with_coupon:
            services.cart_coupon_apply(cart=cart, code=WELCOME_CODE)
        order = services.order_place(
            store=store, cart=cart, email=email, customer_name=name,
            shipping_address={"name": name, "line1": "12 Demo Street", "city": city, "country": "LY"},
            shipping_method_id=method.pk if method else None, payment_method=payment_method,
            initial_status=INITIAL_STATUS[payment_method])
        if then == OrderStatus.COMPLETED:
            services.order_transition(order=order, status=OrderStatus.COMPLETED, actor=store.owner,
                                      note="Delivered.")
        elif then == OrderStatus.CANCELLED:
            services.order_cancel(order=order, actor=store.owner, note="The customer changed their mind.")
        placed += 1
    return placed
