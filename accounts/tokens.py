"""One-time link tokens: email verification here; password reset uses Django's default generator."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Valid until the email is verified (or changes), then dead: the hash includes both.

    Unlike a password reset token it does not include last_login or the
    password, so logging in does not invalidate a pending verification link.
    """

    key_salt = "accounts.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.email_verified}{timestamp}"


email_verification_token = EmailVerificationTokenGenerator()


def uid_encode(pk: int) -> str:
    return urlsafe_base64_encode(force_bytes(pk))


def uid_decode(uid: str) -> int | None:
    """The user id in ``uid``, or None when it is not one of ours."""
    try:
        return int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
