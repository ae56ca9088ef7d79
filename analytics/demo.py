"""Demo history for the dashboard: each demo store's time zone, ~90 days of orders (paid, refunded, cancelled…) and
storefront events, so the charts are alive on the first ``make run``; then its rollups.

History is written with bulk inserts (a few seconds for both stores), not through checkout: it is what the store
sold before today, so it moves no stock (the stock ledger stays what the catalog seeded) and sends nothing. Orders
of today come from payments.demo (through checkout). Idempotent: a store that has history (an order of a
``@shoppers.demo`` customer, or any event) gets no more.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import ProductStatus, Variant
from config.money import money_round
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, ShippingMethod
from orders.models import PaymentStatus as OrderPaymentStatus
from orders.services import order_number_new
from payments.models import GatewaySetting, Payment, PaymentStatus, Refund, RefundStatus
from stores.models import Store
from stores.services import store_update

from .figures import local_date
from .models import Event, EventType
from .services import metrics_rebuild

DEMO_TIMEZONES = {"alpha": "Africa/Cairo", "beta": "Africa/Tripoli"}
HISTORY_DAYS = 90
EMAIL_DOMAIN = "shoppers.demo"
FIRST_NAMES = ["Amal", "Karim", "Salma", "Youssef", "Huda", "Omar", "Mona", "Tarek", "Rana", "Ali", "Layla", "Sami",
               "Noor", "Hassan", "Dina", "Fares", "Maya", "Adam", "Yara", "Ziad"]
LAST_NAMES = ["Mansour", "Haddad", "Saleh", "Farouk", "Nasser", "Khalil", "Aziz", "Hamdi", "Taher", "Rami"]
CITIES = ["Tripoli", "Benghazi", "Misrata", "Cairo", "Alexandria", "Giza"]


def seed_demo_history(store: Store, *, days: int = HISTORY_DAYS) -> tuple[int, int]:
    """The store's demo time zone (if it is still UTC), ``days`` days of orders and events where it has none, and
    its rollups. Returns (orders, events) added."""
    zone_name = DEMO_TIMEZONES.get(store.slug)
    if zone_name and store.timezone == "UTC":
        store = store_update(store=store, timezone=zone_name)
    if days <= 0:
        return 0, 0
    orders = 0 if Order.objects.filter(store=store, email__endswith=f"@{EMAIL_DOMAIN}").exists() \
        else seed_orders_history(store, days=days)
    events = 0 if Event.objects.filter(store=store).exists() else seed_events_history(store, days=days)
    if orders or events:
        metrics_rebuild(store=store)
    return orders, events


def _daily_orders(rng: random.Random, days_ago: int, day: date, days: int) -> int:
    """A store growing over the period, busier at weekends (Friday and Saturday), with noise."""
    trend = 4 + 6 * (days - days_ago) / days
    weekend = 1.4 if day.weekday() in (4, 5) else 1.0
    return max(0, round(rng.gauss(trend * weekend, 1.5)))


def _moment(rng: random.Random, day: date, store: Store, now: datetime) -> datetime | None:
    """A time of the store's day, mostly the afternoon and evening; None when it would be in the future."""
    minute = min(int(rng.triangular(7 * 60, 24 * 60 - 1, 20 * 60)), 24 * 60 - 1)
    moment = datetime.combine(day, time(minute // 60, minute % 60, rng.randrange(60)), tzinfo=store.zone)
    return moment if moment < now else None


def _fate(rng: random.Random, days_ago: int) -> tuple[str, str]:
    """(order status, order payment status) of an order placed ``days_ago`` days ago."""
    roll = rng.random()
    if days_ago <= 2:  # recent orders are still under way
        if roll < 0.35:
            return OrderStatus.PROCESSING, OrderPaymentStatus.UNPAID
        if roll < 0.55:
            return OrderStatus.PENDING, OrderPaymentStatus.UNPAID
        if roll < 0.9:
            return OrderStatus.PROCESSING, OrderPaymentStatus.PAID
        return OrderStatus.CANCELLED, OrderPaymentStatus.UNPAID
    if roll < 0.78:
        return OrderStatus.COMPLETED, OrderPaymentStatus.PAID
    if roll < 0.84:
        return OrderStatus.COMPLETED, OrderPaymentStatus.PARTIALLY_REFUNDED
    if roll < 0.88:
        return OrderStatus.REFUNDED, OrderPaymentStatus.REFUNDED
    if roll < 0.96:
        return OrderStatus.CANCELLED, OrderPaymentStatus.UNPAID
    return OrderStatus.PROCESSING, OrderPaymentStatus.PAID


@transaction.atomic
def seed_orders_history(store: Store, *, days: int = HISTORY_DAYS) -> int:
    """Orders over the store's last ``days`` days (today up to now included), with lines, payments, refunds and
    their history events, from its published variants (a few of them best sellers). Returns how many."""
    rng = random.Random(f"history:{store.slug}")
    variants = list(Variant.objects.filter(store=store, product__status=ProductStatus.PUBLISHED)
                    .select_related("product").order_by("id"))
    if not variants:
        return 0
    weights = [1 / (1 + index % 17) for index in range(len(variants))]  # some sell far more than others
    shipping = ShippingMethod.objects.filter(store=store, is_active=True).order_by("position", "id").first()
    card = GatewaySetting.objects.filter(store=store, gateway__in=["kashier", "moamalat", "stripe"]).values_list(
        "gateway", flat=True).first()
    methods = [("cod", 0.4), ("bank_transfer", 0.2), (card, 0.4)] if card else [("cod", 0.6), ("bank_transfer", 0.4)]
    currency, now = store.currency, timezone.now()
    customers = [(f"{first} {last}", f"{first}.{last}@{EMAIL_DOMAIN}".lower())
                 for first in FIRST_NAMES for last in LAST_NAMES]
    today = local_date(now, store.zone)
    orders, lines_of, moments = [], [], []
    for days_ago in range(days - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        for _ in range(_daily_orders(rng, days_ago, day, days)):
            moment = _moment(rng, day, store, now)
            if moment is None:
                continue
            chosen = {variant.pk: variant for variant in rng.choices(variants, weights, k=rng.choice([1, 1, 2, 3]))}
            lines = [(variant, rng.choice([1, 1, 1, 2, 3])) for variant in chosen.values()]
            subtotal = sum((variant.price * quantity for variant, quantity in lines), Decimal("0"))
            cost = Decimal("0")
            if shipping and not (shipping.free_above is not None and subtotal >= shipping.free_above):
                cost = shipping.price
            name, email = rng.choice(customers)
            method = rng.choices([name for name, _ in methods], [weight for _, weight in methods])[0]
            status, payment_status = _fate(rng, days_ago)
            orders.append(Order(
                store=store, number=order_number_new(), email=email, customer_name=name, status=status,
                payment_status=payment_status, currency=currency, subtotal=money_round(subtotal, currency),
                shipping=cost, total=money_round(subtotal + cost, currency), payment_method=method,
                shipping_method=shipping, shipping_method_name=shipping.name if shipping else "",
                shipping_address={"name": name, "line1": f"{rng.randint(1, 200)} Demo Street",
                                  "city": rng.choice(CITIES)},
                created_at=moment, updated_at=moment))
            lines_of.append(lines)
            moments.append(moment)
    Order.objects.bulk_create(orders, batch_size=500)
    # created_at is auto_now_add: the insert stamped now; the history's own times go in afterwards
    for order, moment in zip(orders, moments, strict=True):
        order.created_at = order.updated_at = moment
    Order.objects.bulk_update(orders, ["created_at", "updated_at"], batch_size=500)
    OrderLine.objects.bulk_create([
        OrderLine(order=order, variant=variant, product_id=variant.product_id, product_name=variant.product.name,
                  variant_name=variant.name, sku=variant.sku, options=variant.options, unit_price=variant.price,
                  quantity=quantity, line_total=money_round(variant.price * quantity, currency))
        for order, lines in zip(orders, lines_of, strict=True) for variant, quantity in lines
    ], batch_size=1000)
    _payments(store, orders, rng)
    OrderEvent.objects.bulk_create([
        OrderEvent(order=order, kind="created", to_status=order.status, note="Demo history.",
                   actor_label="system") for order in orders
    ], batch_size=1000)
    return len(orders)


def _payments(store: Store, orders: list[Order], rng: random.Random) -> None:
    """Each order's payment as its payment status says, and the refunds of the refunded ones."""
    payments, refunded_amounts = [], []
    for order in orders:
        status, paid_at, refunded = PaymentStatus.PENDING, None, Decimal("0")
        if order.payment_status in (OrderPaymentStatus.PAID, OrderPaymentStatus.PARTIALLY_REFUNDED,
                                    OrderPaymentStatus.REFUNDED):
            status, paid_at = PaymentStatus.PAID, order.created_at + timedelta(minutes=rng.randint(2, 600))
        if order.payment_status == OrderPaymentStatus.PARTIALLY_REFUNDED:
            status, refunded = PaymentStatus.PARTIALLY_REFUNDED, money_round(order.total * Decimal("0.3"),
                                                                              order.currency)
        elif order.payment_status == OrderPaymentStatus.REFUNDED:
            status, refunded = PaymentStatus.REFUNDED, order.total
        elif order.status == OrderStatus.CANCELLED:
            status = PaymentStatus.CANCELLED
        payments.append(Payment(store=store, order=order, gateway=order.payment_method, status=status,
                                amount=order.total, currency=order.currency, refunded_amount=refunded,
                                email=order.email, paid_at=paid_at))
        refunded_amounts.append(refunded)
    Payment.objects.bulk_create(payments, batch_size=1000)
    Refund.objects.bulk_create([
        Refund(store=store, payment=payment, amount=amount, currency=payment.currency, reason="Demo history.",
               status=RefundStatus.SUCCEEDED)
        for payment, amount in zip(payments, refunded_amounts, strict=True) if amount > 0
    ], batch_size=1000)


@transaction.atomic
def seed_events_history(store: Store, *, days: int = HISTORY_DAYS) -> int:
    """Storefront sessions over the store's last ``days`` days: page and product views, searches, carts and
    checkouts, and a purchase for each order of that day (so conversion is what the orders say). Returns how many
    events."""
    rng = random.Random(f"events:{store.slug}")
    products = list(Variant.objects.filter(store=store, product__status=ProductStatus.PUBLISHED)
                    .values_list("product_id", flat=True).distinct())
    if not products:
        return 0
    now = timezone.now()
    today = local_date(now, store.zone)
    orders_by_day: dict[date, list[tuple[str, datetime]]] = {}
    for number, created_at in Order.objects.filter(store=store).values_list("number", "created_at"):
        orders_by_day.setdefault(local_date(created_at, store.zone), []).append((number, created_at))
    events: list[tuple] = []
    serial = 0
    for days_ago in range(days - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        bought = orders_by_day.get(day, [])
        # roughly 3 % of sessions buy; the rest browse
        for visit in range(max(len(bought) * 30, rng.randint(20, 60))):
            start = _moment(rng, day, store, now)
            if start is None:
                continue
            serial += 1
            session = f"demo-{store.pk}-{serial}"
            steps = [(EventType.PAGE_VIEW, {})]
            steps += [(EventType.PRODUCT_VIEW, {"product_id": rng.choice(products)})
                      for _ in range(rng.choice([0, 1, 1, 2, 3]))]
            if rng.random() < 0.2:
                steps.append((EventType.SEARCH, {"query": rng.choice(["tee", "mug", "hoodie", "gift", "lamp"])}))
            if visit < len(bought):
                number, placed = bought[visit]
                steps += [(EventType.ADD_TO_CART, {"product_id": rng.choice(products)}),
                          (EventType.CHECKOUT_STARTED, {}), (EventType.PURCHASE, {"order_number": number})]
                start = min(start, placed - timedelta(minutes=len(steps)))
            elif rng.random() < 0.08:
                steps += [(EventType.ADD_TO_CART, {"product_id": rng.choice(products)})]
                if rng.random() < 0.4:
                    steps.append((EventType.CHECKOUT_STARTED, {}))
            for offset, (kind, fields) in enumerate(steps):
                moment = start + timedelta(minutes=offset)
                events.append((store.pk, kind, session, fields.get("product_id"), fields.get("query", ""),
                               fields.get("order_number", ""), moment, min(moment, now)))
    _events_insert(events)
    return len(events)


def _events_insert(rows: list[tuple]) -> None:
    """One INSERT run over all the rows (executemany): model instances cost ten times as much for this many."""
    adapt = connection.ops.adapt_datetimefield_value
    table, quote = Event._meta.db_table, connection.ops.quote_name
    columns = ["store_id", "type", "session_id", "product_id", "query", "order_number", "occurred_at", "received_at"]
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, [(*row[:6], adapt(row[6]), adapt(row[7])) for row in rows[start:start + 5000]])
