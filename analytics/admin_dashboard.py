"""The merchant's dashboard on the admin index (``UNFOLD["DASHBOARD_CALLBACK"]``, rendered by
templates/admin/index.html): one store's figures from the selector GET …/dashboard answers with
(``analytics.selectors.dashboard_cached``), shaped for unfold's cards, charts and tables.

The store is one of those the signed-in member works in (an admin-site role: ``teams.admin_base``), picked with
``?store=<slug>`` when there are several; a platform superuser may pick any store. ``?period=7d|30d|90d``."""

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from config.api.errors import ValidationFailed
from config.money import money_round
from features.flags import is_enabled
from orders.models import OrderStatus
from orders.models import PaymentStatus as OrderPaymentStatus
from plans.errors import PlanLimitReached
from stores.models import Store
from teams.admin_base import admin_store_ids_with

from .selectors import DEFAULT_PERIOD, PERIODS, Dashboard, dashboard_cached, dashboard_period, store_today

ORDERS, VARIANTS = "admin:orders_order_changelist", "admin:catalog_variant_changelist"
SWITCHER_STORES = 200  # a platform superuser's switcher lists this many; any other is reached by ?store=<slug>


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    previous: str
    change: str  # "+12.5%", "new" (nothing before), "—" (nothing either time)
    trend: str  # up, down, flat
    note: str = ""


@dataclass(frozen=True)
class Row:
    """A line of a list on the dashboard, linking to the admin page behind it."""

    label: str
    value: str
    link: str
    detail: str = ""
    percent: int = 0


@dataclass
class AdminDashboard:
    stores: list[Store]
    store: Store | None = None
    notice: str = ""  # why the asked-for store or period is not the one shown
    period: str = DEFAULT_PERIOD  # "" when the days were picked (since/until)
    periods: list[dict] = field(default_factory=list)  # unfold's navigation items
    figures: Dashboard | None = None
    since: date | None = None
    until: date | None = None
    kpis: list[Figure] = field(default_factory=list)
    revenue_chart: str = ""  # Chart.js data (JSON) for unfold's chart components
    orders_chart: str = ""
    statuses: list[Row] = field(default_factory=list)
    top_products: list[Row] = field(default_factory=list)
    low_stock: list[Row] = field(default_factory=list)
    actions: list[Row] = field(default_factory=list)


def dashboard_callback(request, context: dict) -> dict:
    """unfold calls this for the admin index; the template reads ``dashboard``."""
    context["dashboard"] = admin_dashboard(request)
    return context


def admin_dashboard(request) -> AdminDashboard:
    """The admin index's figures for the store and period the request asks for (or the member's first store, 30d)."""
    store_ids = admin_store_ids_with(request, None)  # None: a platform superuser, every store
    stores = Store.objects.all() if store_ids is None else Store.objects.filter(pk__in=store_ids)
    board = AdminDashboard(stores=list(stores[:SWITCHER_STORES]))
    asked = request.GET.get("store", "")
    store = stores.filter(slug=asked).first() if asked else None
    if asked and store is None:
        board.notice = f"No store “{asked}” among yours: showing another."
    store = store or (board.stores[0] if board.stores else None)
    if store is None:
        return board
    if store not in board.stores:
        board.stores.append(store)
    board.store = store
    if not is_enabled("analytics", store=store):
        board.notice = "Analytics is switched off for this store (its feature flags): no figures to show."
        return board
    period = request.GET.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        board.notice = f"Unknown period “{period}”: showing the last {PERIODS[DEFAULT_PERIOD]} days."
        period = DEFAULT_PERIOD
    board.period = period
    try:
        board.since, board.until = dashboard_period(store=store, period=period)
    except PlanLimitReached as exc:  # the plan's analytics retention is shorter than the period: its days only
        board.notice = exc.message
        board.until = store_today(store=store)
        board.since = board.until - timedelta(days=exc.details["allowed"] - 1)
    if request.GET.get("since") or request.GET.get("until"):
        _days_picked(board, store, request.GET.get("since", ""), request.GET.get("until", ""))
    figures = board.figures = dashboard_cached(store=store, since=board.since, until=board.until)
    board.periods = [{"title": f"{days} days", "active": name == board.period,
                      "link": "?" + urlencode({"store": store.slug, "period": name})} for name, days in PERIODS.items()]
    _fill(board, figures, store, store_filter=store_ids is None or len(store_ids) > 1)
    return board


