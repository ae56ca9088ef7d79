"""Team errors, each with the contract's code and status."""

from config.api.errors import DomainError, ValidationFailed


class LastOwner(DomainError):
    default_message = "A store must keep at least one owner."


class InvitationInvalid(ValidationFailed):
    default_message = "This invitation is invalid, expired or already used."
