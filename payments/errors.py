from config.api.errors import DomainError


class PaymentError(DomainError):
    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "The payment could not be processed."


class PaymentNotPending(DomainError):
    """mark-paid on a payment that is paid (or failed, or refunded) already."""

    code = "CONFLICT"
    default_message = "The payment is not pending."


class OrderHeld(DomainError):
    """A new payment for an order held for review: a member approves or rejects it first."""

    code = "CONFLICT"
    default_message = "The order is held for review."


class OrderNotAwaitingPayment(DomainError):
    """A new payment for an order that is paid, being paid, or no longer pending (409 CONFLICT)."""

    code = "CONFLICT"
    default_message = "The order is not waiting for a payment."
