"""Helpers the catalog services share: change sets for the audit log, a product's "something changed", file cleanup."""

from typing import Any

from django.utils import timezone

from ..events import audit, emit_event, product_payload
from ..models import Product, ProductStatus


def _changes(instance, values: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the values that differ (the audit log stores decimals as strings, rows as pks)."""
    changes = {}
    for field, new in values.items():
        old = getattr(instance, field)
        if old != new:
            changes[field] = [old, new]
    return changes


def _product_changed(*, product: Product, actor, changes: dict) -> None:
    Product.objects.filter(pk=product.pk).update(updated_at=timezone.now())
    product.refresh_from_db()
    audit(store=product.store, actor=actor, action="product.updated", target=product, changes=changes)
    if product.status == ProductStatus.PUBLISHED:
        emit_event("product.updated", store=product.store, payload=product_payload(product), actor=actor)


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a stale file is harmless; a failed delete must not fail the request
            pass
