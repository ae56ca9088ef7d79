"""Orders test data: catalog rows made directly (no events), carts filled through the services."""

import itertools
from decimal import Decimal

import pytest

from catalog.models import Product, ProductStatus, Variant
from orders import services

_serial = itertools.count(1)


@pytest.fixture
def make_variant(db, store):
    """A variant of a one-variant product: ``price``, ``stock``, ``status`` of the product, stock flags."""

    def make(*, store=store, price="10.00", stock=5, status=ProductStatus.PUBLISHED, track_inventory=True,
             allow_backorder=False, name="", product_name="") -> Variant:
        n = next(_serial)
        product = Product.objects.create(store=store, name=product_name or f"Thing {n}", slug=f"thing-{n}",
                                         status=status)
        return Variant.objects.create(store=store, product=product, sku=f"SKU-{n:05d}", name=name,
                                      price=Decimal(price), stock_quantity=stock, track_inventory=track_inventory,
                                      allow_backorder=allow_backorder)

    return make


@pytest.fixture
def cart_with(store):
    """A cart (anonymous unless ``user``) holding ``(variant, quantity)`` pairs."""

    def make(*pairs, user=None, store=store):
        cart = services.cart_create(store=store, user=user)
        for variant, quantity in pairs:
            services.cart_item_add(cart=cart, variant_id=variant.pk, quantity=quantity)
        return cart

    return make
