"""Fraud checks before a card payment starts, and each store's limits for them.

Two kinds of check: velocity (failed payments from the same email, the same IP, the same card in a window) and an
amount ceiling. The limits are the store's (``FraudSetting``) over the platform's defaults (settings ``FRAUD_*``).
A hit refuses nobody: the caller places the order (or records the retry), holds the order for review with the
reason (``orders.services.order_hold``) and starts no charge; a member then approves or rejects it
(payments.services.review).
"""

from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from config.api.errors import ValidationFailed
from config.money import DECIMAL_PLACES, MAX_DIGITS, currency_places, money_fits, money_str
from orders.events import audit

from ..models import FraudSetting, Payment, PaymentStatus

# What a payment left unstarted by a hit says (the order's hold_reason says why).
NOT_STARTED = "Not started: the order is held for review."
# The buyer's other cards looked at by the card check (fingerprints of their recent failed payments).
MAX_CARDS_LOOKED_AT = 20


@dataclass(frozen=True)
class FraudLimits:
    """The limits in force for a store. A count limit of 0 is that check switched off; no ceiling: none."""

    window_minutes: int
    max_failed_per_email: int
    max_failed_per_ip: int
    max_failed_per_card: int
    amount_ceiling: Decimal | None = None


COUNT_FIELDS = ("max_failed_per_email", "max_failed_per_ip", "max_failed_per_card")
FRAUD_FIELDS = tuple(field.name for field in fields(FraudLimits))


def fraud_defaults() -> FraudLimits:
    """The platform's defaults (settings FRAUD_*): what a store gets for every limit it has not set."""
    return FraudLimits(window_minutes=settings.FRAUD_WINDOW_MINUTES,
                       max_failed_per_email=settings.FRAUD_MAX_FAILED_PER_EMAIL,
                       max_failed_per_ip=settings.FRAUD_MAX_FAILED_PER_IP,
                       max_failed_per_card=settings.FRAUD_MAX_FAILED_PER_CARD)


def fraud_setting_get(*, store) -> FraudSetting:
    """The store's row (unsaved and empty, i.e. every default, when it never set one)."""
    return FraudSetting.objects.filter(store=store).first() or FraudSetting(store=store)


def fraud_limits(*, store, setting: FraudSetting | None = None) -> FraudLimits:
    """The limits in force for ``store``: its own where it set them, the platform's defaults elsewhere."""
    setting = setting or fraud_setting_get(store=store)
    defaults = fraud_defaults()
    return FraudLimits(**{name: getattr(defaults, name) if getattr(setting, name) is None else getattr(setting, name)
                          for name in FRAUD_FIELDS})


def fraud_screen(*, store, amount: Decimal, currency: str, email: str = "", ip: str | None = None,
                 card_fingerprints: tuple[str, ...] | list[str] = ()) -> str | None:
    """Why a payment of ``amount`` by this buyer must be held for review, or None when it may start.

    In order: the amount ceiling; failed payments in the store's window from ``email`` (any case), from ``ip``; then
    with one card: ``card_fingerprints`` (the cards of the order's earlier payments) and the cards of the failed
    payments from that email or IP in the window. Reads only (three queries at most).
    """
    limits = fraud_limits(store=store)
    if limits.amount_ceiling is not None and amount > limits.amount_ceiling:
        return (f"Fraud check: the total {money_str(amount, currency)} {currency} is above the store's ceiling of "
                f"{money_str(limits.amount_ceiling, currency)} {currency}.")
    window = limits.window_minutes
    failed = Payment.objects.filter(store=store, status=PaymentStatus.FAILED,
                                    created_at__gte=timezone.now() - timedelta(minutes=window))
    email = (email or "").strip()
    buyer, aggregates = Q(), {}
    if email:
        buyer |= Q(email__iexact=email)
        aggregates["email"] = Count("pk", filter=Q(email__iexact=email))
    if ip:
        buyer |= Q(ip=ip)
        aggregates["ip"] = Count("pk", filter=Q(ip=ip))
    counts = {"email": 0, "ip": 0, **(failed.aggregate(**aggregates) if aggregates else {})}
    checks = [(limits.max_failed_per_email, counts["email"], f"from {email}"),
              (limits.max_failed_per_ip, counts["ip"], f"from the IP address {ip}")]
    for limit, count, who in checks:
        if limit and count >= limit:
            return _velocity_reason(count, who, window, limit)
    limit = limits.max_failed_per_card
    if not limit:
        return None
    cards = Q(card_fingerprint__in=[card for card in card_fingerprints if card])
    if aggregates:
        theirs = failed.filter(buyer).exclude(card_fingerprint="").values("card_fingerprint").distinct()
        cards |= Q(card_fingerprint__in=theirs.order_by()[:MAX_CARDS_LOOKED_AT])
    worst = (failed.filter(cards).exclude(card_fingerprint="").values("card_fingerprint")
             .annotate(count=Count("pk")).order_by("-count").first())
    if worst is not None and worst["count"] >= limit:
        return _velocity_reason(worst["count"], "with the same card", window, limit)
    return None


def _velocity_reason(count: int, who: str, window: int, limit: int) -> str:
    return f"Fraud check: {count} failed payments {who} in the last {window} minutes (limit {limit})."


# --- the store's limits ------------------------------------------------------------------------------------------
def fraud_setting_check(*, store, values: dict) -> dict:
    """The limits a store may set, cleaned (the API and the admin both call this): whole numbers (the window at least
    1 minute, a count 0 to switch its check off), an amount ceiling of the store currency's places, None for the
    platform default. Raises ValidationFailed (400) naming each bad field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for name, value in values.items():
        if name not in FRAUD_FIELDS:
            errors[name] = ["No such setting."]
        elif value is None:
            cleaned[name] = None
        elif name == "amount_ceiling":
            problem = _ceiling_problem(value, store.currency)
            if problem:
                errors[name] = [problem]
            else:
                cleaned[name] = Decimal(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            errors[name] = ["Must be a whole number, or null for the platform default."]
        elif value < (1 if name == "window_minutes" else 0) or value > 2**31 - 1:
            errors[name] = ["At least 1 minute." if name == "window_minutes" else "At least 0 (0 switches it off)."]
        else:
            cleaned[name] = value
    if errors:
        raise ValidationFailed("Invalid fraud settings.", **errors)
    return cleaned


def _ceiling_problem(value, currency: str) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        return "Must be an amount."
    if value < 0:
        return "Must not be negative."
    if not money_fits(value, currency):
        return f"At most {currency_places(currency)} decimal places for {currency}."
    if value.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        return "Too large."
    return ""


@transaction.atomic
def fraud_setting_update(*, store, actor=None, **values) -> FraudSetting:
    """Sets the limits ``values`` names for ``store`` (the others keep theirs; None: back to the platform default)
    and writes an audit row. Raises what fraud_setting_check raises; nothing changes then."""
    cleaned = fraud_setting_check(store=store, values=values)
    setting = FraudSetting.objects.select_for_update().filter(store=store).first()
    if setting is None:
        try:
            with transaction.atomic():  # a concurrent first update may insert the row before us
                setting = FraudSetting.objects.create(store=store)
        except IntegrityError:
            setting = FraudSetting.objects.select_for_update().get(store=store)
    changes = {name: [_plain(getattr(setting, name)), _plain(value)] for name, value in cleaned.items()
               if getattr(setting, name) != value}
    for name, value in cleaned.items():
        setattr(setting, name, value)
    setting.save()
    if changes:
        audit(store=store, actor=actor, action="fraud_setting.updated", target=setting, changes=changes)
    return setting


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value
