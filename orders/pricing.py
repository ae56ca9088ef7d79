"""The one totals function: carts, checkout and orders all price through ``price_cart``.

total = subtotal − discount + shipping + tax (tax not added again when the store's prices include it).
Every amount is rounded half-up to the currency's places by config.money.money_round, and only there.
Pure: no database access, so the caller loads the rows and counts a customer's coupon uses.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from config.money import money_round, money_str

from .models import Coupon, CouponKind, ShippingMethod

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class PricedLine:
    """A line to price: the unit price always comes from the catalog (variant.price), never from a client."""

    variant_id: int
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class LineTotals:
    variant_id: int
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    tax: Decimal  # this line's share of the order's tax; the lines' shares add up to Totals.tax


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    tax_included: bool
    coupon_error: str | None = None  # why the coupon does not apply (then discount is 0)
    lines: list[LineTotals] = field(default_factory=list)


def coupon_problem(*, coupon: Coupon, subtotal: Decimal, currency: str, now: datetime | None = None,
                   customer_uses: int = 0) -> str | None:
    """Why ``coupon`` cannot apply to a cart of ``subtotal`` now (a customer's message), or None."""
    now = now or timezone.now()
    if not coupon.is_active:
        return "This coupon is not active."
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "This coupon is not valid yet."
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "This coupon has expired."
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        return "This coupon has been used up."
    if coupon.usage_limit_per_customer is not None and customer_uses >= coupon.usage_limit_per_customer:
        return "You have already used this coupon."
    if coupon.min_subtotal is not None and subtotal < coupon.min_subtotal:
        return f"This coupon needs a subtotal of at least {money_str(coupon.min_subtotal, currency)} {currency}."
    return None


def price_cart(*, store, lines: list[PricedLine], coupon: Coupon | None = None,
               shipping_method: ShippingMethod | None = None, now: datetime | None = None,
               customer_uses: int = 0) -> Totals:
    """Totals of ``lines`` in ``store``: the coupon's discount (none, with coupon_error, when it does not
    apply), shipping (free above the method's threshold, never taxed) and the store's tax, inclusive or not.

    ``customer_uses`` is how many orders this customer already placed with the coupon (for its per-customer limit).
    """
    currency = store.currency
    rate = Decimal(store.tax_rate or 0)
    included = bool(store.prices_include_tax)
    line_totals = [money_round(line.unit_price * line.quantity, currency) for line in lines]
    subtotal = money_round(sum(line_totals, ZERO), currency)

    discount, coupon_error = ZERO, None
    if coupon is not None:
        coupon_error = coupon_problem(coupon=coupon, subtotal=subtotal, currency=currency, now=now,
                                      customer_uses=customer_uses)
        if coupon_error is None:
            discount = _discount(coupon=coupon, subtotal=subtotal, currency=currency)
    taxable = subtotal - discount

    shipping = ZERO
    if shipping_method is not None:
        free = shipping_method.free_above is not None and taxable >= shipping_method.free_above
        shipping = ZERO if free else money_round(shipping_method.price, currency)

    if included:
        tax = money_round(taxable * rate / (HUNDRED + rate), currency)
        total = taxable + shipping
    else:
        tax = money_round(taxable * rate / HUNDRED, currency)
        total = taxable + shipping + tax

    return Totals(subtotal=subtotal, discount=discount, shipping=money_round(shipping, currency), tax=tax,
                  total=money_round(total, currency), tax_included=included, coupon_error=coupon_error,
                  lines=_lines_with_tax(lines=lines, line_totals=line_totals, subtotal=subtotal, tax=tax,
                                        currency=currency))


def _discount(*, coupon: Coupon, subtotal: Decimal, currency: str) -> Decimal:
    if coupon.kind == CouponKind.PERCENT:
        amount = subtotal * min(Decimal(coupon.value), HUNDRED) / HUNDRED
    else:
        amount = Decimal(coupon.value)
    return money_round(min(max(amount, ZERO), subtotal), currency)


def _lines_with_tax(*, lines: list[PricedLine], line_totals: list[Decimal], subtotal: Decimal, tax: Decimal,
                    currency: str) -> list[LineTotals]:
    """Shares the order's tax among the lines by their totals; the last line takes the rounding remainder."""
    shares: list[Decimal] = []
    remaining = tax
    for index, line_total in enumerate(line_totals):
        if index == len(line_totals) - 1:
            share = remaining
        else:
            share = money_round(tax * line_total / subtotal, currency) if subtotal else ZERO
            share = min(share, remaining)
        shares.append(share)
        remaining -= share
    return [LineTotals(variant_id=line.variant_id, unit_price=line.unit_price, quantity=line.quantity,
                       line_total=line_total, tax=share)
            for line, line_total, share in zip(lines, line_totals, shares, strict=True)]
