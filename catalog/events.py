"""The catalog's calls into the audit log and the event fan-out (DESIGN.md "Events").

Both run inside the calling service's transaction: the audit row is rolled back
with it, and ``emit`` sends nothing before COMMIT.
"""

from auditlog.services import audit_record
from config.money import money_str
from notifications.services import emit
from stores.models import Store

from .cache import catalog_cache_invalidate
from .models import Product


def audit(*, store: Store, actor, action: str, target=None, changes: dict | None = None) -> None:
    audit_record(store=store, actor=actor, action=action, target=target, changes=changes)
    # every audited catalog write can change what the public sees
    catalog_cache_invalidate(store.pk)


def emit_event(event_type: str, *, store: Store, payload: dict, actor=None) -> None:
    emit(event_type, store, payload, actor=actor)


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
