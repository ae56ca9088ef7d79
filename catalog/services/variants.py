"""Variants of a product: skus unique per store, price, stock and options."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from config.api.errors import AlreadyExists, ValidationFailed
from config.money import currency_places, money_fits

from ..errors import ProductInUse
from ..models import Product, Variant
from ._shared import _changes, _key_value_check, _product_changed
from .stock import stock_opening_record, stock_set
from .summary import product_summary_refresh

VARIANT_FIELDS = ("sku", "name", "price", "compare_at_price", "options", "stock_quantity", "track_inventory",
                  "allow_backorder", "position")


def variant_sku_check(*, store_id: int, sku: str, exclude_pk: int | None = None) -> None:
    """Raises AlreadyExists (409) when another variant of the store has ``sku`` (give it stripped)."""
    if Variant.objects.filter(store_id=store_id, sku=sku).exclude(pk=exclude_pk).exists():
        raise AlreadyExists(f"The sku {sku!r} is already used in this store.", sku=sku)


def variant_prices_check(*, currency: str, values: dict[str, Any]) -> None:
    """Raises ValidationFailed (per field) for a ``price`` or ``compare_at_price`` in ``values`` with more
    decimal places than ``currency`` has (API.md "Money")."""
    message = f"At most {currency_places(currency)} decimal places for {currency}."
    wrong = {name: [message] for name in ("price", "compare_at_price")
             if values.get(name) is not None and not money_fits(values[name], currency)}
    if wrong:
        raise ValidationFailed(message, **wrong)


def variant_options_check(*, options) -> None:
    """A variant's ``options``: an object of text values named by non-empty keys ({"size": "M"}), each at most 100
    characters. Raises ValidationFailed (``options``)."""
    _key_value_check(field="options", mapping=options, text_values=True, example='{"size": "M", "color": "red"}')


def variant_stock_check(*, variant: Variant, values: dict[str, Any]) -> None:
    """The reserved floor: on-hand stock never below what open orders hold unless the variant takes
    backorders. Raises ValidationFailed (``stock_quantity``)."""
    stock = values.get("stock_quantity", variant.stock_quantity)
    backorder = values.get("allow_backorder", variant.allow_backorder)
    if stock is not None and stock < variant.reserved and not backorder:
        raise ValidationFailed("Stock cannot go below what open orders hold.",
                               stock_quantity=[f"At least {variant.reserved} units are reserved by open orders."])


def _variant_insert(*, product: Product, values: dict[str, Any], actor) -> Variant:
    """Inserts a variant (its opening stock recorded as a movement); the caller refreshes the summary."""
    unknown = set(values) - set(VARIANT_FIELDS)
    if unknown:
        raise ValueError(f"variants do not have {sorted(unknown)}")
    sku = values["sku"].strip()
    variant_sku_check(store_id=product.store_id, sku=sku)
    variant_prices_check(currency=product.store.currency, values=values)
    if "options" in values:
        variant_options_check(options=values["options"])
    values = {**values, "sku": sku}
    values.setdefault("options", {})
    try:
        with transaction.atomic():
            variant = Variant.objects.create(store_id=product.store_id, product=product, **values)
    except IntegrityError:
        raise AlreadyExists(f"The sku {sku!r} is already used in this store.", sku=sku) from None
    stock_opening_record(variant=variant, actor=actor)
    return variant


@transaction.atomic
def variant_create(*, product: Product, actor=None, **values: Any) -> Variant:
    """Adds a variant and refreshes the product's price and in_stock. Raises AlreadyExists for a taken sku."""
    variant = _variant_insert(product=product, values=values, actor=actor)
    product_summary_refresh(product_ids=[product.pk])
    _product_changed(product=product, actor=actor, changes={"variants": {"added": variant.sku}})
    return variant


