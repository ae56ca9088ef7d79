"""Accounts: registration, login with lockout and TOTP, JWT pairs, email verification, password reset."""

from dataclasses import dataclass
from urllib.parse import urlencode

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from pyotp.exceptions import OTPVerificationError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from auditlog.models import SecurityKind
from auditlog.security import record_security_event
from config.api.actor import request_ip
from config.api.errors import AlreadyExists, ValidationFailed
from config.api.middleware import current_request_var
from config.celery import task_publish_on_commit
from config.emails import email_enqueue

from .errors import EmailAlreadyVerified, InvalidCredentials, InvalidOtp, InvalidToken, OtpRequired, TwoFactorConflict
from .lockout import lockout_check, lockout_clear, lockout_failure_record
from .models import User
from .tokens import email_verification_token, uid_decode, uid_encode

INVALID_LINK = "The link is invalid or has expired."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


@dataclass(frozen=True)
class AuthResult:
    user: User
    access: str
    refresh: str


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str


# --- Registration, login, tokens -------------------------------------------------------------


def user_register(*, email: str, password: str, name: str) -> AuthResult:
    """Creates the account, queues its verification email (after commit) and logs it in.

    Raises ValidationFailed (400, details.password) for a password the validators refuse
    and AlreadyExists (409) when the email is taken, in any letter case.
    """
    user = User(email=User.objects.normalize_email(email), name=name.strip())
    _password_validate(password=password, user=user)
    if User.objects.filter(email=user.email).exists():
        raise _email_taken()
    user.set_password(password)  # the slow hash runs before the transaction takes any lock
    try:
        with transaction.atomic():
            user.save()
            email_verification_send(user=user)
            pair = _token_pair(user=user)
    except IntegrityError as exc:  # registered concurrently
        raise _email_taken() from exc
    return AuthResult(user=user, access=pair.access, refresh=pair.refresh)


def user_login(*, email: str, password: str, otp: str | None = None) -> AuthResult:
    """Checks the credentials (``user_authenticate``) and issues a token pair.

    Raises AccountLocked (429), InvalidCredentials (401), OtpRequired (401) and InvalidOtp (401).
    """
    user = user_authenticate(email=email, password=password, otp=otp)
    with transaction.atomic():
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, user)
        pair = _token_pair(user=user)
    return AuthResult(user=user, access=pair.access, refresh=pair.refresh)


def user_authenticate(*, email: str, password: str, otp: str | None = None) -> User:
    """The active user with this email and password (and TOTP code when 2FA is on): every
    password login (the API's and the admin's) goes through here, so the lock and 2FA hold for all.

    Raises AccountLocked (429) while the email is locked, InvalidCredentials (401),
    OtpRequired (401) and InvalidOtp (401); wrong passwords and wrong codes count
    towards the lock, a success clears the count.
    """
    email = User.objects.normalize_email(email)
    lockout_check(email=email)
    # authenticate() runs the hasher for unknown emails too: no timing hint that an account exists.
    # It runs outside any transaction, so a slow hash never holds a database lock.
    user = authenticate(email=email, password=password)
    if user is None:
        account_id = User.objects.filter(email=email).values_list("pk", flat=True).first()
        _failure_record(email=email, user_id=account_id, kind=SecurityKind.LOGIN_FAILED,
                        details={"account": account_id is not None})
        raise InvalidCredentials()
    _second_factor_check(user=user, otp=otp, during="login")
    lockout_clear(email=email)
    return user


def user_login_proven(*, user: User, otp: str | None = None) -> AuthResult:
    """Issues a token pair to ``user`` whose identity another method has proven (a social login: the provider
    vouched for them), with the rest of a password login: the email's lock, the TOTP code when 2FA is on (a wrong
    one counts towards the lock), an inactive account refused.

    Raises AccountLocked (429), InvalidCredentials (401: inactive), OtpRequired (401) and InvalidOtp (401).
    """
    user_proven_check(user=user, otp=otp)
    with transaction.atomic():
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, user)
        pair = _token_pair(user=user)
    return AuthResult(user=user, access=pair.access, refresh=pair.refresh)


