from config.api.errors import DomainError


class BillingUnavailable(DomainError):
    """Stripe refused or could not be reached (402 PAYMENT_ERROR, a message safe to show: never Stripe's own text
    but a card's, never a key)."""

    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "Billing could not reach Stripe; try again in a moment."


class SubscriptionChangeInProgress(DomainError):
    """Another change of the store's subscription is talking to Stripe (409 CONFLICT): try again in a moment."""

    default_message = "Another change of this store's subscription is under way; try again in a moment."
