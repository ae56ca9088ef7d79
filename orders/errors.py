"""Orders' domain errors. Stock errors belong to catalog (the stock owner): OutOfStock (409 OUT_OF_STOCK)."""

from catalog.errors import OutOfStock
from config.api.errors import DomainError, InvalidTransition, NotFound, ValidationFailed

__all__ = ["AlreadyPaid", "DomainError", "GuestCheckoutOff", "OutOfStock", "InvalidTransition", "NotFound",
           "ValidationFailed"]


class AlreadyPaid(DomainError):
    """mark-paid on an order that is paid already."""

    code = "CONFLICT"
    default_message = "The order is already paid."


class GuestCheckoutOff(DomainError):
    """A checkout without a signed-in buyer in a store that switched guest checkout off (features.registry)."""

    code = "AUTHENTICATION_REQUIRED"
    status_code = 401
    default_message = "This store takes orders from signed-in customers only: sign in (or register) to check out."
