"""The payment gateways a store can offer: one module each, one line each in REGISTRY."""

from .bank_transfer import BankTransfer
from .base import Gateway, PaymentStart
from .cod import CashOnDelivery
from .kashier import Kashier
from .moamalat import Moamalat
from .stripe import Stripe

REGISTRY: dict[str, Gateway] = {gateway.name: gateway for gateway in (
    CashOnDelivery(),
    BankTransfer(),
    Kashier(),
    Moamalat(),
    Stripe(),
)}


def gateway_get(name) -> Gateway | None:
    """The gateway called ``name``, or None."""
    return REGISTRY.get(name) if isinstance(name, str) else None


__all__ = ["REGISTRY", "Gateway", "PaymentStart", "gateway_get"]
