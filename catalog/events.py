"""The catalog's calls into the audit log and the event fan-out (DESIGN.md "Events").

``audit`` writes in the caller's transaction; ``emit_after_commit`` hands the
event to notifications only once the transaction has committed, never on a
rollback.
"""

from functools import partial
from typing import Any

from django.db import transaction

from stores.models import Store

from .models import Product


def actor_or_none(user) -> Any:
    """The acting user, or None for anonymous callers and API keys."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def audit(*, store: Store, actor, action: str, target=None, changes: dict | None = None) -> None:
    try:
        from auditlog.services import audit_record
    except ImportError:  # the auditlog app's services are still being built; drop once they exist
        return
    audit_record(store=store, actor=actor_or_none(actor), action=action, target=target, changes=changes)


def emit_after_commit(event_type: str, *, store: Store, payload: dict, actor=None) -> None:
    try:
        from notifications.services import emit
    except ImportError:  # the notifications app's services are still being built; drop once they exist
        return
    transaction.on_commit(partial(emit, event_type, store, payload, actor=actor_or_none(actor)))


def product_payload(product: Product) -> dict:
    from config.money import money_str

    return {
        "id": product.pk,
        "slug": product.slug,
        "name": product.name,
        "status": product.status,
        "price": money_str(product.price, product.store.currency),
        "currency": product.store.currency,
        "in_stock": product.in_stock,
        "store": product.store.slug,
    }
