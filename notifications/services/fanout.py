"""Emit and fan-out: an event becomes webhook delivery rows in the caller's transaction, then in-app
notifications and emails to the members who opted in (and the customer) after COMMIT."""

import logging
import uuid
from collections.abc import Callable
from email.utils import formataddr
from functools import partial

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from auditlog.services import jsonable
from config.api.envelope import now_iso
from config.celery import task_publish_on_commit
from config.db import rows_select
from config.emails import email_enqueue
from plans.services import plan_has_feature
from stores.models import Store
from teams.models import Membership

from .. import events
from ..models import Notification, NotificationPreference, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# What the live stream (the `live` app, above) is handed: lists of records, each {"type", "store", "data"} and the
# audience tags ("order", "customer", "cart" for an order's events; "user" for an in-app notification). Registered
# at startup (live.apps), so notifications knows no stream; none registered: nothing is published.
_LIVE_LISTENERS: list[Callable[[list[dict]], None]] = []


def live_listener_register(listener: Callable[[list[dict]], None]) -> None:
    """Hands every event and in-app notification to ``listener`` once it is committed (idempotent per listener)."""
    if listener not in _LIVE_LISTENERS:
        _LIVE_LISTENERS.append(listener)


def live_publish(records: list[dict]) -> None:
    """Best effort: the stream is a convenience beside the stored notifications, never a reason to fail the work."""
    if not records:
        return
    for listener in _LIVE_LISTENERS:
        try:
            listener(records)
        except Exception:  # noqa: BLE001 - logged; what was committed stays committed
            logger.exception("live publish failed", extra={"records": len(records)})


def emit(event_type: str, store: Store, payload: dict, actor=None, audience: dict | None = None) -> None:
    """Publishes an event from inside the caller's transaction; nothing leaves before COMMIT.

    Webhook deliveries are written as rows in the same transaction (so a rollback leaves
    none); sending them and the notification/email fan-out are enqueued on commit, so the
    request never waits on the network. ``audience`` tags the event for the live stream
    (``order``, ``customer``, ``cart``: who besides the store's members may see it). Raises
    ValueError for an unknown event type.
    """
    if event_type not in events.EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; see notifications.events.EVENT_TYPES")
    event_id = uuid.uuid4().hex
    data = jsonable(payload)
    body = {"type": event_type, "timestamp": now_iso(), "data": data}
    # every checkout reads them: one fixed statement (config.db; the ORM's queryset cost 0.4 ms of the 10)
    endpoints = [
        endpoint
        for endpoint in rows_select(WebhookEndpoint, "store_id = %s AND is_active = %s ORDER BY id", [store.pk, True],
                                    fields=("events",))
        if event_type in endpoint.events
    ]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event_type=event_type, webhook_id=f"msg_{event_id}", payload=body)
        for endpoint in endpoints
    ) if endpoints else []
    from ..tasks import event_fanout_task, webhook_delivery_send_task

    for delivery in deliveries:
        task_publish_on_commit(webhook_delivery_send_task, delivery.pk)
    actor_user_id = actor.pk if isinstance(actor, get_user_model()) else None
    # the message's argsrepr (what monitoring shows) names the payload instead of Celery walking it to build one;
    # task_publish: every checkout sends it, apply_async cost 0.5 ms more
    task_publish_on_commit(event_fanout_task, event_type, store.pk, data, event_id, actor_user_id, audience, lean=True,
                           argsrepr=repr((event_type, store.pk, "<payload>", event_id, actor_user_id, audience)))


EMAIL_TEMPLATES = {
    events.ORDER_CREATED: "order_new",
    events.INVENTORY_LOW_STOCK: "low_stock",
    events.WEBHOOK_ENDPOINT_DISABLED: "webhook_disabled",
}
GENERIC_EMAIL_TEMPLATE = "store_event"
CUSTOMER_EMAILS = {
    events.ORDER_CREATED: "order_confirmation",
    events.ORDER_STATUS_CHANGED: "order_status_changed",
    events.ORDER_CANCELLED: "order_status_changed",
    events.ORDER_REFUNDED: "order_status_changed",
}


