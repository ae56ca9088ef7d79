"""Shipping methods: a store's flat prices, free above a subtotal, switched on and off."""

from typing import Any

from django.db import transaction

from config.api.errors import ValidationFailed

from ..events import audit
from ..models import ShippingMethod
from .coupons import money_places_check

SHIPPING_METHOD_FIELDS = ("name", "price", "free_above", "is_active", "position")


def shipping_method_check(*, store, shipping_method: ShippingMethod | None = None, **values: Any) -> dict[str, Any]:
    """The rules of a shipping method (new, or changed), without writing; answers the cleaned values.
    Raises ValidationFailed (400, per field)."""
    unknown = set(values) - set(SHIPPING_METHOD_FIELDS)
    if unknown:
        raise ValueError(f"shipping methods do not have {sorted(unknown)}")
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
    errors: dict[str, list[str]] = {}
    if shipping_method is None or "name" in values:
        name = values.get("name") or ""
        if not name or len(name) > 120:
            errors["name"] = ["Between 1 and 120 characters."]
    if shipping_method is None or "price" in values:
        money_places_check(values.get("price"), currency=store.currency, field_name="price", errors=errors,
                           allow_none=False)
    if "free_above" in values:
        money_places_check(values["free_above"], currency=store.currency, field_name="free_above", errors=errors)
    position = values.get("position", 0)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 2**31 - 1:
        errors["position"] = ["A whole number of at least 0."]
    if errors:
        raise ValidationFailed("Invalid shipping method.", **errors)
    return values


@transaction.atomic
def shipping_method_create(*, store, actor=None, **values: Any) -> ShippingMethod:
    """Creates a shipping method and records ``shipping_method.created``. Raises ValidationFailed (400)."""
    values = shipping_method_check(store=store, **values)
    method = ShippingMethod.objects.create(store=store, **values)
    audit(store=store, actor=actor, action="shipping_method.created", target=method,
          changes={name: getattr(method, name) for name in SHIPPING_METHOD_FIELDS})
    return method


@transaction.atomic
def shipping_method_update(*, shipping_method: ShippingMethod, actor=None, **values: Any) -> ShippingMethod:
    """Changes a shipping method and records ``shipping_method.updated`` with each change (nothing changed writes
    nothing); placed orders keep the name and price they were charged. Raises ValidationFailed (400)."""
    method = ShippingMethod.objects.select_for_update(of=("self",)).select_related("store").get(pk=shipping_method.pk)
    values = shipping_method_check(store=method.store, shipping_method=method, **values)
    changes = {name: [getattr(method, name), value] for name, value in values.items()
               if getattr(method, name) != value}
    if not changes:
        return method
    for name in changes:
        setattr(method, name, values[name])
    method.save(update_fields=list(changes))
    audit(store=method.store, actor=actor, action="shipping_method.updated", target=method, changes=changes)
    return method


@transaction.atomic
def shipping_method_delete(*, shipping_method: ShippingMethod, actor=None) -> None:
    """Deletes a shipping method and records ``shipping_method.deleted``; placed orders keep its name."""
    audit(store=shipping_method.store, actor=actor, action="shipping_method.deleted", target=shipping_method,
          changes={"name": shipping_method.name})
    shipping_method.delete()
