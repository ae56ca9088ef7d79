"""End to end: emit → Redis → a real Celery worker → HTTP receiver, with a retry after a 500."""

import json
import time

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from notifications import events
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from notifications.services import emit
from tests.integration.servers import wait_for

pytestmark = [
    pytest.mark.integration, pytest.mark.postgres,
]


def test_worker_retries_a_failed_delivery_and_logs_every_attempt(celery_worker, receiver, store_factory):
    # given: an endpoint whose receiver answers 500 first, then 200
    store = store_factory(name="Integration", slug="integration")
    endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=[events.ORDER_PAID])
    receiver.answer((500, {}, b"try later"), (200, {}, b"thanks"))
    # when: a service emits inside its transaction
    with transaction.atomic():
        emit(events.ORDER_PAID, store, {"id": 1, "number": "INT-1", "total": "10.00", "currency": "USD"})
    # then: the worker delivered twice and the second attempt succeeded
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.SUCCEEDED).first(),
        timeout=40,
    )
    assert delivery is not None, "".join(celery_worker[-40:])
    assert delivery.attempts == 2
    attempts = list(delivery.attempt_log.order_by("id"))
    assert [(a.status_code, a.succeeded) for a in attempts] == [(500, False), (200, True)]
    # the retry waited out its backoff (0.5 s here, ±25 % jitter) instead of firing at once
    assert (attempts[1].created_at - attempts[0].created_at).total_seconds() >= 0.5 * 0.75
    assert attempts[0].response_excerpt == "try later" and attempts[1].response_excerpt == "thanks"
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    Webhook(endpoint.secret).verify(first.body, first.headers)  # every attempt is signed afresh
    payload = Webhook(endpoint.secret).verify(second.body, second.headers)
    assert payload["type"] == "order.paid" and payload["data"]["number"] == "INT-1"
    assert json.loads(first.body) == json.loads(second.body)
    # and the same event reached the owner in-app, through the worker's fan-out task
    assert wait_for(
        lambda: Notification.objects.filter(user=store.owner, event_type=events.ORDER_PAID, store=store).exists(),
        timeout=10,
    )


def test_worker_does_not_retry_a_client_error(celery_worker, receiver, store_factory):
    # given: an endpoint whose receiver refuses the event with a 400
    store = store_factory(name="Integration 4xx", slug="integration-4xx")
    endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=[events.ORDER_PAID])
    receiver.answer((400, {}, b"bad event"), (200, {}, b"thanks"))
    # when
    with transaction.atomic():
        emit(events.ORDER_PAID, store, {"id": 2, "number": "INT-2", "total": "5.00", "currency": "USD"})
    # then: one attempt, logged, and the delivery failed for good
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.FAILED).first(),
        timeout=40,
    )
    assert delivery is not None, "".join(celery_worker[-40:])
    time.sleep(1.5)  # longer than a retry would wait here
    assert len(receiver.requests) == 1
    assert [(a.status_code, a.response_excerpt) for a in delivery.attempt_log.all()] == [(400, "bad event")]
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.next_attempt_at is None
