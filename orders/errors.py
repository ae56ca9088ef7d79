"""Orders' domain errors. Stock errors belong to catalog (the stock owner): OutOfStock (409 OUT_OF_STOCK)."""

from catalog.errors import OutOfStock
from config.api.errors import DomainError, InvalidTransition, NotFound, ValidationFailed

__all__ = ["AlreadyPaid", "DomainError", "OutOfStock", "InvalidTransition", "NotFound", "ValidationFailed"]


class AlreadyPaid(DomainError):
    """mark-paid on an order that is paid already."""

    code = "CONFLICT"
    default_message = "The order is already paid."
