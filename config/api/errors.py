"""Domain errors: each carries the contract's code and status (API.md "Conventions").

The base and the generic ones live here; an app's own errors live in its ``errors.py`` (accounts,
stores, teams, catalog, payments …) and extend ``DomainError``."""

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


class RetryLater(DomainError):
    """A 429 answered with Retry-After."""

    code = "RATE_LIMITED"
    status_code = 429
    default_message = "Too many requests."

    def __init__(self, message: str = "", *, retry_after: int, **details: Any) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, **details)


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    default_message = "The service is unavailable."