def user_proven_check(*, user: User, otp: str | None = None) -> None:
    """What a password login checks besides the password, for a user another method has proven: the email's lock,
    an active account, the TOTP code when 2FA is on (a wrong one counts towards the lock; a success clears it).

    Raises AccountLocked (429), InvalidCredentials (401), OtpRequired (401) and InvalidOtp (401).
    """
    lockout_check(email=user.email)
    if not user.is_active:
        raise InvalidCredentials()
    _second_factor_check(user=user, otp=otp, during="social login")
    lockout_clear(email=user.email)


def _second_factor_check(*, user: User, otp: str | None, during: str) -> None:
    """Raises OtpRequired without a code and InvalidOtp (counted towards the lock, in the security log) for a wrong
    or replayed one, when the user has 2FA on."""
    if not user.two_factor_enabled:
        return
    if not otp:
        raise OtpRequired()
    if not _totp_accept(user=user, otp=otp):  # one conditional UPDATE: replays lose
        _failure_record(email=user.email, user_id=user.pk, kind=SecurityKind.TWO_FACTOR_FAILED,
                        details={"during": during})
        raise InvalidOtp()


@transaction.atomic
def token_refresh(*, refresh: str) -> TokenPair:
    """Exchanges a refresh token for a new pair; the old refresh token is dead afterwards.

    Raises InvalidToken (401) for a bad, expired, blacklisted or already used token, and for
    a token whose user is gone or inactive. Two concurrent uses of one token: one wins.
    """
    token = _refresh_token_parse(refresh)
    user = User.objects.filter(pk=token.payload.get(jwt_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None:
        raise InvalidToken()
    _refresh_token_kill(token)
    return _token_pair(user=user)


@transaction.atomic
def token_revoke(*, refresh: str) -> None:
    """Logs a refresh token out: it is blacklisted. Raises InvalidToken (401) if it is not a live one."""
    _refresh_token_kill(_refresh_token_parse(refresh))


def user_update(*, user: User, name: str | None = None) -> User:
    """Changes what a user may change about themselves: their name (the email is not offered)."""
    if name is not None:
        user.name = name.strip()
        user.save(update_fields=["name"])
    return user


@transaction.atomic
def user_email_claim(*, user: User) -> User:
    """Someone proved they own ``user``'s email, which the account never verified (a provider vouched for it at a
    social login): whoever chose the account's password never proved the address, so the password stops working and
    every refresh token is revoked, and the email counts as verified."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.set_unusable_password()
    user.email_verified = True
    user.save(update_fields=["password", "email_verified"])
    _refresh_tokens_revoke_all(user=user)
    return user


# --- Email verification -----------------------------------------------------------------------


def email_verification_send(*, user: User) -> None:
    """Queues the verification email (sent after the current transaction commits)."""
    link = _frontend_link("verify-email", uid=uid_encode(user.pk), token=email_verification_token.make_token(user))
    email_enqueue(template="verify_email", to=[user.email], context={"name": user.name, "link": link})


def email_verification_resend(*, user: User) -> None:
    """Sends a fresh verification link. Raises EmailAlreadyVerified (409)."""
    if user.email_verified:
        raise EmailAlreadyVerified()
    email_verification_send(user=user)


@transaction.atomic
def email_verify(*, uid: str, token: str) -> User:
    """Marks the email verified. The link works once: raises ValidationFailed (400, details.token) after."""
    user_id = uid_decode(uid)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None or not email_verification_token.check_token(user, token):
        raise ValidationFailed(INVALID_LINK, token=[INVALID_LINK])
    updated = User.objects.filter(pk=user.pk, email=user.email, email_verified=False).update(email_verified=True)
    if not updated:  # used by a concurrent request
        raise ValidationFailed(INVALID_LINK, token=[INVALID_LINK])
    user.email_verified = True
    return user


# --- Password reset ---------------------------------------------------------------------------


def password_reset_request(*, email: str) -> None:
    """Queues the reset email for ``email`` if it has an account; says nothing either way.

    The request only enqueues a task with the address: finding the account and rendering
    the email happen in the worker, so the answer takes the same time whether or not
    the account exists.
    """
    from .tasks import password_reset_email_send_task

    # the security log's event is written by the worker too (with the caller's address): no query here
    ip = request_ip(current_request_var.get())
    task_publish_on_commit(password_reset_email_send_task, User.objects.normalize_email(email), ip)


def password_reset_email_send(*, email: str, ip: str | None = None) -> bool:
    """Sends the reset link to the active account with this email; returns whether there was one. Records
    ``password_reset_requested`` either way (from ``ip``, the caller's address; the account when there is one)."""
    user = User.objects.filter(email=User.objects.normalize_email(email), is_active=True).first()
    record_security_event(SecurityKind.PASSWORD_RESET_REQUESTED, user_id=getattr(user, "pk", None), email=email,
                          ip=ip, details={"account": user is not None})
    if user is None or not user.has_usable_password():
        return False
    link = _frontend_link("reset-password", uid=uid_encode(user.pk), token=default_token_generator.make_token(user))
    email_enqueue(template="password_reset", to=[user.email], context={"name": user.name, "link": link})
    return True


def password_reset_confirm(*, uid: str, token: str, password: str) -> User:
    """Sets the new password, once per link; every refresh token of the user is revoked.

    Raises ValidationFailed (400) with details.token for a bad, expired or used link and
    details.password for a password the validators refuse (the link stays usable then).
    Clicking the link proves the inbox too, so the email becomes verified, and any
    login lock on the account is lifted.
    """
    user_id = uid_decode(uid)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationFailed(INVALID_LINK, token=[INVALID_LINK])
    _password_validate(password=password, user=user)
    user.set_password(password)  # the slow hash runs before the row lock
    with transaction.atomic():
        # Under the row lock the token is checked again: of two concurrent uses of one link the
        # second sees the new password hash, which invalidates the token.
        locked = User.objects.select_for_update().filter(pk=user.pk, is_active=True).first()
        if locked is None or not default_token_generator.check_token(locked, token):
            raise ValidationFailed(INVALID_LINK, token=[INVALID_LINK])
        locked.password = user.password
        locked.email_verified = True
        locked.save(update_fields=["password", "email_verified"])
        _refresh_tokens_revoke_all(user=locked)
        record_security_event(SecurityKind.PASSWORD_RESET_COMPLETED, user_id=locked.pk)
    lockout_clear(email=locked.email)
    return locked


# --- Two-factor authentication (TOTP, RFC 6238) -----------------------------------------------


@transaction.atomic
def totp_setup(*, user: User) -> TotpSetup:
    """Stores a new pending secret (2FA stays off until confirmed). Raises TwoFactorConflict when on."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.two_factor_enabled:
        raise TwoFactorConflict("Two-factor authentication is already on; disable it first.")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_counter = None
    user.save(update_fields=["totp_secret", "totp_last_counter"])
    issuer = getattr(settings, "TOTP_ISSUER", "Store")
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return TotpSetup(secret=secret, otpauth_uri=uri)


@transaction.atomic
def totp_confirm(*, user: User, otp: str) -> User:
    """Turns 2FA on with a code from the pending secret.

    Raises TwoFactorConflict (409) when already on or never set up, InvalidOtp (401).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.two_factor_enabled:
        raise TwoFactorConflict("Two-factor authentication is already on.")
    if not user.totp_secret:
        raise TwoFactorConflict("Start with 2fa/setup.")
    if not _totp_accept(user=user, otp=otp):
        raise InvalidOtp()
    user.two_factor_enabled = True
    user.save(update_fields=["two_factor_enabled"])
    record_security_event(SecurityKind.TWO_FACTOR_ENABLED, user_id=user.pk)
    return user


def totp_disable(*, user: User, otp: str) -> User:
    """Turns 2FA off and forgets the secret. Raises AccountLocked (429) while the user's email is locked,
    TwoFactorConflict (409) when off and InvalidOtp (401); a wrong code counts towards the login lock, as at login,
    so a stolen access token cannot try codes here beyond LOGIN_MAX_FAILURES."""
    lockout_check(email=user.email)
    try:
        return _totp_disable(user=user, otp=otp)
    except InvalidOtp:
        # counted after the rollback: a cache kept in the database (no REDIS_URL) would roll the count back too
        _failure_record(email=user.email, user_id=user.pk, kind=SecurityKind.TWO_FACTOR_FAILED,
                        details={"during": "disable"})
        raise


@transaction.atomic
def _totp_disable(*, user: User, otp: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.two_factor_enabled:
        raise TwoFactorConflict("Two-factor authentication is not on.")
    if not _totp_accept(user=user, otp=otp):
        raise InvalidOtp()
    return totp_reset(user=user, by="the user")


@transaction.atomic
def totp_reset(*, user: User, by: str = "platform staff") -> User:
    """Turns 2FA off without a code (platform staff, for a user who lost their device); recorded as
    ``2fa_disabled`` with who turned it off (``by``)."""
    user.two_factor_enabled = False
    user.totp_secret = ""
    user.totp_last_counter = None
    user.save(update_fields=["two_factor_enabled", "totp_secret", "totp_last_counter"])
    record_security_event(SecurityKind.TWO_FACTOR_DISABLED, user_id=user.pk, details={"by": by})
    return user


# --- Helpers ----------------------------------------------------------------------------------


def _failure_record(*, email: str, user_id: int | None, kind: str, details: dict) -> None:
    """A wrong password or code: counted towards the lock and written to the security log (``lockout`` too when
    this one locked the email). Outside any transaction that refused, so neither is rolled back."""
    locked = lockout_failure_record(email=email)
    record_security_event(kind, user_id=user_id, email=email, details=details)
    if locked:
        record_security_event(SecurityKind.LOCKOUT, user_id=user_id, email=email,
                              details={"seconds": settings.LOGIN_LOCKOUT_SECONDS})


def _password_validate(*, password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed("The password is not strong enough.", password=list(exc.messages)) from exc


def _email_taken() -> AlreadyExists:
    return AlreadyExists("An account with this email already exists.", email=["This email is already registered."])


def _frontend_link(route: str, **params: str) -> str:
    return f"{settings.FRONTEND_URL.rstrip('/')}/{route}?{urlencode(params)}"


def _token_pair(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)  # recorded as outstanding, so it can be blacklisted
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _refresh_token_parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)  # signature, expiry, type and blacklist
    except TokenError as exc:
        raise InvalidToken() from exc


def _refresh_token_kill(token: RefreshToken) -> None:
    """Blacklists the token; the unique blacklist row makes a second, concurrent use fail."""
    outstanding, _ = token.outstand()
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as exc:
        raise InvalidToken() from exc


def _refresh_tokens_revoke_all(*, user: User) -> None:
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)


def _totp_step(*, secret: str, otp: str) -> int | None:
    """The time step ``otp`` belongs to (the current one or one either side), or None."""
    code = (otp or "").replace(" ", "")
    if not (code.isdigit() and len(code) == 6) or not secret:
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, valid_window=1)
    except OTPVerificationError:
        return None


def _totp_accept(*, user: User, otp: str) -> bool:
    """Whether ``otp`` is valid for the user's secret and newer than the last code used (no replays)."""
    step = _totp_step(secret=user.totp_secret, otp=otp)
    if step is None:
        return False
    updated = (
        User.objects.filter(pk=user.pk)
        .filter(Q(totp_last_counter__isnull=True) | Q(totp_last_counter__lt=step))
        .update(totp_last_counter=step)
    )
    if updated:
        user.totp_last_counter = step
    return bool(updated)
