"""Stripe Billing's events: signed (verified over the raw body, in constant time, by the SDK), stored once per event
id, processed by the worker (eager here; the task is the one a worker runs), and moving the store's plan and the
subscription's status: active, past_due within the grace period, back to the default plan after it, cancelled
at the end of the paid period."""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from billing.models import BillingEvent, Subscription
from billing.services import subscriptions_expire
from notifications.models import Notification
from plans.models import Plan

pytestmark = pytest.mark.django_db

SECRET = "whsec_billing_test"
URL = "/api/v1/billing/webhooks/stripe"


@pytest.fixture(autouse=True)
def billing_on(settings):
    settings.BILLING_STRIPE_SECRET_KEY = "sk_test_platform"
    settings.BILLING_STRIPE_WEBHOOK_SECRET = SECRET
    settings.BILLING_GRACE_DAYS = 7


@pytest.fixture
def pro(db):
    plan = Plan.objects.get(code="pro")
    plan.stripe_price_id = "price_pro"
    plan.save()
    return plan


@pytest.fixture
def subscribed(store, pro):
    """The store's row as subscription_change leaves it once Stripe made the customer and the subscription."""
    return Subscription.objects.create(
        store=store, plan=pro, status="incomplete", stripe_customer_id="cus_A", stripe_subscription_id="sub_A"
    )


_serial = iter(range(1, 10_000))


def event(type: str, obj: dict, *, created: int | None = None, id: str | None = None) -> dict:
    return {
        "id": id or f"evt_{next(_serial)}",
        "object": "event",
        "type": type,
        "created": created or int(time.time()),
        "data": {"object": obj},
    }


def subscription_obj(
    status: str = "active", price: str = "price_pro", period_end: datetime | None = None, **extra
) -> dict:
    end = period_end or timezone.now() + timedelta(days=30)
    return {
        "id": "sub_A",
        "object": "subscription",
        "customer": "cus_A",
        "status": status,
        "current_period_end": int(end.timestamp()),
        "cancel_at_period_end": False,
        "items": {"object": "list", "data": [{"id": "si_A", "price": {"id": price}}]},
        **extra,
    }


def invoice_obj(**extra) -> dict:
    return {"id": "in_A", "object": "invoice", "customer": "cus_A", "subscription": "sub_A", **extra}


def post(api, payload: dict, *, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(payload).encode()
    t = timestamp or int(time.time())
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return api.post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=f"t={t},v1={signature}")


def test_a_signed_subscription_update_puts_the_store_on_the_paid_plan(
    api, store, pro, subscribed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, event("customer.subscription.updated", subscription_obj()))
    assert response.status_code == 200, response.json()
    store.refresh_from_db()
    subscribed.refresh_from_db()
    assert store.plan == pro
    assert subscribed.status == "active" and subscribed.current_period_end > timezone.now()
    assert BillingEvent.objects.get().status == "processed"


