"""Orders' writes: every use case in one transaction, business rules here and nowhere else.

``carts`` (carts and their lines, coupon on a cart, merge, the priced view), ``custom`` (priced lines that are not
catalog variants, from an app above: their kinds' registry), ``coupons`` and ``shipping`` (the
store's CRUD with audit rows and one check each for the API and the admin), ``checkout`` (order_place),
``lifecycle`` (the transition table, cancel, mark-paid, reorder), ``holds`` (held for review, released), ``refunds``
(a payment's refund on the order: payment_status, the move to refunded, restock), ``reinstate`` (a cancelled order
back with its stock: paid after its reservation ran out), ``jobs`` (expiry, cart pruning).
Callers import from ``orders.services``; the names below are the public surface.
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
from .checkout import checkout_guest_check, order_number_new, order_number_normalize, order_place
from .coupons import COUPON_FIELDS, coupon_check, coupon_create, coupon_delete, coupon_update
from .custom import (
    CustomLineKind,
    cart_custom_line_add,
    custom_line_kind_register,
    custom_line_problem,
)
from .holds import order_hold, order_hold_release
from .jobs import carts_prune, orders_expire
from .lifecycle import (
    EVENT_FOR_STATUS,
    TRANSITIONS,
    order_cancel,
    order_cancel_hook_register,
    order_mark_paid,
    order_moved,
    order_reorder,
    order_transition,
)
from .refunds import order_refund_record, order_restock_check
from .reinstate import order_cancelled_by_expiry, order_reinstate
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
    "cart_item_update", "cart_merge", "cart_view", "checkout_guest_check",
    "CustomLineKind", "cart_custom_line_add", "custom_line_kind_register", "custom_line_problem",
    "coupon_check", "coupon_create", "coupon_delete", "coupon_update",
    "EVENT_FOR_STATUS", "TRANSITIONS", "order_cancel", "order_cancel_hook_register", "order_cancelled_by_expiry",
    "order_mark_paid", "order_moved", "order_number_new", "order_reinstate",
    "order_hold", "order_hold_release", "order_number_normalize", "order_place", "order_refund_record",
    "order_reorder", "order_restock_check", "order_transition",
    "carts_prune", "orders_expire",
    "shipping_method_check", "shipping_method_create", "shipping_method_delete", "shipping_method_update",
]
