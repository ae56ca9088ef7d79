"""Event types: what services emit, what endpoints subscribe to and members are notified of."""

PRODUCT_PUBLISHED = "product.published"
PRODUCT_UPDATED = "product.updated"
PRODUCT_ARCHIVED = "product.archived"
ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_STATUS_CHANGED = "order.status_changed"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
PAYMENT_FAILED = "payment.failed"
INVENTORY_LOW_STOCK = "inventory.low_stock"
WEBHOOK_TEST = "webhook.test"  # sent only by POST …/webhooks/{id}/test, never subscribed to

# Internal: a notification to the store owner, never a webhook.
WEBHOOK_ENDPOINT_DISABLED = "webhook.endpoint_disabled"

# What emit() accepts and webhook endpoints may subscribe to.
EVENT_TYPES: tuple[str, ...] = (
    PRODUCT_PUBLISHED,
    PRODUCT_UPDATED,
    PRODUCT_ARCHIVED,
    ORDER_CREATED,
    ORDER_PAID,
    ORDER_STATUS_CHANGED,
    ORDER_CANCELLED,
    ORDER_REFUNDED,
    PAYMENT_FAILED,
    INVENTORY_LOW_STOCK,
)
WEBHOOK_EVENT_TYPES = EVENT_TYPES

# What members can be notified of (and set preferences for).
NOTIFICATION_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, WEBHOOK_ENDPOINT_DISABLED)

# Default preferences by role, used until a user saves their own for an event type.
# Owners and admins: money and stock problems by email too; staff: what they act on, in-app;
# viewers: nothing (they read the dashboard). Product events are the team's own edits: off.
_BOTH = {"in_app": True, "email": True}
_IN_APP = {"in_app": True, "email": False}
_MANAGER_DEFAULTS = {
    ORDER_CREATED: _BOTH,
    ORDER_PAID: _BOTH,
    PAYMENT_FAILED: _BOTH,
    INVENTORY_LOW_STOCK: _BOTH,
    ORDER_CANCELLED: _IN_APP,
    ORDER_REFUNDED: _IN_APP,
    WEBHOOK_ENDPOINT_DISABLED: _BOTH,
}
ROLE_DEFAULTS: dict[str, dict[str, dict[str, bool]]] = {
    "owner": _MANAGER_DEFAULTS,
    "admin": _MANAGER_DEFAULTS,
    "staff": {
        ORDER_CREATED: _IN_APP,
        ORDER_CANCELLED: _IN_APP,
        INVENTORY_LOW_STOCK: _IN_APP,
    },
    "viewer": {},
}
OFF = {"in_app": False, "email": False}


def role_default(role: str | None, event_type: str) -> dict[str, bool]:
    return dict(ROLE_DEFAULTS.get(role or "", {}).get(event_type, OFF))
