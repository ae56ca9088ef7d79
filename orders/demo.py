"""Demo shipping methods and a coupon for a demo store, through orders.services (the demo orders are placed by
payments.demo, through checkout). Idempotent: each piece is added only when it is missing."""

from decimal import Decimal

from config.money import money_round
from stores.models import Store

from . import services
from .models import Coupon, ShippingMethod

WELCOME_CODE = "WELCOME10"
# (name, price, free above) in the store currency
SHIPPING_METHODS = [("Standard delivery", Decimal("5"), Decimal("50")), ("Express courier", Decimal("15"), None)]


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
