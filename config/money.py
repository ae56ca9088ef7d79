"""Money: Decimal in the database, a decimal string with the currency's places in JSON.

Rounding is half-up, here and nowhere else.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from rest_framework import serializers

MAX_DIGITS = 14
DECIMAL_PLACES = 3

# ISO 4217 minor units of the currencies a store may use.
CURRENCY_PLACES: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "EGP": 2, "SAR": 2, "AED": 2, "MAD": 2, "QAR": 2, "TRY": 2,
    "CAD": 2, "AUD": 2, "CHF": 2, "INR": 2, "CNY": 2,
    "LYD": 3, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3,
    "JPY": 0, "KRW": 0,
}
CURRENCY_CHOICES = sorted((code, code) for code in CURRENCY_PLACES)


def currency_places(currency: str) -> int:
    return CURRENCY_PLACES.get(currency, 2)


def money_fits(amount: Decimal, currency: str) -> bool:
    """True when a finite ``amount`` needs no more decimal places than the currency has (trailing zeros aside)."""
    return -Decimal(amount).normalize().as_tuple().exponent <= currency_places(currency)


def money_round(amount: Decimal, currency: str) -> Decimal:
    """Rounds half-up to the currency's minor unit."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-currency_places(currency)), rounding=ROUND_HALF_UP)


def money_str(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else str(money_round(amount, currency))


# The one form an amount is taken in (the contract's decimal strings): digits, then a point and places. No sign
# (so no "-0.00"), no exponent ("1e2"), no spaces, no "Infinity"; a JSON number is not a string at all.
DECIMAL_STRING = re.compile(r"[0-9]+(?:\.[0-9]+)?")
DECIMAL_STRING_MESSAGE = 'A decimal string such as "19.99": digits and places, no sign, exponent or JSON number.'


def decimal_string_parse(value) -> Decimal:
    """``value`` as a Decimal when it is a decimal string (DECIMAL_STRING); raises ValueError otherwise."""
    if not isinstance(value, str) or not DECIMAL_STRING.fullmatch(value):
        raise ValueError(DECIMAL_STRING_MESSAGE)
    return Decimal(value)


class MoneyField(serializers.DecimalField):
    """An amount, for every money input and output of the API.

    In: a decimal string (``decimal_string_parse``: a JSON number, an exponent or a sign → 400) with at most the
    store currency's places (more → 400; ``currency_places=False`` for an amount whose places the service checks,
    a coupon's value, or that need not fit, a price filter). Out: a decimal string with exactly the currency's
    places. The serializer's context carries the currency as ``currency`` (or a ``store``).
    """

    def __init__(self, *, currency_places: bool = True, **kwargs) -> None:
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal("0"))
        self.currency_places = currency_places
        super().__init__(**kwargs)

    def _currency(self) -> str:
        context = getattr(self, "context", {}) or {}
        if context.get("currency"):
            return context["currency"]
        store = context.get("store")
        return getattr(store, "currency", "USD")

    def to_internal_value(self, data):
        try:
            sent = decimal_string_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        value = super().to_internal_value(data)
        # DRF has already rounded ``value`` to the column's places: count the places the client sent.
        places = currency_places(self._currency())
        if self.currency_places and -sent.as_tuple().exponent > places:
            raise serializers.ValidationError(f"At most {places} decimal places for {self._currency()}.")
        return value

    def to_representation(self, value):
        return money_str(Decimal(value), self._currency())


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` as an integer of the currency's minor units, as gateways take it (19.99 USD → 1999, 1.500 LYD →
    1500), after rounding half-up to the currency's places."""
    return int(money_round(amount, currency).scaleb(currency_places(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    """The inverse of minor_units: 1999 USD → Decimal("19.99")."""
    return Decimal(int(units)).scaleb(-currency_places(currency))