def event_fanout(
    *, event_type: str, store: Store, payload: dict, event_id: str, actor_user_id: int | None = None,
    audience: dict | None = None,
) -> int:
    """Notifies the store's members who opted in (in-app, email), emails the customer and hands the event and the
    in-app notifications to the live stream (one publish).

    Runs once per event: a second run of the same ``event_id`` does nothing. Returns how
    many members were notified.
    """
    if not cache.add(f"event-fanout:{event_id}", 1, timeout=7 * 24 * 3600):
        return 0
    record = {"type": event_type, "store": store.pk, "event_id": event_id, "data": payload,
              **{tag: value for tag, value in (audience or {}).items() if value is not None}}
    notified, live = _members_notify(
        store=store, event_type=event_type, payload=payload, event_id=event_id, exclude_user_id=actor_user_id
    )
    transaction.on_commit(partial(live_publish, [record, *live]))
    customer_template = CUSTOMER_EMAILS.get(event_type)
    customer_email = payload.get("email") or payload.get("customer_email")
    if customer_template and customer_email:
        email_enqueue(
            template=customer_template,
            to=[customer_email],
            context=_email_context(store, event_type, payload),
            from_email=store_email_sender(store),
        )
    return notified


def members_notify(
    *,
    store: Store,
    event_type: str,
    payload: dict,
    event_id: str,
    exclude_user_id: int | None = None,
    only_user_ids: list[int] | None = None,
) -> int:
    """Creates in-app notifications and enqueues emails per each member's preference (or role default); the in-app
    ones reach the live stream after COMMIT."""
    notified, live = _members_notify(store=store, event_type=event_type, payload=payload, event_id=event_id,
                                     exclude_user_id=exclude_user_id, only_user_ids=only_user_ids)
    transaction.on_commit(partial(live_publish, live))
    return notified


def _members_notify(
    *,
    store: Store,
    event_type: str,
    payload: dict,
    event_id: str,
    exclude_user_id: int | None = None,
    only_user_ids: list[int] | None = None,
) -> tuple[int, list[dict]]:
    memberships = Membership.objects.filter(store=store, user__is_active=True).select_related("user")
    if only_user_ids is not None:
        memberships = memberships.filter(user_id__in=only_user_ids)
    if exclude_user_id is not None:
        memberships = memberships.exclude(user_id=exclude_user_id)
    memberships = list(memberships)
    explicit = {
        preference.user_id: preference
        for preference in NotificationPreference.objects.filter(
            user_id__in=[membership.user_id for membership in memberships], event_type=event_type
        )
    }
    title, body = events.event_describe(event_type, payload)
    notifications, recipients = [], []
    for membership in memberships:
        preference = explicit.get(membership.user_id)
        choice = (
            {"in_app": preference.in_app, "email": preference.email}
            if preference
            else events.role_default(membership.role, event_type)
        )
        if choice["in_app"]:
            notifications.append(
                Notification(
                    user=membership.user, store=store, event_type=event_type, event_id=event_id,
                    title=title[:200], body=body, data=payload,
                )
            )
        if choice["email"] and membership.user.email:
            recipients.append(membership.user.email)
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    template = EMAIL_TEMPLATES.get(event_type, GENERIC_EMAIL_TEMPLATE)
    context = {**_email_context(store, event_type, payload), "title": title, "body": body}
    for recipient in recipients:  # one message each: members do not see each other's addresses
        email_enqueue(template=template, to=[recipient], context=context)
    live = [{"type": "notification", "store": store.pk, "user": notification.user_id, "event_id": event_id,
             "data": {"event_type": event_type, "title": notification.title, "body": body, "store": store.slug}}
            for notification in notifications]
    return len({n.user_id for n in notifications} | set(recipients)), live


def store_email_sender(store: Store) -> str:
    """Who customers' emails come from: the store's own address, named by the store, while its plan includes the
    custom email sender (checked when sending: a downgrade falls back at once); else "" (DEFAULT_FROM_EMAIL)."""
    if not store.email_sender or not plan_has_feature(store, "custom_email_sender"):
        return ""
    return formataddr((store.name, store.email_sender))


def _email_context(store: Store, event_type: str, payload: dict) -> dict:
    return {"store_name": store.name, "store_slug": store.slug, "event_type": event_type, "data": payload}
