"""Throttles keyed in the cache (Redis when REDIS_URL is set), rates from THROTTLE_RATES.

What a rate means ("100/min"): at most 100 requests per caller in each window of a minute, the window
starting at the caller's first request after the last one ended, counted in the shared cache, so every
server process together allows no more (SharedBudget). A caller refused is told, in Retry-After, when
its window ends. Unlike DRF's own throttles (a list of every request's time, read and written back
whole on every request: two round trips and a list as long as the rate), a window is one number; and
each process takes its tokens from it a few at a time (a lease, about 2% of the rate), so most
requests are counted without a round trip at all. The price: tokens a process leased and did not use
are lost to the others until the window ends, so a caller spread over P processes may be refused up to
(P - 1) leases early; never late.

When the cache cannot be reached the throttles let requests through (fail open): a rate limit is a courtesy to
the shared servers, and refusing every request while Redis is down would take the whole API down with it. Each
such pass is logged and counted (``store_throttle_cache_errors_total``), as every refusal is
(``store_throttled_requests_total``). The login lockout, a guard against password guessing, fails the other way
(accounts/lockout.py: a login answers 503 while the cache is down).
"""

import logging
import math
import time

from django.core.cache import cache
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

from config import metrics
from config.cache import redis_client

from .actor import request_ip
from .exceptions import SERVICE_OUTAGES

logger = logging.getLogger(__name__)


# Called with (request=, view=, throttle=) on every refusal: the security log's (auditlog.security_reports, handed down
# at startup by AuditlogConfig.ready, since config knows no app) collapses them to one event per caller and window.
_refusal_hooks: list = []


def throttle_refusal_register(hook) -> None:
    """Adds ``hook`` to what every throttle refusal calls (once per hook)."""
    if hook not in _refusal_hooks:
        _refusal_hooks.append(hook)


def _refusal_tell(request, view, throttle) -> None:
    for hook in _refusal_hooks:
        try:
            hook(request=request, view=view, throttle=throttle)
        except Exception:  # a refusal stays a 429 whatever its record does
            logger.exception("throttle refusal hook %r failed", hook)


class Counted:
    """Counts refusals by scope (and tells the refusal hooks); lets the request through when the cache is
    unreachable."""

    def allow_request(self, request, view):
        try:
            allowed = super().allow_request(request, view)
        except SERVICE_OUTAGES as exc:
            logger.warning("throttle %s: the cache is unreachable, request let through: %s",
                           getattr(self, "scope", "?"), exc)
            metrics.count(metrics.THROTTLE_CACHE_ERRORS)
            return True
        if not allowed:
            metrics.count(metrics.THROTTLED, scope=getattr(self, "scope", None) or "unknown")
            _refusal_tell(request, view, self)
        return allowed


LEASE_SHARE = 50  # a lease is 1/50 of the rate (at least one token)
LOCAL_MAX = 10_000  # callers remembered per process; forgotten all at once beyond that

# Per process: cache key -> [limit, window end (time.time()), tokens left here]; tokens -1: the window is spent.
_leases: dict[str, list] = {}


def leases_forget() -> None:
    """Drops this process's leases (tests: a fresh cache must not meet tokens leased from the old one)."""
    _leases.clear()


def budget_take(key: str, limit: int, duration: int) -> tuple[bool, float]:
    """Takes one token from ``key``'s window of ``duration`` seconds, which holds ``limit`` tokens for
    every process together. Returns (allowed, seconds until the window ends)."""
    now = time.time()
    lease = _leases.get(key)
    if lease is not None and lease[0] == limit and lease[1] > now:
        if lease[2] > 0:
            lease[2] -= 1
            return True, lease[1] - now
        if lease[2] < 0:
            return False, lease[1] - now  # spent: no round trip for a caller being refused
    size = max(1, limit // LEASE_SHARE)
    try:
        used, end = _shared_take(f"{key}:budget", size, duration, now)
    except Exception as exc:  # the cache is down: a throttle must not fail the request
        logger.warning("throttle: the cache is unreachable, request let through: %s", exc)
        metrics.count(metrics.THROTTLE_CACHE_ERRORS)
        return True, 0.0
    granted = min(size, limit - (used - size))
    if len(_leases) >= LOCAL_MAX:
        _leases.clear()
    _leases[key] = [limit, end, granted - 1 if granted > 0 else -1]
    return granted > 0, end - now


def _shared_take(key: str, size: int, duration: int, now: float) -> tuple[int, float]:
    """Adds ``size`` to the window's count; returns the count after it and when the window ends."""
    client = redis_client()
    if client is not None:  # one round trip: start the window if there is none, count, read its end
        name = cache.make_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.set(name, 0, ex=duration, nx=True)
        pipe.incrby(name, size)
        pipe.pttl(name)
        _, used, ttl = pipe.execute()
        return used, now + (ttl if ttl > 0 else duration * 1000) / 1000
    # Any other cache (the database cache): a read, then a write, as DRF's own throttles did.
    entry = cache.get(key)
    if entry is None or entry[0] <= now:
        entry = (now + duration, 0)
    used = entry[1] + size
    cache.set(key, (entry[0], used), timeout=math.ceil(entry[0] - now) + 1)
    return used, entry[0]


class SharedBudget(SimpleRateThrottle):
    """num_requests per window of duration seconds per caller, shared by every process (module docstring).
    Last among a throttle's bases, so a ScopedRateThrottle still picks its scope's rate first."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed, self.remaining = budget_take(self.key, self.num_requests, self.duration)
        return allowed

    def wait(self):
        return max(1, math.ceil(getattr(self, "remaining", self.duration)))


class ClientAddress:
    """Counts an anonymous caller by the client address the fraud checks use (config.api.actor.request_ip):
    REMOTE_ADDR, or with NUM_PROXIES set the address the outermost proxy saw. DRF's own reading takes the whole
    X-Forwarded-For header when NUM_PROXIES is unset, so a client writing a new one each time was never limited."""

    def get_ident(self, request):
        return request_ip(request) or request.META.get("REMOTE_ADDR") or ""


class AnonThrottle(Counted, ClientAddress, AnonRateThrottle, SharedBudget):
    scope = "anon"

    def get_cache_key(self, request, view):
        if getattr(request, "api_key", None) is not None:
            return None  # a store's key is counted by UserThrottle, per key, not by client IP
        return super().get_cache_key(request, view)


class UserThrottle(Counted, ClientAddress, UserRateThrottle, SharedBudget):
    scope = "user"

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return self.cache_format % {"scope": self.scope, "ident": f"key-{api_key.pk}"}
        return super().get_cache_key(request, view)


class ScopedThrottle(Counted, ClientAddress, ScopedRateThrottle, SharedBudget):
    """Views set ``throttle_scope`` to one of auth, payments, uploads."""


class PaymentsThrottle(Counted, ClientAddress, SharedBudget):
    """The ``payments`` scope, counted only on requests that start a payment: the view's ``starts_payment(request)``
    says which (a checkout with a card gateway, POST payments). Per API key, per user, else per client IP."""

    scope = "payments"

    def allow_request(self, request, view):
        if not view.starts_payment(request):
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            ident = f"key-{api_key.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# For a view with ``throttle_scope`` set: the general limits plus its scope's.
SCOPED_THROTTLES = [AnonThrottle, UserThrottle, ScopedThrottle]
# For a view that starts payments (``starts_payment``): the general limits plus the payments scope's.
PAYMENT_THROTTLES = [AnonThrottle, UserThrottle, PaymentsThrottle]
