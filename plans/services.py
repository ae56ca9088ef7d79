"""Plans: which plan a store is on, the limit and feature checks every creating service calls, the monthly order
quota checkout takes, and the one writer of plans and of a store's plan.

The checks live here, below every app that creates what a plan counts (teams, notifications, catalog, orders,
payments, analytics): each calls ``plan_limit_check`` (or ``plan_feature_check``) in its own service, inside its
transaction, so the API, the admin, the CSV importer, commands and tasks all meet the same rule. What a limit counts
is said once, by the app that owns the rows, with ``plan_usage_register`` from its AppConfig.ready (a lower app
does not know the higher ones' models). A downgrade never deletes: a store over a limit keeps what it has and is
refused only new creations.
"""

import time
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from auditlog.services import audit_record
from stores.models import Store

from .errors import PlanLimitReached
from .models import LIMITS, MonthlyOrders, Plan

# Plans are read on every checkout of a store whose plan may limit orders: a process keeps them this long (a
# superuser's edit is seen at once by the process that saved it, by the others within these seconds).
CACHE_SECONDS = 10.0
_cache: dict[object, tuple[float, Plan | None]] = {}

_counters: dict[str, Callable[[Store], int]] = {}


def plan_cache_forget() -> None:
    """Drops this process's copies of the plans (a plan saved here; the tests, between tests)."""
    _cache.clear()


def _cached(key: object, load: Callable[[], Plan | None]) -> Plan | None:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    plan = load()
    _cache[key] = (now + CACHE_SECONDS, plan)
    return plan


def plan_default() -> Plan | None:
    """The plan stores without one are on (settings.PLAN_DEFAULT, a plan code; None: unset or no such plan, and
    then such stores have no limits)."""
    code = settings.PLAN_DEFAULT
    if not code:
        return None
    return _cached(("code", code), lambda: Plan.objects.filter(code=code).first())


def store_plan(store: Store) -> Plan | None:
    """The plan ``store`` is on: its own, else the default plan. None: no limits at all."""
    if store.plan_id is None:
        return plan_default()
    return _cached(store.plan_id, lambda: Plan.objects.filter(pk=store.plan_id).first())


def plan_usage_register(limit: str, count: Callable[[Store], int]) -> None:
    """Called by the app that owns what ``limit`` counts, from its AppConfig.ready: ``count(store)`` → how many the
    store has now."""
    if limit not in LIMITS:
        raise ValueError(f"Unknown plan limit {limit!r}")
    _counters[limit] = count


def plan_usage(store: Store, limit: str) -> int:
    """How many of ``limit`` the store uses now (0 when no app counts it)."""
    count = _counters.get(limit)
    return count(store) if count is not None else 0


def store_usage(store: Store) -> dict[str, int]:
    """Every limit's count for ``store`` (the subscription's ``usage``); this month's orders as the quota counted
    them once it has (``order_quota_take``)."""
    usage = {limit: plan_usage(store, limit) for limit in LIMITS}
    counted = MonthlyOrders.objects.filter(store=store, month=store_month(store)).values_list("placed", flat=True)
    usage["orders_per_month"] = max(usage["orders_per_month"], counted.first() or 0)
    return usage


def plan_limit(store: Store, limit: str) -> int | None:
    """What the store's plan allows of ``limit`` (None: unlimited)."""
    plan = store_plan(store)
    return None if plan is None else plan.limit(limit)


def plan_limit_check(*, store: Store, limit: str, adding: int = 1, lock: bool = True, used: int | None = None) -> None:
    """Raises PlanLimitReached (403, details ``{limit, used, allowed}``) when adding ``adding`` more of ``limit``
    would take the store past its plan. Call it inside the creating service's transaction, before writing: with
    ``lock`` the store's row is locked first (PostgreSQL), so concurrent creations in one store are counted one
    after the other and cannot pass the limit together. ``used``: the count, when the caller has it (the importer
    counts once per file). An unlimited plan costs no query."""
    if limit not in LIMITS:
        raise ValueError(f"Unknown plan limit {limit!r}")
    plan = store_plan(store)
    allowed = None if plan is None else plan.limit(limit)
    if allowed is None:
        return
    if lock and transaction.get_connection().in_atomic_block:
        Store.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True).first()
    if used is None:
        used = plan_usage(store, limit)
    if used + adding > allowed:
        raise PlanLimitReached(
            f"The {plan.name} plan allows {allowed} {limit.replace('_', ' ')}; the store has {used}. "
            "Upgrade the plan to add more.",
            limit=limit,
            used=used,
            allowed=allowed,
            plan=plan.code,
        )


