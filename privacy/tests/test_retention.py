"""Retention (docs/PRIVACY.md): every kind's rule, run by the periodic job and `manage.py enforce_retention`; a dry run
prints what would go and changes nothing, a real run removes exactly that, a second run nothing more."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from analytics.models import Event
from auditlog.models import AuditLog, AuditLogImmutable, SecurityEvent
from auditlog.services import audit_person_erase
from billing.models import BillingEvent
from maker.models import Upload
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders.models import Cart, Order
from payments import services as payments
from payments.models import WebhookEvent
from privacy.models import DataExport, RetentionRun
from privacy.services import retention_enforce
from privacy.tasks import retention_enforce_task

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(days=7 * 365 + 10)
KINDS = ["carts", "analytics_events", "webhook_deliveries", "payment_events", "billing_events", "audit_entries",
         "unverified_accounts", "guest_orders", "data_exports", "security_events", "maker_uploads"]


@pytest.fixture
def aged(store, user_factory, cart_with, make_variant):
    """One row of each kind past its period and one still within it (or of a kind the rule spares)."""
    now = timezone.now()
    old, recent = now - LONG_AGO, now - timedelta(days=1)
    for when in (old, recent):
        Cart.objects.filter(pk=cart_with((make_variant(), 1)).pk).update(updated_at=when)
        Event.objects.create(store=store, type="page_view", session_id="s", occurred_at=when, received_at=when)
        AuditLog.objects.create(store=store, action="thing.done", created_at=when)
        SecurityEvent.objects.create(store=store, kind="permission_denied", created_at=when)
        upload = Upload.objects.create(store=store, filename="part.stl", declared_size=684, storage_name="none")
        Upload.objects.filter(pk=upload.pk).update(created_at=when)
        DataExport.objects.filter(pk=DataExport.objects.create(user=user_factory(email_verified=True),
                                                               status="done").pk).update(created_at=when)
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com", events=["order.paid"])
    for when, status in ((old, "succeeded"), (old, "pending"), (recent, "failed")):
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="m",
                                                  payload={}, status=status)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=when)
    for n, (when, status) in enumerate(((old, "processed"), (old, "held"), (recent, "ignored"))):
        event = WebhookEvent.objects.create(store=store, gateway="kashier", event_id=f"ev{n}", payload={"x": 1},
                                            status=status)
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=when)
        billing = BillingEvent.objects.create(event_id=f"evt{n}", event_type="invoice.paid", status=status.replace(
            "held", "pending"), payload={"data": {"object": {"customer_email": "merchant@example.com"}}})
        BillingEvent.objects.filter(pk=billing.pk).update(received_at=when)
    # accounts: never verified and idle (goes), verified, recent, and unverified but a buyer (all stay)
    for email, verified, when in (("idle@example.com", False, old), ("kept@example.com", True, old),
                                  ("new@example.com", False, recent), ("buyer@example.com", False, old)):
        User.objects.filter(pk=user_factory(email=email, email_verified=verified).pk).update(date_joined=when)
    # guest orders: one placed 7 years ago, one yesterday, and an old one of the unverified buyer's account
    placed = []
    for email, user in (("old-guest@example.com", None), ("new-guest@example.com", None),
                        ("buyer@example.com", User.objects.get(email="buyer@example.com"))):
        cart = cart_with((make_variant(price="4.00"), 1), user=user)
        order, _ = payments.checkout_complete(store=store, cart=cart, email=email, customer_name="Guest",
                                              shipping_address={"line1": "1 Main St", "country": "LY"},
                                              payment_method="cod", user=user)
        placed.append(order)
    Order.objects.filter(pk__in=[placed[0].pk, placed[2].pk]).update(created_at=old)
    return placed


def test_a_dry_run_prints_what_each_kind_would_remove_and_changes_nothing(aged):
    counts = _counts()
    out = StringIO()
    call_command("enforce_retention", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    expected = {"carts": 1, "analytics_events": 1, "webhook_deliveries": 1, "payment_events": 1,
                "billing_events": 1, "audit_entries": 1, "unverified_accounts": 1, "guest_orders": 1, "data_exports": 1,
                "security_events": 1, "maker_uploads": 1}
    for kind, count in expected.items():
        assert any(line.startswith(f"{kind}: would remove {count} (") for line in lines), (kind, lines)
    assert lines[-1].startswith("Dry run: nothing changed")
    assert _counts() == counts
    assert RetentionRun.objects.get().dry_run is True


def test_a_real_run_removes_exactly_that_and_a_second_run_nothing(aged):
    counts = _counts()
    old_guest, new_guest, buyers = aged
    totals = list(Order.objects.order_by("pk").values_list("total", "tax", "status"))
    # when
    run = retention_enforce()
    # then one of each kind went, the rest is untouched
    assert run.results == dict.fromkeys(KINDS, 1)
    after = _counts()
    for table in ("carts", "events", "exports", "deliveries", "payment_events", "billing_events", "users", "security"):
        assert after[table] == counts[table] - 1, table
    # the old audit entry went; the guest order's erasure wrote one (customer.erased)
    assert not AuditLog.objects.filter(created_at__lt=timezone.now() - LONG_AGO + timedelta(days=1)).exists()
    assert after["audit"] == counts["audit"]
    assert not User.objects.filter(email="idle@example.com").exists()
    assert User.objects.filter(email="buyer@example.com").exists()  # an order keeps the account
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending", "failed"}
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"held", "ignored"}
    assert set(BillingEvent.objects.values_list("status", flat=True)) == {"pending", "ignored"}
    # the old guest order keeps its amounts, the buyer erased; the others are as they were
    assert list(Order.objects.order_by("pk").values_list("total", "tax", "status")) == totals
    old_guest.refresh_from_db()
    assert (old_guest.email, old_guest.customer_name, old_guest.shipping_address) == ("", "deleted customer",
                                                                                       {"country": "LY"})
    assert Order.objects.get(pk=new_guest.pk).email == "new-guest@example.com"
    assert Order.objects.get(pk=buyers.pk).email == "buyer@example.com"
    assert AuditLog.objects.filter(store=old_guest.store, action="customer.erased").count() == 1
    # idempotent: the job again removes nothing
    assert retention_enforce_task.delay().get() == dict.fromkeys(KINDS, 0)
    assert _counts() == after


def test_zero_keeps_a_kind_for_ever(aged, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    settings.GUEST_ORDER_PERSONAL_DATA_YEARS = 0
    results = retention_enforce(dry_run=True).results
    assert results["audit_entries"] == 0 and results["guest_orders"] == 0 and results["carts"] == 1


def test_the_job_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert entry["task"] == "privacy.tasks.retention_enforce_task"


# the per-kind jobs that ran beside privacy-retention before it owned their kinds
OLD_JOBS = {"carts-prune": "orders.tasks.carts_prune_task",
            "analytics-events-prune": "analytics.tasks.events_prune_task",
            "webhook-deliveries-purge": "notifications.tasks.webhook_deliveries_purge_task"}


def test_privacy_retention_is_the_one_job_that_removes_each_kind():
    from config.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert not set(OLD_JOBS) & set(settings.CELERY_BEAT_SCHEDULE) and not set(OLD_JOBS.values()) & scheduled
    app.loader.import_default_modules()
    assert not set(OLD_JOBS.values()) & set(app.tasks)  # no worker runs them either


def test_one_kind_by_hand(aged):
    # given idle carts and other kinds due, when only carts are enforced, then only carts go
    out = StringIO()
    call_command("enforce_retention", "--kind", "carts", stdout=out)
    assert out.getvalue().splitlines() == ["carts: removed 1 (kept 30 days)", "Done; 1 row(s) in all."]
    assert RetentionRun.objects.get().results == {"carts": 1}
    assert retention_enforce(dry_run=True).results["carts"] == 0
    assert retention_enforce(dry_run=True).results["analytics_events"] > 0
    with pytest.raises(CommandError):
        call_command("enforce_retention", "--kind", "nope", stdout=StringIO())


def test_the_retention_report_in_the_admin(aged, admin_login, user_factory):
    retention_enforce(dry_run=True)
    staff = user_factory(email="root@example.com", is_staff=True, is_superuser=True)
    page = admin_login(staff).get("/admin/privacy/retentionrun/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="retention-policy"' in html
    for kind in KINDS:
        assert kind in html
    # merchants do not see it
    assert admin_login(aged[0].store.owner).get("/admin/privacy/retentionrun/").status_code in (302, 403)


@pytest.mark.postgres
def test_the_audit_log_stays_append_only_outside_the_two_rules(store):
    entry = AuditLog.objects.create(store=store, action="x", changes={"email": "a@example.com"})
    assert audit_person_erase(texts=["a@example.com"]) == 1
    # after the erasure, in the same transaction, the trigger refuses a plain change again
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE auditlog_auditlog SET action = 'y' WHERE id = %s", [entry.pk])
    with pytest.raises(AuditLogImmutable):
        AuditLog.objects.filter(pk=entry.pk).update(action="y")
    entry.refresh_from_db()
    assert entry.changes == {"email": "[erased]"} and entry.action == "x"


def _counts() -> dict:
    return {"carts": Cart.objects.count(), "events": Event.objects.count(), "audit": AuditLog.objects.count(),
            "exports": DataExport.objects.count(), "deliveries": WebhookDelivery.objects.count(),
            "payment_events": WebhookEvent.objects.count(), "billing_events": BillingEvent.objects.count(),
            "users": User.objects.count(),
            "security": SecurityEvent.objects.count(),
            "orders": list(Order.objects.order_by("pk").values_list("email", flat=True))}
