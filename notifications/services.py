"""Events: emit() fans out to in-app notifications, emails and signed outgoing webhooks."""

import logging
import random
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from auditlog.services import audit_diff, audit_record, jsonable
from config.api.envelope import now_iso
from config.api.errors import DomainError, ValidationFailed
from config.emails import email_enqueue
from stores.models import Store
from teams.models import Membership

from . import events
from .models import (
    Notification,
    NotificationPreference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from .webhooks import (
    DestinationUnresolvable,
    UnsafeDestination,
    destination_resolve,
    webhook_body,
    webhook_post,
    webhook_sign,
)

logger = logging.getLogger(__name__)


# --- emit ---------------------------------------------------------------------------------------


def emit(event_type: str, store: Store, payload: dict, actor=None) -> None:
    """Publishes an event from inside the caller's transaction; nothing leaves before COMMIT.

    Webhook deliveries are written as rows in the same transaction (so a rollback leaves
    none); sending them and the notification/email fan-out are enqueued on commit, so the
    request never waits on the network. Raises ValueError for an unknown event type.
    """
    if event_type not in events.EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; see notifications.events.EVENT_TYPES")
    event_id = uuid.uuid4().hex
    data = jsonable(payload)
    body = {"type": event_type, "timestamp": now_iso(), "data": data}
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(store=store, is_active=True).only("id", "events")
        if event_type in endpoint.events
    ]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event_type=event_type, webhook_id=f"msg_{event_id}", payload=body)
        for endpoint in endpoints
    )
    from .tasks import event_fanout_task, webhook_delivery_send_task

    for delivery in deliveries:
        transaction.on_commit(partial(webhook_delivery_send_task.delay, delivery.pk))
    actor_user_id = actor.pk if isinstance(actor, get_user_model()) else None
    transaction.on_commit(partial(event_fanout_task.delay, event_type, store.pk, data, event_id, actor_user_id))


