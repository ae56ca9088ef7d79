"""Login lockout: failed attempts counted per normalized email in the cache (Redis when set).

After ``LOGIN_MAX_FAILURES`` failures (wrong password or wrong one-time password)
within ``LOGIN_FAILURE_WINDOW_SECONDS`` (default: ``LOGIN_LOCKOUT_SECONDS``) the
email is locked for ``LOGIN_LOCKOUT_SECONDS``. Unknown emails are counted the same
way, so a lock says nothing about whether an account exists.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from config import metrics

from .errors import AccountLocked


def _digest(email: str) -> str:
    # Raw addresses stay out of cache keys.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _failures_key(email: str) -> str:
    return f"login:failures:{_digest(email)}"


def _lock_key(email: str) -> str:
    return f"login:locked:{_digest(email)}"


def _window_seconds() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", settings.LOGIN_LOCKOUT_SECONDS))


def lockout_check(*, email: str) -> None:
    """Raises AccountLocked (429, Retry-After) while ``email`` is locked."""
    locked_until = cache.get(_lock_key(email))
    if locked_until is None:
        return
    remaining = locked_until - time.time()
    if remaining > 0:
        raise AccountLocked(retry_after=math.ceil(remaining))


def lockout_failure_record(*, email: str) -> bool:
    """Counts one failed attempt; locks the email when it reaches the limit. Returns whether it locked."""
    metrics.count(metrics.LOGIN_FAILURES)
    key = _failures_key(email)
    cache.add(key, 0, timeout=_window_seconds())
    try:
        failures = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=_window_seconds())
        failures = 1
    if failures < settings.LOGIN_MAX_FAILURES:
        return False
    lock_seconds = settings.LOGIN_LOCKOUT_SECONDS
    cache.set(_lock_key(email), time.time() + lock_seconds, timeout=lock_seconds)
    cache.delete(key)
    metrics.count(metrics.LOGIN_LOCKOUTS)
    return True


def lockout_clear(*, email: str) -> None:
    """Forgets failures and any lock (a successful login, a password reset)."""
    cache.delete_many([_failures_key(email), _lock_key(email)])
