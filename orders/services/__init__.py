"""Orders' writes: every use case in one transaction, business rules here and nowhere else.

``carts`` (carts and their lines, coupon on a cart, merge, the priced view), ``coupons`` and ``shipping`` (the
store's CRUD with audit rows and one check each for the API and the admin). Callers import from
``orders.services``; the names below are the public surface.
"""

from .carts import (
    MAX_CART_LINES,
    MAX_LINE_QUANTITY,
    CartView,
    CartViewLine,
    cart_coupon_apply,
    cart_coupon_remove,
    cart_create,
    cart_get,
    cart_item_add,
    cart_item_remove,
    cart_item_update,
    cart_merge,
    cart_view,
)
from .coupons import COUPON_FIELDS, coupon_check, coupon_create, coupon_delete, coupon_update
from .shipping import (
    SHIPPING_METHOD_FIELDS,
    shipping_method_check,
    shipping_method_create,
    shipping_method_delete,
    shipping_method_update,
)

__all__ = [
    "COUPON_FIELDS", "MAX_CART_LINES", "MAX_LINE_QUANTITY", "SHIPPING_METHOD_FIELDS", "CartView", "CartViewLine",
    "cart_coupon_apply", "cart_coupon_remove", "cart_create", "cart_get", "cart_item_add", "cart_item_remove",
    "cart_item_update", "cart_merge", "cart_view",
    "coupon_check", "coupon_create", "coupon_delete", "coupon_update",
    "shipping_method_check", "shipping_method_create", "shipping_method_delete", "shipping_method_update",
]
