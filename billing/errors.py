from config.api.errors import DomainError


class BillingUnavailable(DomainError):
    """Stripe refused or could not be reached (402 PAYMENT_ERROR, a message safe to show: never Stripe's own text
    but a card's, never a key)."""

    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "Billing could not reach Stripe; try again in a moment."
