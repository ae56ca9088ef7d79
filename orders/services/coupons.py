"""Coupons: the store's codes (case-insensitive), written here with their audit rows; the rules in one check."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from config.api.errors import AlreadyExists, ValidationFailed
from config.money import currency_places, money_fits

from ..events import audit
from ..models import Coupon, CouponKind

COUPON_FIELDS = ("code", "kind", "value", "min_subtotal", "starts_at", "ends_at", "usage_limit",
                 "usage_limit_per_customer", "is_active")
MAX_CODE_LENGTH = 40


def money_places_check(value, *, currency: str, field_name: str, errors: dict, allow_none: bool = True) -> None:
    """Adds an error for ``field_name`` unless ``value`` is a non-negative amount with the currency's places."""
    if value is None:
        if not allow_none:
            errors[field_name] = ["This field is required."]
        return
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        errors[field_name] = ["A decimal amount."]
        return
    if not amount.is_finite() or amount < 0:
        errors[field_name] = ["Zero or more."]
    elif not money_fits(amount, currency):
        errors[field_name] = [f"At most {currency_places(currency)} decimal places for {currency}."]
    elif amount >= Decimal(10) ** 11:
        errors[field_name] = ["Too large."]


def _is_percent(value) -> bool:
    try:
        percent = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return False
    return percent.is_finite() and 0 < percent <= 100 and -percent.normalize().as_tuple().exponent <= 2


def coupon_check(*, store, coupon: Coupon | None = None, **values: Any) -> dict[str, Any]:
    """The rules of a coupon (new, or ``coupon`` with ``values`` changed), without writing; answers the cleaned
    values. Raises ValidationFailed (400, per field) or AlreadyExists (409) for a code taken in any case."""
    unknown = set(values) - set(COUPON_FIELDS)
    if unknown:
        raise ValueError(f"coupons do not have {sorted(unknown)}")
    if "code" in values:
        values["code"] = (values["code"] or "").strip()
    merged = {name: getattr(coupon, name) for name in COUPON_FIELDS} if coupon is not None else {
        "kind": CouponKind.PERCENT, "is_active": True}
    merged.update(values)
    errors: dict[str, list[str]] = {}
    code = merged.get("code") or ""
    if not code:
        errors["code"] = ["This field is required."]
    elif len(code) > MAX_CODE_LENGTH or any(char.isspace() for char in code):
        errors["code"] = [f"At most {MAX_CODE_LENGTH} characters, no spaces."]
    if merged.get("kind") not in CouponKind.values:
        errors["kind"] = [f"One of {', '.join(CouponKind.values)}."]
    value = merged.get("value")
    if merged.get("kind") == CouponKind.PERCENT:
        if not _is_percent(value):
            errors["value"] = ["A percent above 0 and at most 100 (two decimal places)."]
    else:
        money_places_check(value, currency=store.currency, field_name="value", errors=errors, allow_none=False)
        if "value" not in errors and Decimal(value) == 0:
            errors["value"] = ["More than zero."]
    money_places_check(merged.get("min_subtotal"), currency=store.currency, field_name="min_subtotal",
                       errors=errors)
    starts_at, ends_at = merged.get("starts_at"), merged.get("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = ["Must be after starts_at."]
    for name in ("usage_limit", "usage_limit_per_customer"):
        limit = merged.get(name)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 2**31 - 1):
            errors[name] = ["A whole number of at least 1."]
    if errors:
        raise ValidationFailed("Invalid coupon.", **errors)
    if "code" in values:
        taken = Coupon.objects.filter(store=store, code__iexact=code)
        if coupon is not None:
            taken = taken.exclude(pk=coupon.pk)
        if taken.exists():
            raise AlreadyExists(f"The coupon code {code!r} is already used in this store.",
                                code=["This code is already used in this store."])
    return values


def _plain(value) -> Any:
    """Dates in full ISO form (the audit log's encoder, which does the rest, would cut them to milliseconds)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


@transaction.atomic
def coupon_create(*, store, actor=None, **values: Any) -> Coupon:
    """Creates a coupon and records ``coupon.created``. Raises ValidationFailed (400) or AlreadyExists (409)."""
    values = coupon_check(store=store, **values)
    try:
        with transaction.atomic():
            coupon = Coupon.objects.create(store=store, **values)
    except IntegrityError:  # a concurrent create took the code between the check and the insert
        raise AlreadyExists("This code is already used in this store.",
                            code=["This code is already used in this store."]) from None
    audit(store=store, actor=actor, action="coupon.created", target=coupon,
          changes={name: _plain(getattr(coupon, name)) for name in COUPON_FIELDS})
    return coupon


@transaction.atomic
def coupon_update(*, coupon: Coupon, actor=None, **values: Any) -> Coupon:
    """Changes a coupon (never its used_count) and records ``coupon.updated`` with each change; nothing changed
    writes nothing. Raises ValidationFailed (400) or AlreadyExists (409)."""
    coupon = Coupon.objects.select_for_update(of=("self",)).select_related("store").get(pk=coupon.pk)
    values = coupon_check(store=coupon.store, coupon=coupon, **values)
    changes = {name: [_plain(getattr(coupon, name)), _plain(value)] for name, value in values.items()
               if getattr(coupon, name) != value}
    if not changes:
        return coupon
    for name in changes:
        setattr(coupon, name, values[name])
    try:
        with transaction.atomic():
            coupon.save(update_fields=list(changes))
    except IntegrityError:
        raise AlreadyExists("This code is already used in this store.",
                            code=["This code is already used in this store."]) from None
    audit(store=coupon.store, actor=actor, action="coupon.updated", target=coupon, changes=changes)
    return coupon


@transaction.atomic
def coupon_delete(*, coupon: Coupon, actor=None) -> None:
    """Deletes a coupon and records ``coupon.deleted``; orders keep its code, carts lose it."""
    audit(store=coupon.store, actor=actor, action="coupon.deleted", target=coupon,
          changes={"code": coupon.code})
    coupon.delete()
