"""Holding an order for review and releasing it (orders.services.holds)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from config.api.errors import InvalidTransition
from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(store, cart_with, make_variant):
    return services.order_place(store=store, cart=cart_with((make_variant(stock=5), 2)), email="b@example.com",
                                shipping_address={}, payment_method="bank_transfer")


def test_a_held_order_says_why_keeps_its_first_reason_and_is_released_once(order):
    held = services.order_hold(order=order, reason="Amount mismatch: paid 5.00, expected 20.00.")
    again = services.order_hold(order=order, reason="Another reason")
    assert held.hold_reason == again.hold_reason == "Amount mismatch: paid 5.00, expected 20.00."
    assert list(order.events.filter(kind="held").values_list("note", flat=True)) == [held.hold_reason]
    assert AuditLog.objects.filter(action="order.held").count() == 1

    released = services.order_hold_release(order=order, note="Customer called")
    assert (released.hold_reason, released.held_at) == ("", None)
    assert order.events.get(kind="released").note == "Customer called"
    with pytest.raises(InvalidTransition):
        services.order_hold_release(order=order)


def test_the_expiry_job_leaves_a_held_order_alone(order):
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    services.order_hold(order=order, reason="Velocity: 3 failed payments for this email in 1 hour.")
    assert services.orders_expire() == 0
    assert Order.objects.get(pk=order.pk).status == "pending"
    services.order_hold_release(order=order)  # with a fresh reservation: expired only once that runs out too
    assert services.orders_expire() == 0
    assert services.orders_expire(now=timezone.now() + timedelta(minutes=31)) == 1


def test_a_released_pending_order_gets_a_fresh_reservation_and_a_paid_one_none(order, store, cart_with, make_variant):
    # given a pending order held long past its reservation, and a paid (cod, processing) one
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(hours=5))
    services.order_hold(order=order, reason="Fraud check: …")
    paid = services.order_place(store=store, cart=cart_with((make_variant(stock=5), 1)), email="c@example.com",
                                shipping_address={}, payment_method="cod", initial_status="processing")
    services.order_mark_paid(order=paid)
    services.order_hold(order=paid, reason="Paid twice.")
    # when both are released
    released = services.order_hold_release(order=order)
    services.order_hold_release(order=paid)
    # then the pending one has its full reservation again, so the expiry job does not cancel it at once
    assert released.reserved_until >= timezone.now() + timedelta(minutes=29)
    assert services.orders_expire() == 0
    assert Order.objects.get(pk=paid.pk).reserved_until is None
