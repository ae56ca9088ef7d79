"""The daily rollups: StoreDay and ProductDay rewritten from orders, payments and events.

Every write rewrites whole days from the source rows (``analytics.figures``), so running anything twice gives the
same rows. A store's days are written under its RollupState row lock, so the periodic job and
``manage.py rebuild_metrics`` never interleave on one store.

- ``metrics_rebuild(store=, since=)``: the store's days from ``since`` (default: its first order or event) to
  today, a month per transaction; without ``since`` it also records that the store's rollups are current.
- ``metrics_refresh()``: the periodic job. Rewrites every day with an order, refund or event that changed since
  its last run (today, for a store selling today; an old day when a late payment or refund lands on it), then
  moves every store's ``current_at`` on. A store never rolled up, or whose time zone changed, is rebuilt.

Event figures of days whose events were pruned (ANALYTICS_RETENTION_DAYS) are kept as they are: a rebuild
rewrites those days' order figures only.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from orders.models import Order
from payments.models import Refund
from stores.models import Store

from ..figures import EVENT_FIELDS, ORDER_FIELDS, DayFigures, days_figures, local_date, products_by_day
from ..models import Event, ProductDay, RollupState, StoreDay

logger = logging.getLogger(__name__)

# A change stamped (updated_at, received_at) this long before the job's run but committed after it is still seen
# by the next run: each run looks this much further back than the last one started.
OVERLAP = timedelta(minutes=5)
CHUNK_DAYS = 31
REFRESH_LOCK = "analytics:metrics-refresh"
REFRESH_LOCK_SECONDS = 30 * 60


def events_kept_from(*, store: Store, now: datetime | None = None) -> date:
    """The first of the store's days whose events are all still kept (the retention prune took none of them)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    return local_date(cutoff + OVERLAP, store.zone) + timedelta(days=1)


def rollup_live_from(*, store: Store) -> date | None:
    """The first of the store's days the rollups may not hold in full (the dashboard computes it and the later
    ones from the orders and events); None when they hold nothing to trust (never built, another time zone)."""
    state = RollupState.objects.filter(store_id=store.pk).values_list("timezone", "current_at").first()
    if state is None or state[1] is None or state[0] != store.timezone:
        return None
    return local_date(state[1] - OVERLAP, store.zone)


def _runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Sorted days as (first, last) runs of consecutive days, none longer than CHUNK_DAYS."""
    first = last = None
    for day in sorted(set(days)):
        if first is not None and day == last + timedelta(days=1) and (day - first).days < CHUNK_DAYS:
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def _state_locked(store: Store) -> RollupState:
    RollupState.objects.get_or_create(store_id=store.pk, defaults={"timezone": store.timezone})
    return RollupState.objects.select_for_update().get(store_id=store.pk)


@transaction.atomic
def metrics_days_refresh(*, store: Store, first: date, last: date) -> int:
    """Rewrites the store's StoreDay and ProductDay rows of the days first..last from the orders and events; a day
    with nothing (and no row yet) gets no row. Returns how many day rows it wrote."""
    _state_locked(store)
    now = timezone.now()
    figures = days_figures(store=store, first=first, last=last)
    kept_from = events_kept_from(store=store, now=now)
    existing = set(StoreDay.objects.filter(store=store, date__gte=first, date__lte=last)
                   .values_list("date", flat=True))
    whole, orders_only, empty = [], [], []
    day = first
    while day <= last:
        values = figures.get(day) or DayFigures()
        if day >= kept_from and values.is_empty():
            if day in existing:
                empty.append(day)  # nothing happened that day after all (its orders moved to another day)
        elif day in existing or not values.is_empty():
            row = StoreDay(store_id=store.pk, date=day, computed_at=now, **asdict(values))
            (whole if day >= kept_from else orders_only).append(row)
        day += timedelta(days=1)
    if empty:
        StoreDay.objects.filter(store=store, date__in=empty).delete()
    for rows, fields in ((whole, [*ORDER_FIELDS, *EVENT_FIELDS]), (orders_only, list(ORDER_FIELDS))):
        if rows:
            StoreDay.objects.bulk_create(rows, update_conflicts=True, unique_fields=["store", "date"],
                                         update_fields=[*fields, "computed_at"], batch_size=500)
    ProductDay.objects.filter(store=store, date__gte=first, date__lte=last).delete()
    ProductDay.objects.bulk_create(
        [ProductDay(store_id=store.pk, date=day, product_id=product_id, name=(sold.name or "")[:200],
                    quantity=sold.quantity, revenue=sold.revenue)
         for (day, product_id), sold in products_by_day(store=store, first=first, last=last).items()],
        batch_size=1000)
    return len(whole) + len(orders_only)


def store_first_day(*, store: Store) -> date | None:
    """The store's first day with an order or an event (None: neither yet)."""
    moments = [Order.objects.filter(store=store).aggregate(first=Min("created_at"))["first"],
               Event.objects.filter(store=store).aggregate(first=Min("occurred_at"))["first"]]
    moments = [moment for moment in moments if moment is not None]
    return local_date(min(moments), store.zone) if moments else None


