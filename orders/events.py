"""Orders' calls into the audit log and the event fan-out (DESIGN.md "Events"), and the order payload.

Both run inside the calling service's transaction: the audit row is rolled back with it, and
``emit`` sends nothing before COMMIT.
"""

from datetime import timedelta

from auditlog.services import actor_describe, audit_record
from config.money import money_str
from notifications import events
from notifications.services import emit, members_notify
from plans.services import store_month, store_plan

from .models import Order, OrderLine


def actor_user(actor):
    """The User behind ``actor`` (None for API keys, anonymous callers and the system), as the audit log records it."""
    return actor_describe(actor)[0]


def actor_label(actor) -> str:
    """How an order event names who acted, as the audit log does (docs/ARCHITECTURE.md "Actor")."""
    return actor_describe(actor)[1]


def audit(*, store, actor, action: str, target=None, changes: dict | None = None) -> None:
    audit_record(store=store, actor=actor, action=action, target=target, changes=changes)


def emit_event(event_type: str, *, store, payload: dict, actor=None, order: Order | None = None,
               cart_id=None) -> None:
    """``order`` (and, at checkout, the placed cart's id) tags the event for the live stream: besides the store's
    members, the order's customer and the guest holding that cart see it (live.access)."""
    audience = None
    if order is not None:
        audience = {"order": order.pk, "customer": order.user_id, "cart": str(cart_id) if cart_id else None}
    emit(event_type, store, payload, actor=actor, audience=audience)


def order_payload(order: Order, lines: list[OrderLine] | None = None, **extra) -> dict:
    """What order events carry (templates/emails/order_*.html read these keys); money as strings."""
    currency = order.currency
    if lines is None:
        lines = list(order.lines.all())
    return {
        "id": order.pk,
        "number": order.number,
        "status": order.status,
        **extra,
        "payment_status": order.payment_status,
        "email": order.email,
        "customer_name": order.customer_name,
        "currency": currency,
        "subtotal": money_str(order.subtotal, currency),
        "discount": money_str(order.discount, currency),
        "shipping": money_str(order.shipping, currency),
        "tax": money_str(order.tax, currency),
        "total": money_str(order.total, currency),
        "lines": [
            {"sku": line.sku, "name": f"{line.product_name} {line.variant_name}".strip(),
             "quantity": line.quantity, "unit_price": money_str(line.unit_price, currency),
             "total": money_str(line.line_total, currency)}
            for line in lines
        ],
        "payment_method": order.payment_method,
        "store": order.store.slug,
    }


def plan_limit_notice(*, store, allowed: int, now) -> None:
    """Tells the store's owners and admins (in-app and email, their preferences permitting) that the order just
    placed used the plan's last order of the month: the next checkouts are refused (403 PLAN_LIMIT_REACHED) until
    the month ends or the plan grows. Once a month (the event id names it); in the checkout's transaction."""
    month = store_month(store, now)
    resets = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    plan = store_plan(store)
    members_notify(
        store=store,
        event_type=events.PLAN_LIMIT_REACHED,
        event_id=f"plan-orders-{store.pk}-{month:%Y-%m}",
        payload={
            "limit": "orders_per_month",
            "allowed": allowed,
            "plan": plan.name if plan else "",
            "month": f"{month:%Y-%m}",
            "resets": resets.isoformat(),
        },
    )
