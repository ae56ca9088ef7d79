"""The expiry job (service, task, management command) and the carts' prune rule (run by privacy-retention)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import InventoryMovement
from orders import services, tasks
from orders.models import Cart, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_order(store, cart_with):
    def make(variant, quantity=1, minutes_ago=None):
        order = services.order_place(store=store, cart=cart_with((variant, quantity)), email="b@example.com",
                                     shipping_address={}, payment_method="bank_transfer")
        if minutes_ago is not None:
            Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=minutes_ago))
        return order

    return make


def test_expired_unpaid_orders_are_cancelled_and_their_stock_released(store, make_variant, pending_order):
    # given an expired order, a live one and an expired but paid one
    variant = make_variant(stock=10)
    expired = pending_order(variant, 2, minutes_ago=1)
    live = pending_order(variant, 3)
    paid = pending_order(variant, 1, minutes_ago=5)
    services.order_mark_paid(order=paid)
    # when
    cancelled = services.orders_expire()
    # then
    assert cancelled == 1
    assert dict(Order.objects.values_list("pk", "status")) == {expired.pk: "cancelled", live.pk: "pending",
                                                               paid.pk: "processing"}
    variant.refresh_from_db()
    assert variant.reserved == 4
    release = InventoryMovement.objects.get(reason="release")
    assert (release.order_id, release.reserved_delta, release.actor_label) == (expired.pk, -2, "system")
    event = expired.events.get(kind="status")
    assert (event.to_status, event.note, event.actor_label) == ("cancelled", "The reservation expired before payment.",
                                                                "system")
    # and a second run finds nothing to do
    assert services.orders_expire() == 0
    assert InventoryMovement.objects.filter(reason="release").count() == 1


def test_the_expiry_task_and_command_run_the_service(store, make_variant, pending_order):
    variant = make_variant(stock=10)
    pending_order(variant, minutes_ago=1)
    assert tasks.orders_expire_task.delay().get() == 1
    pending_order(variant, minutes_ago=1)
    out = StringIO()
    call_command("orders_expire", stdout=out)
    assert "1 expired order(s) cancelled." in out.getvalue()


def test_idle_carts_are_pruned(store, settings, make_variant, cart_with):
    settings.CART_IDLE_DAYS = 30
    idle, fresh = cart_with((make_variant(), 1)), cart_with((make_variant(), 1))
    Cart.objects.filter(pk=idle.pk).update(updated_at=timezone.now() - timedelta(days=31))

    assert services.carts_prune() == 1

    assert list(Cart.objects.values_list("pk", flat=True)) == [fresh.pk]
    # the privacy-retention job runs it (kind carts; privacy/tests/test_retention.py)


def test_the_beat_schedule_runs_the_expiry_job(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "orders.tasks.orders_expire_task" in tasks_scheduled
    assert tasks.orders_expire_task.name == "orders.tasks.orders_expire_task"
