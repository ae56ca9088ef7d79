"""The catalog's calls into the audit log and the event fan-out (DESIGN.md "Events").

Both run inside the calling service's transaction: the audit row is rolled back
with it, and ``emit`` sends nothing before COMMIT.
"""

from typing import Any

from auditlog.services import audit_record
from config.money import money_str
from notifications.services import emit
from stores.models import Store

from .cache import catalog_cache_invalidate
from .models import Product


def actor_or_none(user) -> Any:
    """The acting user, or None for anonymous callers (API keys are passed as themselves)."""
    if user is None:
        return None
    if hasattr(user, "is_authenticated") and not user.is_authenticated:
        return None
    return user


def audit(*, store: Store, actor, action: str, target=None, changes: dict | None = None) -> None:
    audit_record(store=store, actor=actor_or_none(actor), action=action, target=target, changes=changes)
    # every audited catalog write can change what the public sees
    catalog_cache_invalidate(store.pk)


def emit_event(event_type: str, *, store: Store, payload: dict, actor=None) -> None:
    emit(event_type, store, payload, actor=actor_or_none(actor))


def product_payload(product: Product) -> dict:
    return {
        "id": product.pk,
        "slug": product.slug,
        "name": product.name,
        "status": product.status,
        "price": money_str(product.price, product.store.currency),
        "currency": product.store.currency,
        "in_stock": product.in_stock,
        "category": product.category_id,
        "brand": product.brand,
        "store": product.store.slug,
    }
