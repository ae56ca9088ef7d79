"""Webhook endpoints: create, change, delete, test-ping and redeliver (each audited)."""

import uuid

from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_diff, audit_record
from config.api.envelope import now_iso
from config.api.errors import DomainError, ValidationFailed
from config.celery import task_publish_on_commit
from plans.services import plan_limit_check
from stores.models import Store

from .. import events
from ..models import WebhookDelivery, WebhookEndpoint
from ..webhooks import DestinationUnresolvable, UnsafeDestination, destination_resolve


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
    """Creates an endpoint with a new signing secret. Raises ValidationFailed for an unsafe URL or unknown event,
    PlanLimitReached (403) when the store has as many endpoints as its plan allows."""
    plan_limit_check(store=store, limit="webhooks")
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
    from ..tasks import webhook_delivery_send_task

    task_publish_on_commit(webhook_delivery_send_task, delivery.pk)
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
    from ..tasks import webhook_delivery_send_task

    task_publish_on_commit(webhook_delivery_send_task, delivery.pk)
    return delivery
