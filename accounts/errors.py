from config.api.errors import DomainError, RetryLater


class InvalidToken(DomainError):
    """A refresh token that is malformed, expired, forged, of the wrong type or already used."""

    code = "INVALID_TOKEN"
    status_code = 401
    default_message = "The token is invalid or expired."


class TwoFactorConflict(DomainError):
    """A 2FA step out of order: setup while on, confirm without setup, disable while off."""

    default_message = "Two-factor authentication is not in a state that allows this."


class EmailAlreadyVerified(DomainError):
    default_message = "This email address is already verified."


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


class AccountLocked(RetryLater):
    code = "ACCOUNT_LOCKED"
    default_message = "Too many failed logins. Try again later."
