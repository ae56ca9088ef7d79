"""Domain errors: each carries the contract's code and status (API.md "Conventions")."""

from typing import Any


class DomainError(Exception):
    code = "CONFLICT"
    status_code = 409
    default_message = "The request conflicts with the current state."

    def __init__(self, message: str = "", **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    status_code = 400
    default_message = "Invalid input."


class NotFound(DomainError):
    code = "NOT_FOUND"
    status_code = 404
    default_message = "Not found."


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    status_code = 403
    default_message = "You do not have permission to perform this action."


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"
    default_message = "It already exists."


class InvalidTransition(DomainError):
    code = "INVALID_TRANSITION"
    default_message = "That transition is not allowed."


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"
    default_message = "This Idempotency-Key was used with a different request."


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    status_code = 401
    default_message = "Email or password is incorrect."


class OtpRequired(DomainError):
    code = "OTP_REQUIRED"
    status_code = 401
    default_message = "A one-time password is required."


class InvalidOtp(DomainError):
    code = "INVALID_OTP"
    status_code = 401
    default_message = "The one-time password is invalid."


class RetryLater(DomainError):
    """A 429 answered with Retry-After."""

    code = "RATE_LIMITED"
    status_code = 429
    default_message = "Too many requests."

    def __init__(self, message: str = "", *, retry_after: int, **details: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, **details)


class AccountLocked(RetryLater):
    code = "ACCOUNT_LOCKED"
    default_message = "Too many failed logins. Try again later."


class PaymentError(DomainError):
    code = "PAYMENT_ERROR"
    status_code = 402
    default_message = "The payment could not be processed."


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    default_message = "The service is unavailable."
