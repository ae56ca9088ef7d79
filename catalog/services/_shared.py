"""Helpers the catalog services share: change sets for the audit log, a product's "something changed", file cleanup."""

from typing import Any

from django.utils import timezone

from config.api.errors import ValidationFailed
from config.api.fields import json_text_problem

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


KEY_MAX_LENGTH = 100  # a variant option's or a product attribute's name ("size", "material")
TEXT_VALUE_MAX_LENGTH = 100  # a variant option's value ("M"), as the API's VariantInput takes it


def _key_value_check(*, field: str, mapping, text_values: bool, example: str) -> None:
    """The rules shared by a variant's ``options`` and a product's ``attributes``: a JSON object whose keys are
    names (not empty, at most KEY_MAX_LENGTH characters), with text values when ``text_values`` (at most
    TEXT_VALUE_MAX_LENGTH), and nothing PostgreSQL's jsonb refuses. Raises ValidationFailed on ``field``."""
    def refuse(message: str) -> None:
        raise ValidationFailed(message, **{field: [message]})

    if not isinstance(mapping, dict):
        refuse(f"An object of names and values, e.g. {example}.")
    for key, value in mapping.items():
        if not isinstance(key, str) or not key.strip():
            refuse("Every value needs a name: a key is empty.")
        if len(key) > KEY_MAX_LENGTH:
            refuse(f"The key {key[:20]!r}… is longer than {KEY_MAX_LENGTH} characters.")
        if text_values and not isinstance(value, str):
            refuse(f"The value of {key!r} is not text: values are text, e.g. {example}.")
        if text_values and len(value) > TEXT_VALUE_MAX_LENGTH:
            refuse(f"The value of {key!r} is longer than {TEXT_VALUE_MAX_LENGTH} characters.")
    if problem := json_text_problem(mapping):
        refuse(problem)


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
