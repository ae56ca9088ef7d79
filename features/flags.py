"""The one question every feature asks: ``is_enabled(name, store=None)``.

A flag is on for a store when the platform has it on (its row, else the registry's default) and the store has not
switched it off (its row, else the same default). The platform's off is a kill switch: a store cannot switch on what
the platform switched off. A platform-only flag (``social_login``) has the platform's answer alone, and so has any
flag asked without a store.

What a plan includes (``plans.services.plan_feature_check``: export jobs, a custom email sender) is another question
with another answer (403 PLAN_LIMIT_REACHED, "upgrade"); a switched-off feature does not exist for the store (404,
its fields absent). A feature may be both: it asks this function first.

Cheap on hot paths: each process keeps a scope's switches (the platform's, a store's) for ``LOCAL_SECONDS``, and
all processes share them in the cache for ``SHARED_SECONDS``; a miss of both is one query for the platform and the
store together. ``flags_cache_invalidate`` (called by features.services on every change, at once and after COMMIT)
drops the shared copy and this process's; other processes see a change within ``LOCAL_SECONDS``.

This module sits below accounts (pyproject's import-linter contract): any app may ask, accounts included.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q

from .models import FeatureFlag
from .registry import FLAGS, flag_get

logger = logging.getLogger(__name__)

PLATFORM = None  # the platform's scope key
LOCAL_MAX = 10_000  # scopes a process keeps before starting over


def local_seconds() -> float:
    return float(getattr(settings, "FEATURE_FLAGS_LOCAL_SECONDS", 5))


def shared_seconds() -> int:
    return int(getattr(settings, "FEATURE_FLAGS_SHARED_SECONDS", 60))


# scope (None: the platform, else a store id) -> (trusted until, {name: enabled} of its rows)
_local: dict[int | None, tuple[float, dict[str, bool]]] = {}


def _key(scope: int | None) -> str:
    return f"features:{'platform' if scope is None else scope}"


def flags_cache_forget() -> None:
    """Drops this process's copies and the marks of what this thread's transaction wrote (tests, between tests)."""
    _local.clear()
    _written().clear()


def _written() -> set:
    """The scopes written in the open transaction of this thread's connection (features.services marks them):
    read back before COMMIT, their rows may still roll back, so they are not cached."""
    if not hasattr(connection, "_features_written"):
        connection._features_written = set()
    return connection._features_written


def flags_cache_invalidate(store_id: int | None = None) -> None:
    """A scope's switches changed (``store_id`` None: the platform's): drop the shared copy and this process's.
    Inside a transaction the scope is not cached again until it ends (features.services calls this again after
    COMMIT). Never raises (a cache outage must not fail the write; the shared copy expires on its own)."""
    _local.pop(store_id, None)
    if connection.in_atomic_block:
        _written().add(store_id)
    try:
        cache.delete(_key(store_id))
    except Exception:
        logger.warning("features: could not drop the cached flags of %s", _key(store_id), exc_info=True)


def _switches(scopes: tuple[int | None, ...]) -> dict[int | None, dict[str, bool]]:
    """Each scope's rows as {name: enabled}: from this process, else the shared cache, else one query for all the
    scopes missing."""
    now = time.monotonic()
    found: dict[int | None, dict[str, bool]] = {}
    missing = []
    for scope in scopes:
        hit = _local.get(scope)
        if hit is not None and hit[0] > now:
            found[scope] = hit[1]
        else:
            missing.append(scope)
    if not missing:
        return found
    try:
        shared = cache.get_many([_key(scope) for scope in missing])
    except Exception:  # the cache is down: ask the database
        shared = {}
    unread = [scope for scope in missing if _key(scope) not in shared]
    written = _written()
    if written and not connection.in_atomic_block:
        written.clear()  # the transaction that wrote them has ended (committed: invalidated again; rolled back)
    uncommitted = {scope for scope in unread if scope in written}
    if unread:
        ids = [scope for scope in unread if scope is not None]
        where = Q(store_id__in=ids) if ids else Q(pk__in=[])
        if PLATFORM in unread:
            where |= Q(store__isnull=True)
        read: dict[int | None, dict[str, bool]] = {scope: {} for scope in unread}
        for store_id, name, enabled in FeatureFlag.objects.filter(where).values_list("store_id", "name", "enabled"):
            read[store_id][name] = enabled
        shared.update({_key(scope): values for scope, values in read.items()})
        kept = {_key(scope): values for scope, values in read.items() if scope not in uncommitted}
        try:
            if kept:
                cache.set_many(kept, timeout=shared_seconds())
        except Exception:
            pass
    if len(_local) > LOCAL_MAX:
        _local.clear()
    until = now + local_seconds()
    for scope in missing:
        values = shared[_key(scope)]
        if scope not in uncommitted:
            _local[scope] = (until, values)
        found[scope] = values
    return found


def flags_preload(store_ids) -> None:
    """Reads the switches of these stores and the platform's at once (one cache round trip, at most one query):
    a page that asks for many stores (the admin's list) asks once."""
    _switches((PLATFORM, *dict.fromkeys(store_ids)))


def _store_id(store) -> int | None:
    if store is None or isinstance(store, int):
        return store
    return store.pk


def is_enabled(name: str, store=None) -> bool:
    """Whether feature ``name`` (features.registry) is on for ``store`` (a Store or its id; None: the platform).
    An unknown name raises ValueError."""
    flag = flag_get(name)
    store_id = _store_id(store)
    if store_id is None or flag.platform_only:
        return _switches((PLATFORM,))[PLATFORM].get(name, flag.default)
    switches = _switches((PLATFORM, store_id))
    if not switches[PLATFORM].get(name, flag.default):
        return False
    return switches[store_id].get(name, flag.default)


def flags_for(store=None) -> dict[str, bool]:
    """Every known flag's answer for ``store`` (None: the platform's), in the registry's order."""
    store_id = _store_id(store)
    switches = _switches((PLATFORM,) if store_id is None else (PLATFORM, store_id))
    answers = {}
    for flag in FLAGS:
        on = switches[PLATFORM].get(flag.name, flag.default)
        if on and store_id is not None and not flag.platform_only:
            on = switches[store_id].get(flag.name, flag.default)
        answers[flag.name] = on
    return answers


def stores_enabled_q(name: str, store_field: str = "store") -> Q:
    """A filter on ``store_field`` keeping the rows of stores where ``name`` is on (the admin's lists); the
    stores' rows are read in a subquery, not cached."""
    flag = flag_get(name)
    if not is_enabled(name):
        return Q(pk__in=[])
    if flag.platform_only:
        return Q()
    differing = FeatureFlag.objects.filter(name=name, store__isnull=False, enabled=not flag.default)
    stores = differing.values("store_id")
    return ~Q(**{f"{store_field}__in": stores}) if flag.default else Q(**{f"{store_field}__in": stores})
