"""The security log's one writer, ``record_security_event``, and what collapses its noisy sources (docs/SECURITY.md).

Recorder level (below accounts, like ``auditlog.services``): it takes plain values, never a request nor a domain
model, so accounts (logins, lockouts, 2FA, password resets), teams (API keys, permission denials), payments and
billing (forged webhook signatures) and the throttles (through the hook the reading side registers in
``config.api.throttles``) all call the same function. What is written: the kind, the store and the person it is
about, the API key, the client's address, user agent and request id (from the request being served), and a small
``details`` dict with no secret (redacted like audit ``changes``) and no email (a login's address is kept as
``email_hash`` only).

Two sources would write on every request if left alone, so each is collapsed before it reaches the table:

- an API key's addresses: a key used from an address it was used from before writes nothing; the pair is known to
  the process (``_known_addresses``, an hour) and to the shared cache (a day), so the known case costs no round trip
  at all in a warm process and one cache read otherwise; only a cache miss reads ``ApiKeyAddress`` (and moves its
  ``last_seen``, at most once a day per key and address);
- throttled bursts: one event per caller and throttle window (``throttle_burst_first``), however many requests the
  window refuses: a process remembers the windows it has seen, and ``cache.add`` lets one process of all record it.
"""

import math
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.api.actor import request_ip
from config.api.middleware import current_request_var, request_id_var
from config.erasure import scrub

from .models import ApiKeyAddress, SecurityDigest, SecurityEvent, SecurityKind
from .services import jsonable, redact

KINDS = frozenset(SecurityKind.values)
ADDRESS_CACHE_SECONDS = 24 * 3600  # a known (key, address) pair in the shared cache: last_seen moves once a day
ADDRESS_LOCAL_SECONDS = 3600  # and in this process
LOCAL_MAX = 10_000  # pairs or windows remembered per process; forgotten all at once beyond that
MAX_DETAIL_LENGTH = 200

# Per process: (api key id, address) → until when it is known; throttle key → end of the window already recorded.
_known_addresses: dict[tuple[int, str], float] = {}
_bursts: dict[str, float] = {}


def security_memo_forget() -> None:
    """Drops this process's memory of known addresses and recorded bursts (tests: a fresh cache and database)."""
    _known_addresses.clear()
    _bursts.clear()


def email_hash(email: str) -> str:
    """A keyed hash of the normalised address: equal for the same email, not readable back (SECRET_KEY keyed)."""
    normalised = (email or "").strip().lower()
    return salted_hmac("auditlog.security.email", normalised, algorithm="sha256").hexdigest() if normalised else ""


