from config.api.errors import DomainError


class PaymentError(DomainError):
    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "The payment could not be processed."