def test_a_forged_or_stale_signature_is_refused_and_nothing_is_stored(api, store, subscribed):
    payload = event("customer.subscription.updated", subscription_obj())
    forged = post(api, payload, secret="whsec_someone_else")
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "VALIDATION_ERROR" and "signature" in forged.json()["error"]["details"]
    stale = post(api, payload, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 400
    unsigned = api.post(URL, data=json.dumps(payload), content_type="application/json")
    assert unsigned.status_code == 400
    assert not BillingEvent.objects.exists()
    store.refresh_from_db()
    assert store.plan_id is None
    # the platform's security log has each, tied to no store
    from auditlog.models import SecurityEvent

    assert list(SecurityEvent.objects.values_list("kind", "store_id", "details__source")) == [
        ("webhook_signature_invalid", None, "billing webhook")] * 3


def test_a_replayed_event_is_processed_once(api, store, pro, subscribed, django_capture_on_commit_callbacks):
    payload = event("customer.subscription.updated", subscription_obj())
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post(api, payload).status_code == 200
    assert BillingEvent.objects.count() == 1
    assert BillingEvent.objects.get().attempts == 1
    assert AuditLog.objects.filter(action="store.plan_changed").count() == 1


def test_a_failed_invoice_keeps_the_plan_for_the_grace_period_then_falls_back(
    api, store, pro, subscribed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(api, event("customer.subscription.updated", subscription_obj()))
        response = post(api, event("invoice.payment_failed", invoice_obj()))
    assert response.status_code == 200
    subscribed.refresh_from_db()
    store.refresh_from_db()
    assert subscribed.status == "past_due" and subscribed.past_due_since is not None
    assert store.plan == pro  # within the grace period
    assert Notification.objects.filter(event_type="billing.payment_failed", user=store.owner).count() == 1
    state = api_state(store)
    assert state["status"] == "past_due" and state["grace_until"]

    # the hourly job: still within the grace period, nothing moves; after it, the default plan
    assert subscriptions_expire(now=subscribed.past_due_since + timedelta(days=6)) == 0
    store.refresh_from_db()
    assert store.plan == pro
    assert subscriptions_expire(now=subscribed.past_due_since + timedelta(days=7, minutes=1)) == 1
    store.refresh_from_db()
    assert store.plan_id is None
    assert subscriptions_expire(now=subscribed.past_due_since + timedelta(days=8)) == 0  # twice: nothing more

    # the card is fixed: paid again, the plan is back
    with django_capture_on_commit_callbacks(execute=True):
        post(api, event("invoice.paid", invoice_obj(status="paid")))
    subscribed.refresh_from_db()
    store.refresh_from_db()
    assert (subscribed.status, subscribed.past_due_since, store.plan) == ("active", None, pro)


def api_state(store) -> dict:
    from billing.services import subscription_state

    state = subscription_state(store=store)
    return {"status": state["status"], "grace_until": state["grace_until"]}


def test_a_cancelled_subscription_keeps_the_plan_until_the_period_ends(
    api, store, pro, subscribed, django_capture_on_commit_callbacks
):
    end = timezone.now() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        post(api, event("customer.subscription.updated", subscription_obj(period_end=end)))
        post(api, event("customer.subscription.deleted", subscription_obj(status="canceled", period_end=end)))
    subscribed.refresh_from_db()
    store.refresh_from_db()
    assert subscribed.status == "cancelled" and store.plan == pro
    assert subscriptions_expire(now=end - timedelta(hours=1)) == 0
    assert subscriptions_expire(now=end + timedelta(minutes=1)) == 1
    store.refresh_from_db()
    assert store.plan_id is None


def test_a_cancellation_after_its_period_falls_back_at_once(
    api, store, pro, subscribed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(api, event("customer.subscription.updated", subscription_obj()))
        post(
            api,
            event(
                "customer.subscription.deleted",
                subscription_obj(status="canceled", period_end=timezone.now() - timedelta(minutes=1)),
            ),
        )
    store.refresh_from_db()
    assert store.plan_id is None


def test_an_older_event_arriving_late_changes_nothing(api, store, pro, subscribed, django_capture_on_commit_callbacks):
    now = int(time.time())
    with django_capture_on_commit_callbacks(execute=True):
        post(api, event("customer.subscription.updated", subscription_obj(), created=now))
        post(api, event("invoice.payment_failed", invoice_obj(), created=now - 60))
    subscribed.refresh_from_db()
    assert subscribed.status == "active"


def test_events_about_no_subscription_of_ours_are_ignored(api, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post(
                api,
                event(
                    "customer.subscription.updated", {**subscription_obj(), "id": "sub_other", "customer": "cus_other"}
                ),
            ).status_code
            == 200
        )
        assert post(api, event("charge.succeeded", {"id": "ch_1", "object": "charge"})).status_code == 200
    assert set(BillingEvent.objects.values_list("status", flat=True)) == {"ignored"}


def test_without_a_webhook_secret_the_endpoint_is_404(api, settings):
    settings.BILLING_STRIPE_WEBHOOK_SECRET = ""
    assert post(api, event("customer.subscription.updated", subscription_obj())).status_code == 404


def test_a_processing_failure_is_recorded_and_changes_nothing(store, subscribed, monkeypatch):
    from billing import services

    stored = BillingEvent.objects.create(
        event_id="evt_boom",
        event_type="customer.subscription.updated",
        payload=event("customer.subscription.updated", subscription_obj()),
    )

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "subscription_apply", boom)
    processed = services.billing_event_process(event_id=stored.pk)
    assert (processed.status, processed.error) == ("failed", "RuntimeError")
    store.refresh_from_db()
    assert store.plan_id is None
