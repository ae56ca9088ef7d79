"""Social login: what allauth's provider flows end in here. allauth (headless) talks to the provider, finds or creates
the account (social.adapters) and, instead of a Django session, leaves the person it vouched for; this module turns
that into this API's JWT pair, through the same lock and second factor as a password login
(``accounts.services.user_login_proven``).

The redirect flow cannot carry tokens to the storefront in a URL: the browser comes back with a one-time code
(``login_code_issue``), valid SOCIAL_LOGIN_CODE_SECONDS, which the storefront exchanges once (``login_code_exchange``).
"""

import hashlib
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.errors import InvalidCredentials, InvalidOtp, InvalidToken, OtpRequired
from accounts.models import User
from accounts.services import AuthResult, user_login_proven, user_proven_check
from config.api.errors import AlreadyExists, DomainError, ValidationFailed

from .models import SocialAppSecret

# The reasons a provider's answer does not become a login: the redirect flow hands them to the storefront as
# ?error=<reason>, the token flow answers the error beside each.
EMAIL_REQUIRED = "email_required"  # the provider gave no email address
EMAIL_NOT_VERIFIED = "email_not_verified"  # an account has this email and the provider does not vouch for it
ACCOUNT_INACTIVE = "account_inactive"
INVALID_TOKEN = "invalid_token"

HANDOFF_SESSION_KEY = "social_login_user"


def handoff_record(session, *, user: User) -> None:
    """What a finished allauth login leaves in the session for ``complete`` (or the token flow) to pick up: who, and
    when."""
    session[HANDOFF_SESSION_KEY] = {"user": user.pk, "at": time.time()}


def handoff_take(session) -> int | None:
    """The user id a login left in the session, once, if it is fresh (SOCIAL_LOGIN_CODE_SECONDS): a browser that
    stopped before ``complete`` does not find the login there later."""
    entry = session.pop(HANDOFF_SESSION_KEY, None)
    if not isinstance(entry, dict) or time.time() - entry.get("at", 0) > settings.SOCIAL_LOGIN_CODE_SECONDS:
        return None
    return entry.get("user")
_CODE_PREFIX = "social:code:"


def refusal(reason: str) -> DomainError:
    """The API's error for a reason a social login was refused (the token flow's answer)."""
    if reason == EMAIL_REQUIRED:
        message = "The provider did not give an email address; allow it to share your email, or register."
        return ValidationFailed(message, email=[message])
    if reason == EMAIL_NOT_VERIFIED:
        message = ("An account with this email already exists and the provider does not say the email is verified: "
                   "log in with your password.")
        return AlreadyExists(message, email=[message], reason=reason)
    if reason == ACCOUNT_INACTIVE:
        return InvalidCredentials("This account is disabled.", reason=reason)
    return InvalidToken("The provider's token is invalid or expired.", reason=reason)


# --- The redirect flow's storefront address -----------------------------------------------------------------------


def callback_origins() -> set[str]:
    """The origins a social login may send the browser back to: SOCIAL_LOGIN_CALLBACK_ORIGINS, else FRONTEND_URL's
    and CORS_ALLOWED_ORIGINS'."""
    configured = settings.SOCIAL_LOGIN_CALLBACK_ORIGINS or [settings.FRONTEND_URL, *settings.CORS_ALLOWED_ORIGINS]
    return {_origin(url) for url in configured if _origin(url)}


def callback_url_check(url: str) -> str:
    """``url`` when it is an absolute http(s) URL on an allowed origin (no open redirect through a login); raises
    ValidationFailed (400, details.callback_url) otherwise."""
    if not url or len(url) > 2000 or _origin(url) not in callback_origins():
        message = "callback_url must be an absolute URL on one of the storefront origins this API allows."
        raise ValidationFailed(message, callback_url=[message])
    return url


def callback_url_with(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme not in {"http", "https"} or not parts.netloc or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}"


# --- The one-time code ------------------------------------------------------------------------------------------


def login_code_issue(*, user: User) -> str:
    """A one-time code for ``user`` that ``login_code_exchange`` turns into a token pair within
    SOCIAL_LOGIN_CODE_SECONDS. Only its hash is kept (in the shared cache)."""
    code = secrets.token_urlsafe(32)
    seconds = settings.SOCIAL_LOGIN_CODE_SECONDS
    cache.set(_code_key(code), {"user": user.pk, "until": time.time() + seconds}, timeout=seconds)
    return code