# --- notifications ------------------------------------------------------------------------------

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
    *, event_type: str, store: Store, payload: dict, event_id: str, actor_user_id: int | None = None
) -> int:
    """Notifies the store's members who opted in (in-app, email) and emails the customer.

    Runs once per event: a second run of the same ``event_id`` does nothing. Returns how
    many members were notified.
    """
    if not cache.add(f"event-fanout:{event_id}", 1, timeout=7 * 24 * 3600):
        return 0
    notified = members_notify(
        store=store, event_type=event_type, payload=payload, event_id=event_id, exclude_user_id=actor_user_id
    )
    customer_template = CUSTOMER_EMAILS.get(event_type)
    customer_email = payload.get("email") or payload.get("customer_email")
    if customer_template and customer_email:
        email_enqueue(
            template=customer_template, to=[customer_email], context=_email_context(store, event_type, payload)
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
    """Creates in-app notifications and enqueues emails per each member's preference (or role default)."""
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
    return len({n.user_id for n in notifications} | set(recipients))


def _email_context(store: Store, event_type: str, payload: dict) -> dict:
    return {"store_name": store.name, "store_slug": store.slug, "event_type": event_type, "data": payload}


def notification_list(*, user, unread: bool = False):
    queryset = Notification.objects.filter(user=user).select_related("store")
    return queryset.filter(read_at__isnull=True) if unread else queryset


def notification_mark_read(*, notification: Notification) -> Notification:
    """Marks one notification read (idempotent: the first read time stays)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Marks every unread notification of ``user`` read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_delete(*, notification: Notification) -> None:
    notification.delete()


def notification_preferences_get(*, user) -> dict[str, dict[str, bool]]:
    """Per event type ``{in_app, email, default}``: the saved choice, else the default of the user's top role."""
    saved = {p.event_type: p for p in NotificationPreference.objects.filter(user=user)}
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    top_role = next((role for role in ("owner", "admin", "staff", "viewer") if role in roles), None)
    result = {}
    for event_type in events.NOTIFICATION_EVENT_TYPES:
        preference = saved.get(event_type)
        if preference:
            result[event_type] = {"in_app": preference.in_app, "email": preference.email, "default": False}
        else:
            result[event_type] = {**events.role_default(top_role, event_type), "default": True}
    return result


@transaction.atomic
def notification_preferences_set(*, user, preferences: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Saves the given event types' choices (a missing flag keeps its current value); returns all of them.

    Raises ValidationFailed for an unknown event type.
    """
    unknown = sorted(set(preferences) - set(events.NOTIFICATION_EVENT_TYPES))
    if unknown:
        raise ValidationFailed("Unknown event type.", **{name: ["Unknown event type."] for name in unknown})
    current = notification_preferences_get(user=user)
    for event_type, choice in preferences.items():
        NotificationPreference.objects.update_or_create(
            user=user,
            event_type=event_type,
            defaults={
                "in_app": choice.get("in_app", current[event_type]["in_app"]),
                "email": choice.get("email", current[event_type]["email"]),
            },
        )
    return notification_preferences_get(user=user)


# --- webhook endpoints --------------------------------------------------------------------------


class EndpointInactive(DomainError):
    default_message = "The webhook endpoint is disabled; re-enable it first."


def webhook_url_validate(url: str) -> None:
    try:
        destination_resolve(url)
    except UnsafeDestination as exc:
        raise ValidationFailed(str(exc), url=[str(exc)]) from exc
    except DestinationUnresolvable as exc:
        raise ValidationFailed(str(exc), url=[str(exc)]) from exc


def webhook_events_validate(event_types: list[str]) -> list[str]:
    unknown = [name for name in event_types if name not in events.WEBHOOK_EVENT_TYPES]
    if unknown or not event_types:
        message = f"Unknown event type: {', '.join(unknown)}." if unknown else "Choose at least one event."
        raise ValidationFailed(message, events=[message])
    return list(dict.fromkeys(event_types))


@transaction.atomic
def webhook_endpoint_create(
    *, store: Store, url: str, events: list[str], description: str = "", is_active: bool = True,
    actor=None,
) -> WebhookEndpoint:
    """Creates an endpoint with a new signing secret. Raises ValidationFailed for an unsafe URL or unknown event."""
    webhook_url_validate(url)
    endpoint = WebhookEndpoint.objects.create(
        store=store, url=url, events=webhook_events_validate(events), description=description, is_active=is_active,
        disabled_at=None if is_active else timezone.now(),
    )
    audit_record(
        store=store, actor=actor, action="webhook.created", target=endpoint,
        changes={"url": url, "events": endpoint.events, "is_active": is_active},
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor=None, **fields) -> WebhookEndpoint:
    """Changes url, events, description, is_active; re-enabling clears the failure streak."""
    before = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description,
              "is_active": endpoint.is_active}
    if "url" in fields and fields["url"] != endpoint.url:
        webhook_url_validate(fields["url"])
    if "events" in fields:
        fields["events"] = webhook_events_validate(fields["events"])
    for name in ("url", "events", "description", "is_active"):
        if name in fields:
            setattr(endpoint, name, fields[name])
    if "is_active" in fields:
        if fields["is_active"] and not before["is_active"]:
            endpoint.failure_count = 0
            endpoint.disabled_at = None
        elif not fields["is_active"] and before["is_active"]:
            endpoint.disabled_at = timezone.now()
    endpoint.save()
    after = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description,
             "is_active": endpoint.is_active}
    changes = audit_diff(before, after)
    if changes:
        audit_record(store=endpoint.store, actor=actor, action="webhook.updated",
                     target=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor=None) -> None:
    """Deletes the endpoint and its delivery log."""
    audit_record(store=endpoint.store, actor=actor, action="webhook.deleted", target=endpoint,
                 changes={"url": endpoint.url})
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_test(*, endpoint: WebhookEndpoint, actor=None) -> WebhookDelivery:
    """Queues a ``webhook.test`` ping to the endpoint (audited). Raises EndpointInactive when it is disabled."""
    if not endpoint.is_active:
        raise EndpointInactive()
    event_id = uuid.uuid4().hex
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type=events.WEBHOOK_TEST,
        webhook_id=f"msg_{event_id}",
        payload={
            "type": events.WEBHOOK_TEST,
            "timestamp": now_iso(),
            "data": {"endpoint_id": endpoint.pk, "store": endpoint.store.slug, "message": "Test event"},
        },
    )
    audit_record(store=endpoint.store, actor=actor, action="webhook.tested", target=endpoint,
                 changes={"delivery": delivery.pk, "webhook_id": delivery.webhook_id})
    from .tasks import webhook_delivery_send_task

    transaction.on_commit(partial(webhook_delivery_send_task.delay, delivery.pk))
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """Sends a delivery again with a fresh round of retries (same webhook-id, so receivers can dedupe).

    Raises EndpointInactive when the endpoint is disabled.
    """
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        raise EndpointInactive()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.PENDING, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    delivery.refresh_from_db()
    audit_record(store=endpoint.store, actor=actor, action="webhook.redelivered",
                 object_type="notifications.webhookdelivery", object_id=str(delivery.pk),
                 changes={"endpoint": endpoint.pk, "webhook_id": delivery.webhook_id})
    from .tasks import webhook_delivery_send_task

    transaction.on_commit(partial(webhook_delivery_send_task.delay, delivery.pk))
    return delivery


# --- webhook deliveries -------------------------------------------------------------------------

LEASE = timedelta(seconds=60)  # longer than one attempt can take (connect + read timeouts)
CLOCK_TOLERANCE = timedelta(seconds=2)


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failures: exponential, capped, with ±25 % jitter.

    With the defaults (15 s × 3ⁿ, capped at 6 h, 11 attempts) the retries span about a day.
    """
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * (3 ** max(0, attempts - 1))
    return min(base, settings.WEBHOOK_RETRY_MAX_SECONDS) * random.uniform(0.75, 1.25)


def is_retryable(status_code: int | None) -> bool:
    """Network errors and timeouts (no status), 429 and 5xx are retried; other answers are final."""
    return status_code is None or status_code == 429 or status_code >= 500


def webhook_delivery_attempt(*, delivery_id: int) -> float | None:
    """Makes one attempt when the delivery is due and not already in flight; logs it.

    Returns the seconds until the next retry, or None when there is nothing more to do
    (succeeded, given up, not due, or a duplicate task). Safe to run twice.
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.PENDING, next_attempt_at__lte=now + CLOCK_TOLERANCE
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1, updated_at=now)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint__store").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _delivery_finish(delivery, WebhookDelivery.FAILED, None, "The endpoint is disabled.", count_failure=False)
        return None
    if delivery.attempts > settings.WEBHOOK_MAX_ATTEMPTS:
        # Earlier claims died mid-attempt (a killed worker) and the resume job kept re-enqueueing it.
        _delivery_finish(delivery, WebhookDelivery.FAILED, delivery.last_status_code,
                         delivery.last_error or "Gave up: the attempts did not finish.")
        return None

    body = webhook_body(delivery.payload)
    timestamp = int(timezone.now().timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": "StoreWebhooks/1.0",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(
            secret=endpoint.secret, msg_id=delivery.webhook_id, timestamp=timestamp, body=body
        ),
    }
    try:
        response = webhook_post(url=endpoint.url, headers=headers, body=body)
    except UnsafeDestination as exc:
        WebhookAttempt.objects.create(delivery=delivery, error=str(exc)[:500])
        _delivery_finish(delivery, WebhookDelivery.FAILED, None, str(exc))
        return None

    status_code = response.status_code
    succeeded = status_code is not None and 200 <= status_code < 300
    redirected = status_code is not None and 300 <= status_code < 400
    attempt_error = response.error or (f"HTTP {status_code}: redirects are not followed" if redirected else "")
    error = attempt_error or ("" if succeeded else f"HTTP {status_code}")
    WebhookAttempt.objects.create(
        delivery=delivery, status_code=status_code, duration_ms=response.duration_ms,
        response_excerpt=response.excerpt, error=attempt_error[:500], succeeded=succeeded,
    )
    if succeeded:
        _delivery_finish(delivery, WebhookDelivery.SUCCEEDED, status_code, "")
        return None
    if is_retryable(status_code) and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay(delivery.attempts)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay), last_status_code=status_code,
            last_error=error[:500], updated_at=timezone.now(),
        )
        return delay
    _delivery_finish(delivery, WebhookDelivery.FAILED, status_code, error)
    return None


@transaction.atomic
def _delivery_finish(
    delivery: WebhookDelivery, status: str, status_code: int | None, error: str, *, count_failure: bool = True
) -> None:
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, next_attempt_at=None, last_status_code=status_code, last_error=error[:500], updated_at=now
    )
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if status == WebhookDelivery.SUCCEEDED:
        endpoints.filter(failure_count__gt=0).update(failure_count=0)
        return
    if not count_failure:
        return
    endpoints.update(failure_count=F("failure_count") + 1)
    disabled = endpoints.filter(
        is_active=True, failure_count__gte=settings.WEBHOOK_DISABLE_AFTER_FAILURES
    ).update(is_active=False, disabled_at=now)
    if disabled:
        endpoint = WebhookEndpoint.objects.select_related("store").get(pk=delivery.endpoint_id)
        logger.warning("webhook endpoint %s disabled after %s failed deliveries", endpoint.pk, endpoint.failure_count)
        webhook_endpoint_disabled_notify(endpoint=endpoint)


def webhook_endpoint_disabled_notify(*, endpoint: WebhookEndpoint) -> None:
    """Tells the store owner (in-app and email, per their preference) that an endpoint was disabled."""
    store = endpoint.store
    payload = {"endpoint_id": endpoint.pk, "url": endpoint.url, "failure_count": endpoint.failure_count,
               "disabled_at": endpoint.disabled_at}
    members_notify(
        store=store, event_type=events.WEBHOOK_ENDPOINT_DISABLED, payload=jsonable(payload),
        event_id=f"endpoint-disabled-{endpoint.pk}-{int(timezone.now().timestamp())}",
        only_user_ids=[store.owner_id, *Membership.objects.filter(store=store, role="owner").values_list(
            "user_id", flat=True)],
    )


def webhook_deliveries_resume(*, limit: int = 500) -> int:
    """Re-enqueues pending deliveries whose retry is overdue (a lost task, a worker that died mid-attempt)."""
    from .tasks import webhook_delivery_send_task

    overdue = timezone.now() - timedelta(seconds=settings.WEBHOOK_RESUME_AFTER_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        webhook_delivery_send_task.delay(delivery_id)
    return len(ids)


DELIVERY_RETENTION = timedelta(days=30)


def webhook_deliveries_purge() -> int:
    """Deletes finished deliveries (and their attempts) older than 30 days; returns how many."""
    deleted, _ = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED],
        created_at__lt=timezone.now() - DELIVERY_RETENTION,
    ).delete()
    return deleted