def _variant_change(*, variant: Variant, values: dict[str, Any], actor) -> tuple[Variant, dict]:
    """Saves ``values`` on the variant under a row lock, the stock through stock_set; returns it with
    {field: [old, new]}. The caller refreshes the product summary."""
    unknown = set(values) - set(VARIANT_FIELDS)
    if unknown:
        raise ValueError(f"variant_update does not change {sorted(unknown)}")
    variant = Variant.objects.select_for_update(of=("self",)).select_related("product__store").get(pk=variant.pk)
    if "sku" in values:
        values["sku"] = values["sku"].strip()
        variant_sku_check(store_id=variant.store_id, sku=values["sku"], exclude_pk=variant.pk)
    variant_prices_check(currency=variant.product.store.currency, values=values)
    if "options" in values:
        variant_options_check(options=values["options"])
    variant_stock_check(variant=variant, values=values)
    changes = _changes(variant, values)
    if not changes:
        return variant, {}
    stock = values["stock_quantity"] if "stock_quantity" in changes else None
    fields = [field for field in values if field in changes and field != "stock_quantity"]
    # turning backorders off: the stock first, so that each step keeps the reserved-within-stock constraint
    stock_first = variant.allow_backorder and not values.get("allow_backorder", True)
    if stock is not None and stock_first:
        stock_set(variant=variant, quantity=stock, actor=actor, summary=False)
    if fields:
        for field in fields:
            setattr(variant, field, values[field])
        try:
            with transaction.atomic():
                variant.save(update_fields=[*fields, "updated_at"])
        except IntegrityError:
            raise AlreadyExists("The sku is already used in this store.", sku=variant.sku) from None
    if stock is not None and not stock_first:
        stock_set(variant=variant, quantity=stock, actor=actor, summary=False)
    if stock is not None:
        variant.refresh_from_db(fields=["stock_quantity", "reserved", "updated_at"])
    return variant, changes


@transaction.atomic
def variant_update(*, variant: Variant, actor=None, **values: Any) -> Variant:
    """Changes a variant (never ``reserved``, which belongs to orders); a new ``stock_quantity`` goes
    through stock_set and is recorded as an adjustment.

    Raises AlreadyExists for a taken sku and ValidationFailed when on-hand stock would drop below what is reserved.
    """
    variant, changes = _variant_change(variant=variant, values=values, actor=actor)
    if changes:
        product_summary_refresh(product_ids=[variant.product_id])
        _product_changed(product=variant.product, actor=actor, changes={"variant": {variant.sku: changes}})
    return variant


@transaction.atomic
def product_variants_apply(*, product: Product, new: list[dict], changed: list[tuple[Variant, dict]],
                           actor=None) -> tuple[int, int]:
    """Adds and changes many variants of one product: one summary refresh, one audit entry, one event.

    Returns (created, updated). Raises AlreadyExists and ValidationFailed as variant_create/variant_update do.
    """
    added, updated = [], {}
    position = product.variants.count()
    for values in new:
        values = {**values}
        values.setdefault("position", position)
        position += 1
        added.append(_variant_insert(product=product, values=values, actor=actor).sku)
    for variant, values in changed:
        variant, changes = _variant_change(variant=variant, values=dict(values), actor=actor)
        if changes:
            updated[variant.sku] = changes
    if added or updated:
        product_summary_refresh(product_ids=[product.pk])
        summary = {key: value for key, value in (("added", added), ("changed", updated)) if value}
        _product_changed(product=product, actor=actor, changes={"variants": summary})
    return len(added), len(updated)


@transaction.atomic
def variant_delete(*, variant: Variant, actor=None) -> None:
    """Deletes a variant and refreshes its product's price and in_stock.

    Raises ProductInUse (409) while open orders hold units of it (their release or sale needs the row).
    """
    product = variant.product
    held = Variant.objects.select_for_update().filter(pk=variant.pk).values_list("reserved", flat=True).first()
    if held:  # the row lock makes a checkout reserving it now wait, then find it gone
        raise ProductInUse(f"{held} units of {variant.sku} are held by open orders: archive the product, or "
                           "delete the variant once those orders are completed or cancelled.", reserved=held)
    try:
        with transaction.atomic():
            variant.delete()
    except ProtectedError:
        raise ProductInUse("The variant is referenced by orders.") from None
    product_summary_refresh(product_ids=[product.pk])
    _product_changed(product=product, actor=actor, changes={"variants": {"removed": variant.sku}})