def login_code_exchange(*, code: str, otp: str | None = None) -> AuthResult:
    """The token pair for a one-time code, once; with 2FA on, the code waits (until it expires) for a call with the
    TOTP code, as a password login does.

    Raises InvalidToken (401) for an unknown, used or expired code, and what ``user_login_proven`` raises:
    AccountLocked (429), InvalidCredentials (401: the account was disabled meanwhile), OtpRequired, InvalidOtp (401).
    """
    return _code_use(code=code, otp=otp, then=lambda user: user_login_proven(user=user, otp=otp))


def token_login_answer(*, user: User, otp: str | None = None) -> AuthResult:
    """The token flow's answer for the user a provider's token stood for: the token pair, or, with 2FA on and no or a
    wrong TOTP code, the refusal with a one-time code (``details.code``) to send to the exchange with the TOTP code:
    the provider's token cannot be sent twice (allauth spends its jti)."""
    try:
        return user_login_proven(user=user, otp=otp)
    except OtpRequired as exc:
        raise OtpRequired(exc.message, code=login_code_issue(user=user)) from exc
    except InvalidOtp as exc:
        raise InvalidOtp(exc.message, code=login_code_issue(user=user)) from exc


def login_code_reauthenticate(*, user: User, code: str, otp: str | None = None) -> None:
    """A fresh social login's code as ``user``'s proof that it is them (deleting an account that has no password),
    used up; the lock and 2FA as at a login. Raises InvalidToken (401) unless it is a live code of theirs, and what
    ``user_proven_check`` raises."""
    _code_use(code=code, otp=otp, user=user, then=lambda found: user_proven_check(user=found, otp=otp))


def _code_use(*, code: str, otp: str | None, then, user: User | None = None):
    key = _code_key(code)
    entry = cache.get(key)
    if not isinstance(entry, dict) or not cache.delete(key):  # of two concurrent uses, one deletes it
        raise InvalidToken("The sign-in code is invalid, used or expired.")
    found = User.objects.filter(pk=entry["user"]).first()
    if found is None or (user is not None and found.pk != user.pk):
        raise InvalidToken("The sign-in code is invalid, used or expired.")
    try:
        return then(found)
    except (OtpRequired, InvalidOtp):
        remaining = int(entry["until"] - time.time())
        if remaining > 0:  # the same code again, with the TOTP code
            cache.set(key, entry, timeout=remaining)
        raise


def _code_key(code: str) -> str:
    return _CODE_PREFIX + hashlib.sha256((code or "").encode()).hexdigest()


# --- The client secrets of the providers configured in the admin -------------------------------------------------


@transaction.atomic
def app_secret_set(*, app, secret: str) -> None:
    """Stores a database-configured provider's (allauth SocialApp's) client secret encrypted (SocialAppSecret) and
    leaves allauth's plain column empty."""
    SocialAppSecret.objects.update_or_create(app=app, defaults={"secret": secret})
    if app.secret:
        type(app).objects.filter(pk=app.pk).update(secret="")
        app.secret = ""


def app_secret(app) -> str:
    """A database-configured provider's client secret: the encrypted one, else what allauth's column holds (a row
    written outside the admin since the migration that moved them)."""
    try:
        stored = app.encrypted_secret
    except SocialAppSecret.DoesNotExist:
        return app.secret
    return stored.secret or app.secret


def app_secrets_fill(apps) -> None:
    """Puts the decrypted client secret on each database-configured provider of ``apps`` (in memory only, for
    allauth to use), in one query; those configured in settings are left as they are."""
    stored_apps = {app.pk: app for app in apps if app.pk is not None}
    if not stored_apps:
        return
    for stored in SocialAppSecret.objects.filter(app_id__in=stored_apps).only("app_id", "secret"):
        if stored.secret:
            stored_apps[stored.app_id].secret = stored.secret


# --- What privacy needs ---------------------------------------------------------------------------------------


def social_accounts_of(*, user_id: int) -> list[dict]:
    """The providers linked to an account, for the person's data export: provider, the provider's id for them, when
    linked and last used. Never a token, never the provider's raw profile."""
    from allauth.socialaccount.models import SocialAccount

    return [{"provider": account.provider, "uid": account.uid, "linked_at": account.date_joined,
             "last_login": account.last_login}
            for account in SocialAccount.objects.filter(user_id=user_id).order_by("pk")]


@transaction.atomic
def social_accounts_erase(*, user_id: int) -> int:
    """Forgets every provider link of an account and what allauth kept with it (tokens, email addresses): the
    erased person's provider account no longer finds the old row, and a later social login starts a new account.
    Returns how many links went."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialToken

    SocialToken.objects.filter(account__user_id=user_id).delete()
    EmailAddress.objects.filter(user_id=user_id).delete()
    return SocialAccount.objects.filter(user_id=user_id).delete()[0]
