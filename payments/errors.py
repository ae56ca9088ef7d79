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


class PaymentNotRefundable(DomainError):
    """A refund of a payment that was never paid (pending, failed, cancelled), or whose gateway is gone."""

    code = "CONFLICT"
    default_message = "The payment cannot be refunded."


class RefundInFlight(DomainError):
    """A gateway reports a refund while more than one of ours on that payment is still on its way to the gateway
    (no reference yet): which it is cannot be told now; retried, it can (refund_from_gateway)."""

    code = "CONFLICT"
    default_message = "A refund of this payment is still being sent to its gateway; try again shortly."


class ReviewRefused(DomainError):
    """Approving or rejecting a held order that cannot go that way now (the stock for a held payment is gone, the
    order is paid): the message says why and what to do."""

    code = "CONFLICT"
    default_message = "The held order cannot go that way now."
