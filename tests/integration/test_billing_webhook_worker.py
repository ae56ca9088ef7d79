"""End to end: Stripe Billing's signed events posted to the running app, stored once and processed by a real Celery
worker (a subprocess on its own queue, on PostgreSQL and Redis): the store's plan and the subscription's status move,
and the same event posted again, or its task delivered again, has exactly one effect."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from auditlog.models import AuditLog
from billing.models import BillingEvent, Subscription
from billing.tasks import billing_event_process_task
from notifications import events
from notifications.models import Notification
from plans.models import Plan
from tests.integration.servers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SECRET = "whsec_billing_e2e_0123456789"
TASK = "billing.tasks.billing_event_process_task"


def signed_post(url: str, payload: dict) -> requests.Response:
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    signature = hmac.new(SECRET.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
    return requests.post(url, data=body, timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={signature}"})


def event(event_id: str, type: str, obj: dict, created: int) -> dict:
    return {"id": event_id, "object": "event", "type": type, "created": created, "data": {"object": obj}}


def test_billing_webhooks_are_processed_by_a_real_worker_once(celery_worker, live_server, settings, store):
    # given: billing on, and the store's subscription as subscription_change leaves it (Stripe made it, not paid yet)
    settings.BILLING_STRIPE_SECRET_KEY = "sk_test_platform_e2e"
    settings.BILLING_STRIPE_WEBHOOK_SECRET = SECRET
    # made here: a transactional test before this one may have flushed the plans the migration seeds
    pro, _ = Plan.objects.update_or_create(code="pro-e2e", defaults={
        "name": "Pro E2E", "price": "29", "stripe_price_id": "price_pro_e2e"})
    subscription = Subscription.objects.create(store=store, plan=pro, status="incomplete",
                                               stripe_customer_id="cus_E2E", stripe_subscription_id="sub_E2E")
    url = f"{live_server.url}/api/v1/billing/webhooks/stripe"
    now = int(time.time())
    updated = event("evt_e2e_updated", "customer.subscription.updated", {
        "id": "sub_E2E", "object": "subscription", "customer": "cus_E2E", "status": "active",
        "current_period_end": int((timezone.now() + timedelta(days=30)).timestamp()), "cancel_at_period_end": False,
        "items": {"object": "list", "data": [{"id": "si_E2E", "price": {"id": "price_pro_e2e"}}]},
    }, now)

    # when: Stripe sends customer.subscription.updated (active)
    response = signed_post(url, updated)

    # then: answered at once, and the worker (not this process) put the store on the paid plan
    assert (response.status_code, response.json()["data"]) == (200, {"received": True, "event": "evt_e2e_updated"})
    stored = BillingEvent.objects.get(event_id="evt_e2e_updated")
    done = wait_for(lambda: BillingEvent.objects.filter(pk=stored.pk, status="processed").exists(), timeout=20)
    assert done, "".join(celery_worker[-40:])
    store.refresh_from_db()
    subscription.refresh_from_db()
    assert (store.plan_id, subscription.status) == (pro.pk, "active")
    assert worker_runs(celery_worker) == 1

    # when: invoice.payment_failed comes for it
    failed = event("evt_e2e_failed", "invoice.payment_failed", {
        "id": "in_E2E", "object": "invoice", "customer": "cus_E2E", "subscription": "sub_E2E"}, now + 1)
    assert signed_post(url, failed).status_code == 200

    # then: past due (the plan kept for the grace period), the owner told once
    assert wait_for(lambda: Subscription.objects.filter(pk=subscription.pk, status="past_due").exists(), timeout=20), (
        "".join(celery_worker[-40:]))
    assert wait_for(lambda: Notification.objects.filter(
        user=store.owner, event_type=events.BILLING_PAYMENT_FAILED).exists(), timeout=15)
    subscription.refresh_from_db()
    past_due_since = subscription.past_due_since
    assert past_due_since is not None

    # when: Stripe retries both events (re-signed), and a broker redelivers both tasks to the worker
    for payload in (updated, failed, updated):
        again = signed_post(url, payload)
        assert again.status_code == 200, again.text
    before = worker_runs(celery_worker)
    for pk in BillingEvent.objects.values_list("pk", flat=True):
        billing_event_process_task.delay(pk)
    assert wait_for(lambda: worker_runs(celery_worker) >= before + 2, timeout=15), "".join(celery_worker[-40:])

    # then: each event stored once and applied once; nothing moved again
    assert list(BillingEvent.objects.order_by("event_id").values_list("event_id", "status", "attempts")) == [
        ("evt_e2e_failed", "processed", 1), ("evt_e2e_updated", "processed", 1)]
    assert AuditLog.objects.filter(store=store, action="store.plan_changed").count() == 1
    assert Notification.objects.filter(user=store.owner, event_type=events.BILLING_PAYMENT_FAILED).count() == 1
    subscription.refresh_from_db()
    store.refresh_from_db()
    assert (subscription.status, subscription.past_due_since, store.plan_id) == ("past_due", past_due_since, pro.pk)


def worker_runs(output: list[str]) -> int:
    """The billing tasks the worker finished (its log's ``Task … succeeded`` lines)."""
    return sum(1 for line in list(output) if TASK in line and "succeeded" in line)
