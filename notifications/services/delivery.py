"""The webhook delivery engine: one signed attempt at a time, retries with backoff, disabling an
endpoint that keeps failing, resuming lost deliveries and purging old ones."""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from auditlog.services import jsonable
from config import metrics
from teams.models import Membership

from .. import events
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..webhooks import UnsafeDestination, webhook_body, webhook_post, webhook_sign
from .fanout import members_notify

logger = logging.getLogger(__name__)


def attempt_lease() -> timedelta:
    """How long an attempt holds its delivery (WEBHOOK_ATTEMPT_LEASE_SECONDS, 60): longer than one attempt can take
    (the task's hard limit), so only a dead attempt's delivery is claimed again."""
    return timedelta(seconds=settings.WEBHOOK_ATTEMPT_LEASE_SECONDS)


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
    ).update(next_attempt_at=now + attempt_lease(), attempts=F("attempts") + 1, updated_at=now)
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
    metrics.count(metrics.WEBHOOK_ATTEMPTS_FAILED)
    if is_retryable(status_code) and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay(delivery.attempts)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay), last_status_code=status_code,
            last_error=error[:500], updated_at=timezone.now(),
        )
        return delay
    _delivery_finish(delivery, WebhookDelivery.FAILED, status_code, error)
    return None


def webhook_delivery_due_in(*, delivery_id: int) -> float | None:
    """Seconds until a pending delivery may be claimed (its retry, or the end of an attempt's lease; 0: now), or None
    when it is not pending (succeeded, given up, gone)."""
    due = (WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.PENDING)
           .values_list("next_attempt_at", flat=True).first())
    return None if due is None else max(0.0, (due - timezone.now()).total_seconds())


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
    metrics.count_on_commit(metrics.WEBHOOK_DELIVERIES_FAILED)
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
    from ..tasks import webhook_delivery_send_task

    overdue = timezone.now() - timedelta(seconds=settings.WEBHOOK_RESUME_AFTER_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.PENDING, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        webhook_delivery_send_task.delay(delivery_id)
    return len(ids)


DELIVERY_RETENTION = timedelta(days=30)  # the default of settings.WEBHOOK_DELIVERY_RETENTION_DAYS


def webhook_deliveries_purge(*, now=None, dry_run: bool = False) -> int:
    """Deletes finished deliveries (and their attempts) older than WEBHOOK_DELIVERY_RETENTION_DAYS (0: kept);
    returns how many deliveries (dry: would). Pending ones stay whatever their age."""
    days = getattr(settings, "WEBHOOK_DELIVERY_RETENTION_DAYS", DELIVERY_RETENTION.days)
    if not days:
        return 0
    finished = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED],
        created_at__lt=(now or timezone.now()) - timedelta(days=days),
    )
    if dry_run:
        return finished.count()
    _, deleted = finished.delete()
    return deleted.get(WebhookDelivery._meta.label, 0)
