from config.api.errors import DomainError


class PaymentError(DomainError):
    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "The payment could not be processed."


class PaymentNotPending(DomainError):
    """mark-paid on a payment that is paid (or failed, or refunded) already."""

    code = "CONFLICT"
    default_message = "The payment is not pending."
