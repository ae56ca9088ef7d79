"""Orders' domain errors. Stock errors belong to catalog (the stock owner) and are re-exported here."""

from catalog.errors import OutOfStock
from config.api.errors import DomainError, InvalidTransition, NotFound, ValidationFailed

__all__ = ["DomainError", "InvalidTransition", "NotFound", "OutOfStock", "ValidationFailed", "AlreadyPaid"]


class AlreadyPaid(DomainError):
    """mark-paid on an order that is paid already (or can no longer be paid)."""

    code = "CONFLICT"
    default_message = "The order is already paid."
