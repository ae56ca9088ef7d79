"""Storefront events: a batch checked as a whole and written with one INSERT; pruned after the retention period."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.consents import ANALYTICS, consent_granted
from catalog.models import Product
from config.api.errors import ValidationFailed
from orders.models import Order
from orders.services import order_number_normalize
from stores.models import Store

from ..models import Event, EventType

MAX_BATCH = 100
# occurred_at may run this far ahead of our clock (the storefront's clock is not ours)
CLOCK_SKEW = timedelta(minutes=5)
PRUNE_BATCH = 5000
NEEDS = {EventType.PRODUCT_VIEW: "product", EventType.ADD_TO_CART: "product", EventType.SEARCH: "query",
         EventType.PURCHASE: "order"}


def event_check(*, event: dict, now: datetime) -> dict[str, str]:
    """One event's problems, field → message ({} when it is fine): the field its type needs, a time that is not
    in the future nor older than the retention period."""
    problems = {}
    needed = NEEDS.get(event.get("type"))
    if needed and not event.get(needed):
        problems[needed] = f"Required for a {event['type']} event."
    occurred_at = event.get("occurred_at")
    if occurred_at is not None:
        if occurred_at > now + CLOCK_SKEW:
            problems["occurred_at"] = "Must not be in the future."
        elif occurred_at < now - timedelta(days=settings.ANALYTICS_RETENTION_DAYS):
            problems["occurred_at"] = f"Must be within the last {settings.ANALYTICS_RETENTION_DAYS} days."
    return problems


@transaction.atomic
def events_record(*, store: Store, events: list[dict], user=None) -> int:
    """Checks a storefront's batch (at most MAX_BATCH events: type, session_id, product?, query?, order?,
    occurred_at?) and writes all of it with one INSERT, or nothing: an event of another store's product or order,
    or one that ``event_check`` refuses, raises ValidationFailed (400) naming every bad event by its index
    ("Item 3: product: …"). A batch sent by a signed-in ``user`` who does not consent to analytics
    (``accounts.consents``) is checked, then dropped. Returns how many it wrote."""
    if not events:
        raise ValidationFailed("No events.", events=["At least one event."])
    if len(events) > MAX_BATCH:
        raise ValidationFailed(f"At most {MAX_BATCH} events.", events=[f"At most {MAX_BATCH} events per batch."])
    now = timezone.now()
    product_ids = {event["product"] for event in events if event.get("product")}
    known_products = set(Product.objects.filter(store=store, pk__in=product_ids).values_list("pk", flat=True))
    numbers = {order_number_normalize(event["order"]) for event in events if event.get("order")}
    known_orders = set(Order.objects.filter(store=store, number__in=numbers).values_list("number", flat=True))
    problems = []
    for index, event in enumerate(events):
        found = event_check(event=event, now=now)
        if event.get("product") and event["product"] not in known_products:
            found.setdefault("product", "No such product in this store.")
        if event.get("order") and order_number_normalize(event["order"]) not in known_orders:
            found.setdefault("order", "No such order in this store.")
        problems += [f"Item {index}: {name}: {message}" for name, message in found.items()]
    if problems:
        raise ValidationFailed("An event is invalid; none were recorded.", events=problems)
    if user is not None and not consent_granted(user=user, purpose=ANALYTICS):
        return 0
    Event.objects.bulk_create([
        Event(store_id=store.pk, type=event["type"], session_id=event["session_id"],
              product_id=event.get("product") or None, query=(event.get("query") or "")[:200],
              order_number=order_number_normalize(event["order"]) if event.get("order") else "",
              occurred_at=event.get("occurred_at") or now, received_at=now)
        for event in events
    ])
    return len(events)


def events_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes events received more than ANALYTICS_RETENTION_DAYS ago, in batches (each its own short
    transaction). The rollups keep those days' figures. Returns how many went (dry: would)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    if dry_run:
        return Event.objects.filter(received_at__lt=cutoff).count()
    deleted = 0
    while True:
        ids = list(Event.objects.filter(received_at__lt=cutoff).order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += Event.objects.filter(pk__in=ids).delete()[0]