def plan_feature_check(*, store: Store, feature: str) -> None:
    """Raises PlanLimitReached (403, details ``{limit: feature, used: null, allowed: false}``) unless the store's
    plan includes ``feature`` (no plan: every feature)."""
    plan = store_plan(store)
    if plan is not None and not getattr(plan, feature):
        raise PlanLimitReached(
            f"The {plan.name} plan does not include {feature.replace('_', ' ')}. Upgrade the plan.",
            limit=feature,
            used=None,
            allowed=False,
            plan=plan.code,
        )


def plan_has_feature(store: Store, feature: str) -> bool:
    plan = store_plan(store)
    return plan is None or bool(getattr(plan, feature))


def plan_retention_days(store: Store) -> int | None:
    """How many days back the store's dashboard may read (None: no limit)."""
    plan = store_plan(store)
    return None if plan is None else plan.analytics_retention_days


# --- the monthly order quota ----------------------------------------------------------------------------------
def store_month(store: Store, now=None) -> date:
    """The first day of the store's current month (its time zone)."""
    return timezone.localtime(now or timezone.now(), store.zone).date().replace(day=1)


def order_quota_take(*, store: Store, now=None) -> tuple[int, int] | None:
    """Counts one more order placed this month for a store whose plan limits them, inside the checkout's
    transaction (a rolled-back checkout gives its place back). Returns (placed, allowed) after counting, or None
    when the plan does not limit orders (no statement then).

    One conditional UPDATE (``placed < allowed``): on PostgreSQL a concurrent checkout waits for the row and checks
    the count again once the first commits, so the store never places more than its limit. Raises
    PlanLimitReached (403) when the month's orders are used up; nothing is counted then."""
    plan = store_plan(store)
    allowed = None if plan is None else plan.orders_per_month
    if allowed is None:
        return None
    month = store_month(store, now)
    for _ in range(2):
        if MonthlyOrders.objects.filter(store=store, month=month, placed__lt=allowed).update(placed=F("placed") + 1):
            placed = MonthlyOrders.objects.filter(store=store, month=month).values_list("placed", flat=True).get()
            return placed, allowed
        if MonthlyOrders.objects.filter(store=store, month=month).exists():
            break
        # the month's first counted order (or the first since the plan limited orders): start from the orders the
        # store placed this month (none in a month to come)
        already = plan_usage(store, "orders_per_month") if month == store_month(store) else 0
        if already >= allowed:
            break
        try:
            with transaction.atomic():
                MonthlyOrders.objects.create(store=store, month=month, placed=already + 1)
            return already + 1, allowed
        except IntegrityError:  # a concurrent checkout created it first: count on its row
            continue
    used = MonthlyOrders.objects.filter(store=store, month=month).values_list("placed", flat=True).first()
    raise PlanLimitReached(
        f"This store has taken all the orders its plan allows this month ({allowed}).",
        limit="orders_per_month",
        used=allowed if used is None else used,
        allowed=allowed,
        plan=plan.code,
    )


# --- writing --------------------------------------------------------------------------------------------------
@transaction.atomic
def store_plan_set(*, store: Store, plan: Plan | None, actor=None, reason: str = "") -> Store:
    """Puts ``store`` on ``plan`` (None: back to the default plan) and records ``store.plan_changed``; nothing is
    deleted when the new plan's limits are lower (only new creations are refused). The same plan writes nothing."""
    plan_id = None if plan is None else plan.pk
    current = Store.objects.select_for_update().filter(pk=store.pk).values_list("plan_id", flat=True).get()
    if current == plan_id:
        store.plan_id = plan_id
        return store
    before = None if current is None else Plan.objects.filter(pk=current).values_list("code", flat=True).first()
    Store.objects.filter(pk=store.pk).update(plan_id=plan_id, updated_at=timezone.now())
    store.plan_id = plan_id
    audit_record(
        store=store,
        actor=actor,
        action="store.plan_changed",
        target=store,
        changes={"plan": [before, None if plan is None else plan.code], **({"reason": reason} if reason else {})},
    )
    return store
