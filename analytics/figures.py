"""The figures of a store's days, computed by aggregate queries over orders, payments and events.

One place for what every figure means; the rollup job writes them into StoreDay / ProductDay and the dashboard
computes the days the rollups do not hold yet (today) with the same functions. Never a Python loop over orders:
each function is one GROUP BY query whose result has a row per day (or per day and product).

- orders: orders placed that day (the store's day), whatever their status; ``statuses``: those orders by their
  status now.
- revenue: the totals of orders whose payment is paid (payment_status paid or partially_refunded), less what was
  refunded of them (their payments' refunded_amount); a refunded order counts nothing. ``paid_orders`` counts
  those orders (the average order value divides by it).
- sessions: distinct session ids with an event that day; ``converted_sessions``: those with a purchase event.
- products: units and line totals of the lines of paid orders, per product.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate

from orders.models import Order, OrderLine, OrderStatus, PaymentStatus
from stores.models import Store

from .models import Event, EventType

ZERO = Decimal("0")
# An order's payment statuses that count as sold (money collected and not all of it given back).
SOLD = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)
ORDER_STATUSES = tuple(OrderStatus.values)
EVENT_FIELDS = ("sessions", "converted_sessions", "page_views", "product_views", "add_to_cart", "checkouts_started",
                "searches")
ORDER_FIELDS = ("orders", "paid_orders", "revenue", "statuses")


@dataclass
class DayFigures:
    """One day of one store (StoreDay's columns)."""

    orders: int = 0
    paid_orders: int = 0
    revenue: Decimal = ZERO
    statuses: dict[str, int] = field(default_factory=dict)
    sessions: int = 0
    converted_sessions: int = 0
    page_views: int = 0
    product_views: int = 0
    add_to_cart: int = 0
    checkouts_started: int = 0
    searches: int = 0

    def is_empty(self) -> bool:
        return not (self.orders or any(getattr(self, name) for name in EVENT_FIELDS))


@dataclass
class ProductFigures:
    """What one product sold over some days."""

    product_id: int
    name: str
    quantity: int = 0
    revenue: Decimal = ZERO


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The moment ``day`` begins in ``zone`` (aware)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the days first..last (inclusive) in ``zone``."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def days_figures(*, store: Store, first: date, last: date, events: bool = True) -> dict[date, DayFigures]:
    """The figures of every day first..last (the store's days) that has any; ``events=False`` leaves the event
    figures at zero (days whose events were pruned). Three queries."""
    zone = store.zone
    start, end = day_bounds(first, last, zone)
    days: dict[date, DayFigures] = defaultdict(DayFigures)
    placed = Order.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    rows = (placed.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day", "status")
            .annotate(count=Count("id"), paid=Count("id", filter=Q(payment_status__in=SOLD)),
                      gross=Sum("total", filter=Q(payment_status__in=SOLD))).order_by())
    for row in rows:
        figures = days[row["day"]]
        figures.orders += row["count"]
        figures.paid_orders += row["paid"]
        figures.revenue += row["gross"] or ZERO
        figures.statuses[row["status"]] = figures.statuses.get(row["status"], 0) + row["count"]
    # only a partially refunded order has refunds that count: a refunded one counts nothing at all
    refunds = (placed.filter(payment_status=PaymentStatus.PARTIALLY_REFUNDED)
               .annotate(day=TruncDate("created_at", tzinfo=zone)).values("day")
               .annotate(refunded=Sum("payments__refunded_amount")).order_by())
    for row in refunds:
        days[row["day"]].revenue -= row["refunded"] or ZERO
    if events:
        for row in _event_rows(store=store, start=start, end=end, zone=zone):
            figures = days[row.pop("day")]
            for name, value in row.items():
                setattr(figures, name, value)
    return {day: figures for day, figures in days.items() if first <= day <= last}


def _event_rows(*, store: Store, start: datetime, end: datetime, zone: ZoneInfo):
    counted = {
        "page_views": EventType.PAGE_VIEW, "product_views": EventType.PRODUCT_VIEW,
        "add_to_cart": EventType.ADD_TO_CART, "checkouts_started": EventType.CHECKOUT_STARTED,
        "searches": EventType.SEARCH,
    }
    return (Event.objects.filter(store=store, occurred_at__gte=start, occurred_at__lt=end)
            .annotate(day=TruncDate("occurred_at", tzinfo=zone)).values("day")
            .annotate(sessions=Count("session_id", distinct=True),
                      converted_sessions=Count("session_id", distinct=True, filter=Q(type=EventType.PURCHASE)),
                      **{name: Count("id", filter=Q(type=kind)) for name, kind in counted.items()})
            .order_by())


def products_by_day(*, store: Store, first: date, last: date) -> dict[tuple[date, int], ProductFigures]:
    """(day, product id) → units and line totals of paid orders placed that day. One query."""
    zone = store.zone
    start, end = day_bounds(first, last, zone)
    rows = (OrderLine.objects.filter(order__store=store, order__created_at__gte=start, order__created_at__lt=end,
                                     order__payment_status__in=SOLD, product_id__isnull=False)
            .annotate(day=TruncDate("order__created_at", tzinfo=zone)).values("day", "product_id")
            .annotate(quantity=Sum("quantity"), revenue=Sum("line_total"), name=Max("product_name")).order_by())
    return {(row["day"], row["product_id"]): ProductFigures(product_id=row["product_id"], name=row["name"],
                                                            quantity=row["quantity"], revenue=row["revenue"] or ZERO)
            for row in rows if first <= row["day"] <= last}


def products_figures(*, store: Store, first: date, last: date) -> dict[int, ProductFigures]:
    """product id → what it sold over first..last (paid orders). One query."""
    totals: dict[int, ProductFigures] = {}
    for (_, product_id), figures in products_by_day(store=store, first=first, last=last).items():
        total = totals.setdefault(product_id, ProductFigures(product_id=product_id, name=figures.name))
        total.quantity += figures.quantity
        total.revenue += figures.revenue
    return totals
