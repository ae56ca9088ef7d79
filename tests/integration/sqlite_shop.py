"""The data of test_sqlite_checkout, written into its SQLite file by a process of its own.

    python -m tests.integration.sqlite_shop     (DATABASE_URL=sqlite:///…, migrated)

Prints, on its last line, JSON naming the store, its shipping method and the variants each race uses.
"""

import json
from decimal import Decimal

import django


def seed() -> dict:
    """The rows (django set up, a migrated database), and what the tests need to know of them."""
    from accounts.models import User
    from catalog.models import Product, ProductStatus, Variant
    from orders.models import Coupon, ShippingMethod
    from stores.models import Store
    from teams.models import Membership

    owner = User.objects.create_user(email="owner@example.com", password="Owner-password-42", name="Owner")
    store = Store.objects.create(owner=owner, name="Race", slug="race", currency="USD")
    Membership.objects.create(user=owner, store=store, role="owner")
    method = ShippingMethod.objects.create(store=store, name="Courier", price=Decimal("4.00"))
    Coupon.objects.create(store=store, code="THREE", kind="percent", value=Decimal("10"), usage_limit=3)

    def variant(name: str, stock: int) -> int:
        product = Product.objects.create(store=store, name=name, slug=name.lower(), status=ProductStatus.PUBLISHED)
        return Variant.objects.create(store=store, product=product, sku=name.upper(), price=Decimal("10.00"),
                                      stock_quantity=stock).pk

    return {
        "store": store.slug, "shipping_method": method.pk,
        "scarce": variant("Scarce", 5), "plenty": variant("Plenty", 1000),
        "couponed": variant("Couponed", 100), "once": variant("Once", 100),
    }


def main() -> None:
    django.setup()
    print(json.dumps(seed()))


if __name__ == "__main__":
    main()
