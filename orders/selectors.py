"""Orders' reads: which orders a caller may see, the merchant's filtered list, and an order's payment summary.

Payments sit above orders (docs/ARCHITECTURE.md "Layers"): orders cannot ask them for an order's payment, so
payments hands its reader down at startup (``order_payment_reader_register``), as catalog does for stores.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from .models import Order, OrderEvent, OrderLine, ShippingMethod
from .services import order_number_normalize

# order ids → {order id: {id, gateway, status, amount, instructions?}} for the orders that have a payment
PaymentReader = Callable[[list[int]], dict[int, dict]]
_payment_readers: list[PaymentReader] = []


def order_payment_reader_register(reader: PaymentReader) -> None:
    """Payments registers how to read orders' payments (once, in its AppConfig.ready)."""
    if reader not in _payment_readers:
        _payment_readers.append(reader)


def order_payments(order_ids: list[int]) -> dict[int, dict]:
    """The latest payment of each order, as plain dicts, from the registered reader(s); {} when none."""
    found: dict[int, dict] = {}
    if not order_ids:
        return found
    for reader in _payment_readers:
        found.update(reader(list(order_ids)))
    return found


# custom order lines (a print quote) → {order line id: plain dict}: what the app that made them says of them now
LineDetailsReader = Callable[[list[OrderLine]], dict[int, dict]]
_line_details_readers: list[LineDetailsReader] = []


def order_line_details_reader_register(reader: LineDetailsReader) -> None:
    """An app above orders registers how to describe its custom lines (once, in its AppConfig.ready)."""
    if reader not in _line_details_readers:
        _line_details_readers.append(reader)


def order_line_details(lines: list[OrderLine]) -> dict[int, dict]:
    """{order line id: details} for the custom lines among ``lines`` (a service order's status, say) from the
    registered readers; no query at all when none of the lines is custom."""
    custom = [line for line in lines if line.reference]
    found: dict[int, dict] = {}
    if not custom:
        return found
    for reader in _line_details_readers:
        found.update(reader(custom))
    return found


def _lines() -> Prefetch:
    return Prefetch("lines", queryset=OrderLine.objects.order_by("id"))


def order_queryset() -> QuerySet[Order]:
    """Orders with what their answer shows (store, lines) in a fixed number of queries."""
    return Order.objects.select_related("store", "shipping_method").prefetch_related(_lines())


def order_lines_load(order: Order) -> Order:
    """An order in hand with its store (one just placed) ready for its answer: its lines loaded as order_queryset
    loads them, in one query, instead of reading the order back; none when they are loaded already (order_place
    leaves the lines it inserted on the order)."""
    prefetch_related_objects([order], _lines())
    return order


def order_by_number(*, store, number) -> Order | None:
    """The store's order ``number`` as stored or as a customer may type it ("7qk3m9xp2h")."""
    raw = str(number).strip()
    if not raw or "\x00" in raw or len(raw) > 64:  # not a number, and PostgreSQL text cannot hold NUL
        return None
    return order_queryset().filter(Q(number=raw) | Q(number=order_number_normalize(raw)), store=store).first()


def order_visible(*, order: Order, is_member: bool, user=None, email: str | None = None) -> bool:
    """A store member, the customer who placed it, or a guest naming its email (any case) may see an order."""
    if is_member:
        return True
    if user is not None and user.is_authenticated and order.user_id == user.pk:
        return True
    return bool(email) and isinstance(email, str) and email.strip().lower() == order.email.lower()


def order_is_customers(*, order: Order, user=None, email: str | None = None) -> bool:
    """Whether the caller is the order's customer (its user, or a guest naming its email)."""
    return order_visible(order=order, is_member=False, user=user, email=email)


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    payment_status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None
    held: bool | None = None


def order_list(*, store, filters: OrderFilters = OrderFilters()) -> QuerySet[Order]:
    """The store's orders, newest first, filtered (API.md "Cart, checkout, orders"); ``q`` is a number or email."""
    orders = order_queryset().filter(store=store)
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.payment_status:
        orders = orders.filter(payment_status=filters.payment_status)
    if filters.created_after:
        orders = orders.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        orders = orders.filter(created_at__lt=filters.created_before)
    if filters.held is not None:
        orders = orders.exclude(hold_reason="") if filters.held else orders.filter(hold_reason="")
    q = (filters.q or "").strip()
    if q:
        if "@" in q:
            orders = orders.filter(email__iexact=q)
        else:
            orders = orders.filter(Q(number=q.upper()) | Q(number=order_number_normalize(q)))
    return orders.order_by("-created_at", "-id")


def order_list_of_customer(*, user, store=None) -> QuerySet[Order]:
    """A customer's own orders (in ``store``, or in every store), newest first."""
    orders = order_queryset().filter(user=user)
    if store is not None:
        orders = orders.filter(store=store)
    return orders.order_by("-created_at", "-id")


def order_event_list(*, order: Order) -> QuerySet[OrderEvent]:
    return OrderEvent.objects.filter(order=order).order_by("created_at", "id")


def shipping_method_list(*, store, include_inactive: bool) -> QuerySet[ShippingMethod]:
    """The store's shipping methods by position; the public sees the active ones only."""
    methods = ShippingMethod.objects.filter(store=store)
    if not include_inactive:
        methods = methods.filter(is_active=True)
    return methods.order_by("position", "id")