def metrics_rebuild(*, store: Store, since: date | None = None) -> int:
    """Rewrites the store's days from ``since`` (default: its first day with an order or event) to today, a month
    per transaction; safe to run twice, and beside the periodic job. Without ``since`` (or one no later than the
    first day) the store's rollups are then current as of when it started. Returns how many day rows it wrote."""
    started = timezone.now()
    store = Store.objects.get(pk=store.pk)  # its time zone as it is now
    today = local_date(started, store.zone)
    first_day = store_first_day(store=store)
    first, last = since or first_day, today
    if since is None:  # every row it has, too: after a time zone change some dates hold nothing any more
        held = StoreDay.objects.filter(store=store).aggregate(first=Min("date"), last=Max("date"))
        first = min(day for day in (first, held["first"]) if day is not None) if (first or held["first"]) else None
        last = max(today, held["last"] or today)
    written = 0
    if first is not None:
        for chunk_first, chunk_last in _runs(_days_between(first, last)):
            written += metrics_days_refresh(store=store, first=chunk_first, last=chunk_last)
    if since is None or first_day is None or since <= first_day:
        with transaction.atomic():
            state = _state_locked(store)
            state.timezone, state.current_at = store.timezone, started
            state.save(update_fields=["timezone", "current_at"])
    return written


def _days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _touched(rows, zones: dict[int, object], dirty: dict[int, set[date]]) -> None:
    """(store id, UTC hour) pairs → the store days they touch (an hour may straddle a local midnight)."""
    for store_id, hour in rows:
        zone = zones.get(store_id)
        if zone is None or hour is None:
            continue
        dirty[store_id].add(local_date(hour, zone))
        dirty[store_id].add(local_date(hour + timedelta(minutes=59, seconds=59), zone))


def metrics_refresh(*, now: datetime | None = None) -> int:
    """The periodic job: brings every store's rollups up to date. Returns how many day rows it wrote; skips (0)
    while another run holds the lock."""
    if not cache.add(REFRESH_LOCK, 1, timeout=REFRESH_LOCK_SECONDS):
        return 0
    try:
        return _refresh(started=now or timezone.now())
    finally:
        cache.delete(REFRESH_LOCK)


def _refresh(*, started: datetime) -> int:
    stores = {store.pk: store for store in Store.objects.only("id", "timezone", "currency")}
    states = dict(RollupState.objects.filter(current_at__isnull=False).values_list("store_id", "timezone"))
    current_at = dict(RollupState.objects.filter(current_at__isnull=False).values_list("store_id", "current_at"))
    written = 0
    for store_id, store in stores.items():
        if states.get(store_id) != store.timezone:  # never rolled up, or its days moved: all of it again
            written += metrics_rebuild(store=store)
            current_at.pop(store_id, None)
    if not current_at:
        return written
    since = min(current_at.values()) - OVERLAP
    zones = {store_id: stores[store_id].zone for store_id in current_at if store_id in stores}
    dirty: dict[int, set[date]] = defaultdict(set)
    _touched(Order.objects.filter(updated_at__gte=since).annotate(hour=TruncHour("created_at"))
             .values_list("store_id", "hour").distinct().order_by(), zones, dirty)
    _touched(Refund.objects.filter(Q(updated_at__gte=since) | Q(created_at__gte=since))
             .annotate(hour=TruncHour("payment__order__created_at")).values_list("store_id", "hour")
             .distinct().order_by(), zones, dirty)
    _touched(Event.objects.filter(received_at__gte=since).annotate(hour=TruncHour("occurred_at"))
             .values_list("store_id", "hour").distinct().order_by(), zones, dirty)
    for store_id, days in dirty.items():
        for first, last in _runs(days):
            written += metrics_days_refresh(store=stores[store_id], first=first, last=last)
    RollupState.objects.filter(store_id__in=list(zones)).update(current_at=started)
    return written