def record_security_event(kind: str, *, store_id: int | None = None, user_id: int | None = None,
                          api_key_id: int | None = None, email: str = "", ip: str | None = None,
                          details: dict | None = None) -> SecurityEvent:
    """Appends one event, now: in the caller's transaction if one is open, so a refusal records it after the
    transaction that refused has rolled back (as the lockout counts its failures). ``ip`` defaults to the address of
    the request being served (``request_ip``: NUM_PROXIES honoured), none outside a request; ``email`` is stored as
    its keyed hash; secrets in ``details`` are redacted and long strings cut. Raises ValueError for an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown security event kind: {kind!r}")
    request = current_request_var.get()
    meta = request.META if request is not None else {}
    return SecurityEvent.objects.create(
        kind=kind, store_id=store_id, user_id=user_id, api_key_id=api_key_id, email_hash=email_hash(email),
        ip=(ip if ip is not None else request_ip(request)) or None,
        user_agent=str(meta.get("HTTP_USER_AGENT", ""))[:512],
        request_id=(getattr(request, "request_id", "") or request_id_var.get())[:128],
        details=_short(redact(jsonable(details or {}))),
    )


def _short(value):
    if isinstance(value, dict):
        return {str(key)[:60]: _short(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_short(item) for item in value[:20]]
    if isinstance(value, str):
        return value[:MAX_DETAIL_LENGTH]
    return value


# --- API keys: use from a new address -----------------------------------------------------------------------------


def api_key_address_seen(*, api_key_id: int, store_id: int, ip: str | None) -> bool:
    """Notes that the key was used from ``ip``; records ``api_key_new_address`` (details ``first_use``: the key's
    first address ever) the first time the key is seen from it. Returns whether that happened. The known case writes
    nothing and, in a warm process, reads nothing (module docstring)."""
    if not ip:
        return False
    now = time.time()
    pair = (api_key_id, ip)
    if _known_addresses.get(pair, 0.0) > now:
        return False
    cache_key = f"security:key-address:{api_key_id}:{ip}"
    try:
        known = cache.get(cache_key) is not None
    except Exception:  # the cache is down: the table still answers, and the process remembers the answer
        known = False
    new = False
    if not known:
        new = _address_note(api_key_id=api_key_id, store_id=store_id, ip=ip)
        try:
            cache.set(cache_key, 1, timeout=ADDRESS_CACHE_SECONDS)
        except Exception:
            pass
    if len(_known_addresses) >= LOCAL_MAX:
        _known_addresses.clear()
    _known_addresses[pair] = now + ADDRESS_LOCAL_SECONDS
    return new


def _address_note(*, api_key_id: int, store_id: int, ip: str) -> bool:
    now = timezone.now()
    if ApiKeyAddress.objects.filter(api_key_id=api_key_id, ip=ip).update(last_seen=now):
        return False
    first_use = not ApiKeyAddress.objects.filter(api_key_id=api_key_id).exists()
    try:
        with transaction.atomic():
            ApiKeyAddress.objects.create(api_key_id=api_key_id, ip=ip, first_seen=now, last_seen=now)
    except IntegrityError:  # a concurrent request of the same key from the same address noted it first
        return False
    record_security_event(SecurityKind.API_KEY_NEW_ADDRESS, store_id=store_id, api_key_id=api_key_id, ip=ip,
                          details={"first_use": first_use})
    return True


# --- Throttled bursts -------------------------------------------------------------------------------------------------


def throttle_burst_first(*, key: str, seconds_left: float) -> bool:
    """True for the first refusal of the throttle window ``key`` (a throttle's cache key: scope and caller) in every
    process together; False for the rest of that window. The window ends ``seconds_left`` from now."""
    now = time.time()
    if _bursts.get(key, 0.0) > now:
        return False
    if len(_bursts) >= LOCAL_MAX:
        _bursts.clear()
    seconds = max(1, math.ceil(seconds_left))
    _bursts[key] = now + seconds
    try:
        return bool(cache.add(f"security:burst:{key}", 1, timeout=seconds))
    except Exception:  # the cache is down: this process records its first refusal of the window
        return True


# --- Retention and erasure (privacy.services: the retention list, an account's erasure) ------------------------------


PRUNE_BATCH = 5000


def security_events_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes events older than SECURITY_EVENT_RETENTION_DAYS (0: kept for ever) in batches, with the API keys'
    addresses not seen since and the daily summaries' records of those days; returns how many events (dry: would)."""
    days = settings.SECURITY_EVENT_RETENTION_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = SecurityEvent.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return expired.count()
    deleted = 0
    while ids := list(expired.order_by().values_list("pk", flat=True)[:PRUNE_BATCH]):
        deleted += SecurityEvent.objects.filter(pk__in=ids).delete()[0]
    ApiKeyAddress.objects.filter(last_seen__lt=cutoff).delete()
    SecurityDigest.objects.filter(day__lt=cutoff.date()).delete()
    return deleted


def security_person_erase(*, user_id: int | None, email: str = "") -> int:
    """A person's erasure: their events (by account, or by the hash of ``email`` for logins tried with it) keep
    what happened and when, without their address, user agent, email hash or any mention of ``email`` in
    ``details``. In the caller's transaction. Returns how many events changed."""
    mine = Q(email_hash=email_hash(email)) if email else Q(pk__in=[])
    if user_id is not None:
        mine |= Q(user_id=user_id)
    events = SecurityEvent.objects.filter(mine)
    changed = 0
    for pk, details in events.values_list("pk", "details"):
        changed += SecurityEvent.objects.filter(pk=pk).update(
            ip=None, user_agent="", email_hash="", details=scrub(details, texts=[email]) if email else details)
    return changed