def _days_picked(board: AdminDashboard, store: Store, since: str, until: str) -> None:
    """The days from the picker (``since``/``until``, the store's dates, as GET …/dashboard takes them) in place of
    the period; a date that is not one, or days the API would refuse, leave the period and say why."""
    try:
        days = {name: date.fromisoformat(value) if value else None
                for name, value in (("since", since), ("until", until))}
    except ValueError:
        board.notice = "A date is written YYYY-MM-DD: showing the period instead."
        return
    try:
        board.since, board.until = dashboard_period(store=store, **days)
    except (ValidationFailed, PlanLimitReached) as exc:
        board.notice = f"{exc.message} Showing the period instead."
        return
    board.period = ""


def _fill(board: AdminDashboard, figures: Dashboard, store: Store, *, store_filter: bool) -> None:
    currency = store.currency
    current, previous = figures.current, figures.previous

    def link(name: str, **filters) -> str:
        """An admin list filtered by ``filters``, and by the store when the member sees several."""
        if store_filter:
            filters["store__id__exact"] = store.pk
        return f"{reverse(name)}?{urlencode(filters)}"

    board.kpis = [
        Figure("Revenue", _money(current.revenue, currency), _money(previous.revenue, currency),
               *_change(current.revenue, previous.revenue), note=f"{current.paid_orders:,} paid orders"),
        Figure("Orders", f"{current.orders:,}", f"{previous.orders:,}", *_change(current.orders, previous.orders)),
        Figure("Average order value", _money(current.average_order_value, currency),
               _money(previous.average_order_value, currency),
               *_change(current.average_order_value, previous.average_order_value)),
        Figure("Conversion rate", _percent(current.conversion_rate), _percent(previous.conversion_rate),
               *_change(current.conversion_rate, previous.conversion_rate),
               note=f"{current.converted_sessions:,} of {current.sessions:,} sessions"),
    ]
    labels = [f"{day.date:%b} {day.date.day}" for day in figures.by_day]
    board.revenue_chart = json.dumps({"labels": labels, "datasets": [{
        "label": f"Revenue ({currency})", "data": [float(day.revenue) for day in figures.by_day],
        "backgroundColor": "var(--color-primary-600)", "displayYAxis": True, "maxTicksXLimit": 10}]})
    board.orders_chart = json.dumps({"labels": labels, "datasets": [{
        "label": "Orders", "data": [day.orders for day in figures.by_day],
        "borderColor": "var(--color-primary-600)", "displayYAxis": True, "maxTicksXLimit": 10}]})
    placed = sum(figures.orders_by_status.values())
    board.statuses = [
        Row(OrderStatus(status).label, f"{count:,}", link(ORDERS, status__exact=status),
            percent=round(count * 100 / placed) if placed else 0)
        for status, count in figures.orders_by_status.items()]
    board.top_products = [
        Row(product.name, _money(product.revenue, currency), _product_link(product.product),
            detail=f"{product.quantity:,} sold")
        for product in figures.top_products]
    board.low_stock = [Row(variant.name, f"{variant.available:,} left", _product_link(variant.product),
                           detail=variant.sku)
                       for variant in figures.low_stock]
    waiting = figures.needs_action
    board.actions = [
        Row("Pending bank transfers", f"{waiting.pending_bank_transfers:,}",
            link(ORDERS, status__exact=OrderStatus.PENDING, payment_method__exact="bank_transfer",
                        payment_status__exact=OrderPaymentStatus.UNPAID),
            detail="Orders waiting for the buyer's transfer: mark them paid when it arrives."),
        Row("Held for review", f"{waiting.held_orders:,}", link(ORDERS, held="yes"),
            detail="Orders a fraud check or a mismatched payment held: approve or reject them."),
        Row("Low stock", f"{waiting.low_stock:,}",
            link(VARIANTS, low_stock="yes"),  # the variants counted, one row each
            detail=f"Variants with {store.low_stock_threshold} or fewer units available."),
    ]


def _product_link(product_id: int) -> str:
    return reverse("admin:catalog_product_change", args=[product_id])


def _money(amount: Decimal, currency: str) -> str:
    return f"{money_round(amount, currency):,} {currency}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.2f}%"


def _change(current: Decimal | float | int, previous: Decimal | float | int) -> tuple[str, str]:
    if not previous:
        return ("new", "up") if current else ("—", "flat")
    change = (Decimal(str(current)) - Decimal(str(previous))) * 100 / Decimal(str(previous))
    return f"{change:+.1f}%", "up" if change > 0 else "down" if change < 0 else "flat"
