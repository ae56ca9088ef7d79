"""Event types: what services emit, what endpoints subscribe to and members are notified of, and how
each is described to members (from its payload only: notifications knows no domain model)."""

import re
import string

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
# Internal: to the member who asked for an export (analytics), never a webhook.
EXPORT_READY = "export.ready"
# Internal: to owners and admins when the plan's monthly orders are used up (orders) or its billing changes
# (billing), never a webhook.
PLAN_LIMIT_REACHED = "plan.limit_reached"
BILLING_PAYMENT_FAILED = "billing.payment_failed"

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
NOTIFICATION_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, WEBHOOK_ENDPOINT_DISABLED, EXPORT_READY, PLAN_LIMIT_REACHED,
                                             BILLING_PAYMENT_FAILED)

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
    EXPORT_READY: _BOTH,
    PLAN_LIMIT_REACHED: _BOTH,
    BILLING_PAYMENT_FAILED: _BOTH,
}
ROLE_DEFAULTS: dict[str, dict[str, dict[str, bool]]] = {
    "owner": _MANAGER_DEFAULTS,
    "admin": _MANAGER_DEFAULTS,
    "staff": {
        ORDER_CREATED: _IN_APP,
        ORDER_CANCELLED: _IN_APP,
        INVENTORY_LOW_STOCK: _IN_APP,
        EXPORT_READY: _BOTH,
    },
    # an export goes only to the member who asked for it, whatever their role
    "viewer": {EXPORT_READY: _BOTH},
}
OFF = {"in_app": False, "email": False}


def role_default(role: str | None, event_type: str) -> dict[str, bool]:
    return dict(ROLE_DEFAULTS.get(role or "", {}).get(event_type, OFF))


# How members are told of each event (in-app title and body, the generic email): str.format fields
# read the event's payload. "{a|b}" is the first of a, b the payload holds (not None or empty),
# "{a|'text'}" falls back to the text; a field nothing fills is empty. An app adding an event adds its
# line here; nothing else in notifications knows what the payload means.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    ORDER_CREATED: ("New order #{number|order_number|id}",
                    "{email|'A customer'} placed order #{number|order_number|id} ({total} {currency})."),
    ORDER_PAID: ("Order #{number|order_number|id} paid",
                 "Order #{number|order_number|id} was paid ({total} {currency})."),
    ORDER_STATUS_CHANGED: ("Order #{number|order_number|id} is {status|'updated'}",
                           "Order #{number|order_number|id} moved from {previous_status|'?'} to {status|'?'}."),
    ORDER_CANCELLED: ("Order #{number|order_number|id} cancelled", "Order #{number|order_number|id} was cancelled."),
    ORDER_REFUNDED: ("Order #{number|order_number|id} refunded",
                     "Order #{number|order_number|id} was refunded ({amount|total} {currency})."),
    PAYMENT_FAILED: ("Payment failed for order #{number|order_number|id}",
                     "A {gateway} payment for order #{number|order_number|id} failed: {reason|'no reason given'}"),
    INVENTORY_LOW_STOCK: ("Low stock: {name|product_name|sku}",
                          "{name|product_name|sku} ({sku}) has {available|'?'} left (threshold {threshold|'?'})."),
    PRODUCT_PUBLISHED: ("Product published: {name|product_name|sku}", "{name|product_name|sku} was published."),
    PRODUCT_UPDATED: ("Product updated: {name|product_name|sku}", "{name|product_name|sku} was updated."),
    PRODUCT_ARCHIVED: ("Product archived: {name|product_name|sku}", "{name|product_name|sku} was archived."),
    EXPORT_READY: ("Your {type} export is ready",
                   "The {type} export ({rows|'0'} rows, {format}) is ready. Download it within 24 hours: {url}"),
    PLAN_LIMIT_REACHED: ("The store has used its {allowed} orders this month",
                         "The {plan|'current'} plan allows {allowed} orders a month and the store has placed them: "
                         "checkout refuses new orders until {resets|'next month'}. Upgrade the plan to keep selling."),
    BILLING_PAYMENT_FAILED: ("The plan's payment failed",
                             "Stripe could not take the {plan|'plan'}'s payment. The plan stays for "
                             "{grace_days|'a few'} days; update the card in the billing portal to keep it."),
    WEBHOOK_ENDPOINT_DISABLED: ("Webhook endpoint disabled",
                                "{url|'An endpoint'} was disabled after {failure_count|'?'} failed deliveries in a "
                                "row. Fix it, then re-enable it."),
}


class _PayloadFormatter(string.Formatter):
    def get_field(self, field_name, args, kwargs):
        for name in field_name.split("|"):
            if name.startswith("'") and name.endswith("'"):
                return name[1:-1], field_name
            value = kwargs.get(name)
            if value is not None and value != "":
                return value, field_name
        return "", field_name


_formatter = _PayloadFormatter()
_SPACE_BEFORE_PAREN = re.compile(r" +\)")  # "({total} {currency})" without a currency


def event_describe(event_type: str, payload: dict) -> tuple[str, str]:
    """A human title and body for an event (in-app notifications, generic emails), from its line in
    DESCRIPTIONS and its payload; an event without one is described by its type."""
    title, body = DESCRIPTIONS.get(event_type, (event_type, ""))
    title, body = (_SPACE_BEFORE_PAREN.sub(")", _formatter.vformat(text, (), payload)) for text in (title, body))
    return title, body
