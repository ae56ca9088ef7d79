"""The merchant's dashboard: one selector for the API (GET …/dashboard) and the admin index.

``dashboard(store=, since=, until=)`` answers plain data (dataclasses of ints, Decimals, dates and strings; money
unrounded Decimals in the store currency) that a serializer or a template renders as it likes. Days before the
rollups' edge (``rollup_live_from``) come from StoreDay / ProductDay, the later ones (today, normally) from the
orders and events themselves, with the same aggregate queries the rollups are built with (``analytics.figures``).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Sum
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import inventory_list
from config.api.errors import ValidationFailed
from config.money import money_round
from orders.models import Order, OrderStatus
from orders.models import PaymentStatus as OrderPaymentStatus
from plans.errors import PlanLimitReached
from plans.services import plan_retention_days
from stores.models import Store

from .figures import ORDER_STATUSES, ZERO, DayFigures, ProductFigures, days_figures, local_date, products_figures
from .models import ProductDay, StoreDay
from .services.rollup import rollup_live_from

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "30d"
MAX_DAYS = 366
TOP_PRODUCTS = 10
LOW_STOCK = 10
OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING)


@dataclass(frozen=True)
class PeriodTotals:
    since: date
    until: date
    revenue: Decimal
    orders: int
    paid_orders: int
    average_order_value: Decimal  # revenue ÷ paid orders, in the currency's places (0 when none)
    sessions: int
    converted_sessions: int
    conversion_rate: float  # sessions with an order ÷ sessions, 4 places (0 when none)


@dataclass(frozen=True)
class DayPoint:
    date: date
    revenue: Decimal
    orders: int
    paid_orders: int
    sessions: int


@dataclass(frozen=True)
class TopProduct:
    product: int
    name: str
    quantity: int
    revenue: Decimal


@dataclass(frozen=True)
class LowStockVariant:
    variant: int
    product: int
    sku: str
    name: str
    available: int


@dataclass(frozen=True)
class NeedsAction:
    """Counts of what waits for the merchant, now (not limited to the period)."""

    pending_bank_transfers: int
    held_orders: int
    low_stock: int


@dataclass(frozen=True)
class Dashboard:
    store_id: int
    currency: str
    timezone: str
    current: PeriodTotals
    previous: PeriodTotals
    by_day: list[DayPoint]  # every day of the period, oldest first, zeros included
    orders_by_status: dict[str, int]  # every status, zeros included
    top_products: list[TopProduct]
    low_stock: list[LowStockVariant]
    needs_action: NeedsAction
    computed_at: datetime
    live_from: date | None = None  # the first day computed from the orders rather than the rollups
    statuses: tuple[str, ...] = field(default=ORDER_STATUSES)


def store_today(*, store: Store) -> date:
    return local_date(timezone.now(), store.zone)


def dashboard_period(*, store: Store, period: str | None = None, since: date | None = None,
                     until: date | None = None) -> tuple[date, date]:
    """The days a dashboard covers: ``since``/``until`` (the store's dates, either may be left out) or ``period``
    (7d, 30d, 90d: the last days up to today, default 30d). Raises ValidationFailed (400) for an unknown period,
    since after until, or more than 366 days, and PlanLimitReached (403) for days older than the plan's analytics
    retention."""
    today = store_today(store=store)
    if since is None and until is None:
        period = period or DEFAULT_PERIOD
        if period not in PERIODS:
            raise ValidationFailed("Unknown period.", period=[f"One of {', '.join(PERIODS)}."])
        since, until = today - timedelta(days=PERIODS[period] - 1), today
        dashboard_retention_check(store=store, since=since, today=today)
        return since, until
    until = until or today
    since = since or until - timedelta(days=PERIODS[DEFAULT_PERIOD] - 1)
    if since > until:
        raise ValidationFailed("since is after until.", since=["Must not be after until."])
    if (until - since).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"At most {MAX_DAYS} days.", until=[f"At most {MAX_DAYS} days after since."])
    dashboard_retention_check(store=store, since=since, today=today)
    return since, until


def dashboard_retention_check(*, store: Store, since: date, today: date | None = None) -> None:
    """Raises PlanLimitReached (403, details ``{limit: "analytics_retention_days", used: the days asked back from
    today, allowed}``) when ``since`` is further back than the store's plan lets the dashboard read. Nothing is
    deleted: a bigger plan reads the older days again."""
    days = plan_retention_days(store)
    today = today or store_today(store=store)
    back = (today - since).days + 1
    if days is not None and back > days:
        raise PlanLimitReached(
            f"The store's plan keeps {days} days of analytics; ask for days since "
            f"{today - timedelta(days=days - 1)} at the earliest.",
            limit="analytics_retention_days",
            used=back,
            allowed=days,
        )


def dashboard_cached(*, store: Store, since: date, until: date) -> Dashboard:
    """``dashboard``, answered from the cache for ANALYTICS_DASHBOARD_CACHE_SECONDS per store and period."""
    seconds = settings.ANALYTICS_DASHBOARD_CACHE_SECONDS
    if not seconds:
        return dashboard(store=store, since=since, until=until)
    key = f"analytics:dashboard:{store.pk}:{store.timezone}:{store.currency}:{since}:{until}"
    figures = cache.get(key)
    if figures is None:
        figures = dashboard(store=store, since=since, until=until)
        cache.set(key, figures, seconds)
    return figures


def dashboard(*, store: Store, since: date, until: date) -> Dashboard:
    """The store's figures for the days since..until (its days) beside the same number of days just before."""
    length = (until - since).days + 1
    previous_since, previous_until = since - timedelta(days=length), since - timedelta(days=1)
    live_from = rollup_live_from(store=store)
    days = _days(store=store, first=previous_since, last=until, live_from=live_from)
    current = _totals(store, since, until, days)
    previous = _totals(store, previous_since, previous_until, days)
    by_day, statuses = [], dict.fromkeys(ORDER_STATUSES, 0)
    for offset in range(length):
        day = since + timedelta(days=offset)
        values = days.get(day) or DayFigures()
        by_day.append(DayPoint(date=day, revenue=values.revenue, orders=values.orders,
                               paid_orders=values.paid_orders, sessions=values.sessions))
        for status, count in values.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    low_stock = inventory_list(store=store, low_stock=True)
    return Dashboard(
        store_id=store.pk, currency=store.currency, timezone=store.timezone, current=current, previous=previous,
        by_day=by_day, orders_by_status=statuses,
        top_products=_top_products(store=store, since=since, until=until, live_from=live_from),
        low_stock=[LowStockVariant(variant=variant.pk, product=variant.product_id, sku=variant.sku,
                                   name=" ".join(part for part in (variant.product.name, variant.name) if part),
                                   available=variant.available_units)
                   for variant in low_stock[:LOW_STOCK]],
        needs_action=NeedsAction(
            # pending orders waiting for their transfer (index order_store_status; a cancelled one's payment stays
            # pending, so counting payments would count those too)
            pending_bank_transfers=Order.objects.filter(store=store, status=OrderStatus.PENDING,
                                                        payment_method="bank_transfer",
                                                        payment_status=OrderPaymentStatus.UNPAID).count(),
            held_orders=Order.objects.filter(store=store, status__in=OPEN_STATUSES).exclude(hold_reason="").count(),
            low_stock=low_stock.count(),
        ),
        computed_at=timezone.now(), live_from=live_from,
    )


def _days(*, store: Store, first: date, last: date, live_from: date | None) -> dict[date, DayFigures]:
    """Day → figures for first..last: the rollups before ``live_from``, the source rows from then on."""
    live_first = first if live_from is None else max(first, live_from)
    days: dict[date, DayFigures] = {}
    if live_first > first:
        rolled_last = min(last, live_first - timedelta(days=1))
        for row in StoreDay.objects.filter(store=store, date__gte=first, date__lte=rolled_last):
            days[row.date] = DayFigures(**{name: getattr(row, name) for name in DayFigures.__dataclass_fields__})
    if live_first <= last:
        days.update(days_figures(store=store, first=live_first, last=last))
    return days


def _totals(store: Store, since: date, until: date, days: dict[date, DayFigures]) -> PeriodTotals:
    revenue, orders, paid, sessions, converted = ZERO, 0, 0, 0, 0
    for day, values in days.items():
        if since <= day <= until:
            revenue += values.revenue
            orders += values.orders
            paid += values.paid_orders
            sessions += values.sessions
            converted += values.converted_sessions
    return PeriodTotals(
        since=since, until=until, revenue=revenue, orders=orders, paid_orders=paid,
        average_order_value=money_round(revenue / paid, store.currency) if paid else ZERO,
        sessions=sessions, converted_sessions=converted,
        conversion_rate=round(converted / sessions, 4) if sessions else 0.0,
    )


def _top_products(*, store: Store, since: date, until: date, live_from: date | None,
                  limit: int = TOP_PRODUCTS) -> list[TopProduct]:
    """The period's best sellers by revenue (then units): the rollups' top ``limit`` and whatever sold in the live
    days, added up; a product outside the rollups' top can only overtake them with live sales, so those are all the
    candidates."""
    live_first = since if live_from is None else max(since, live_from)
    totals: dict[int, ProductFigures] = {}
    floor = ZERO  # no product outside the rollups' top sold more than this in the rolled-up days
    if live_first > since:
        rolled_last = min(until, live_first - timedelta(days=1))
        rolled = (ProductDay.objects.filter(store=store, date__gte=since, date__lte=rolled_last)
                  .values("product_id").annotate(quantity=Sum("quantity"), revenue=Sum("revenue"), name=Max("name"))
                  .order_by())
        for row in rolled.order_by("-revenue", "-quantity", "product_id")[:limit]:
            totals[row["product_id"]] = ProductFigures(row["product_id"], row["name"], row["quantity"], row["revenue"])
        if len(totals) == limit:
            floor = min(sold.revenue for sold in totals.values())
    live = products_figures(store=store, first=live_first, last=until) if live_first <= until else {}
    for product_id, sold in live.items():
        if product_id in totals:
            totals[product_id].quantity += sold.quantity
            totals[product_id].revenue += sold.revenue
    # the limit-th best so far: another product gets in only if its rolled-up part (≤ floor) and its live part beat it
    bar = sorted((sold.revenue for sold in totals.values()), reverse=True)[limit - 1] if len(totals) >= limit else None
    contenders = {product_id: sold for product_id, sold in live.items() if product_id not in totals
                  and (bar is None or floor + sold.revenue >= bar)}
    if contenders and live_first > since:
        for row in rolled.filter(product_id__in=list(contenders)):
            totals[row["product_id"]] = ProductFigures(row["product_id"], row["name"], row["quantity"], row["revenue"])
    for product_id, sold in contenders.items():
        total = totals.setdefault(product_id, ProductFigures(product_id, sold.name))
        total.quantity += sold.quantity
        total.revenue += sold.revenue
    best = sorted(totals.values(), key=lambda sold: (-sold.revenue, -sold.quantity, sold.product_id))[:limit]
    names = dict(Product.objects.filter(store=store, pk__in=[sold.product_id for sold in best])
                 .values_list("pk", "name"))
    return [TopProduct(product=sold.product_id, name=names.get(sold.product_id, sold.name), quantity=sold.quantity,
                       revenue=sold.revenue) for sold in best]
