"""Races the webhook pipeline must win on PostgreSQL: real threads, each on its own connection, no mocks."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from config.api.errors import DomainError
from config.money import money_str
from orders.models import Order, OrderEvent
from orders.services import orders_expire
from payments import services
from payments.models import Payment, WebhookEvent
from tests.races import race

from .conftest import SECRET
from .signed_gateway import HEADER, NAME, event_body, sign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture
def place(store, signed_gateway, make_variant, cart_with):
    signed_gateway.configure(store)

    def make(variant=None, quantity=1):
        variant = variant or make_variant(stock=50)
        order, payment = services.checkout_complete(store=store, cart=cart_with((variant, quantity)),
                                                    email="buyer@example.com", shipping_address=ADDRESS,
                                                    payment_method=NAME)
        return order, payment

    return make


def stored(store, payment, event_id: str, outcome: str = "paid") -> WebhookEvent:
    """An event as the view stores it, its task not run yet (a worker picks it up)."""
    return WebhookEvent.objects.create(store=store, gateway=NAME, event_id=event_id, event_type=f"payment.{outcome}",
                                       payload={"notification": {
                                           "event_id": event_id, "event_type": f"payment.{outcome}",
                                           "outcome": outcome, "order_number": payment.order.number,
                                           "reference": payment.reference,
                                           "amount": money_str(payment.amount, payment.currency),
                                           "currency": payment.currency, "message": "Declined"}})


def test_one_event_processed_by_five_workers_at_once_has_one_effect(store, place):
    order, payment = place()
    event = stored(store, payment, "evt_race")

    results = race(*(lambda: services.webhook_event_process(event_id=event.pk) for _ in range(5)))

    assert not [result for result in results if isinstance(result, Exception)], results
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.payment_status, payment.status) == ("processing", "paid", "paid")
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.filter(action="order.paid").count() == 1
    assert AuditLog.objects.filter(action="payment.paid").count() == 1


def test_the_same_delivery_ten_times_at_once_is_stored_and_applied_once(store, place):
    order, payment = place()
    body = event_body("evt_burst", "payment.succeeded", order=order.number, reference=payment.reference,
                      amount=money_str(payment.amount, payment.currency), currency=payment.currency)
    headers = {f"HTTP_{HEADER.upper().replace('-', '_')}": sign(SECRET, body)}

    def deliver():
        return APIClient().post(f"/api/v1/payments/webhooks/{NAME}/{store.slug}", data=body,
                                content_type="application/json", **headers).status_code

    assert race(*(deliver for _ in range(10))) == [200] * 10
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().status == "processed"
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    payment.refresh_from_db()
    assert payment.status == "paid"


def test_a_success_and_a_failure_of_one_payment_at_once_end_paid(store, place):
    for round_ in range(4):  # each race can fall either way
        order, payment = place()
        paid = stored(store, payment, f"evt_paid_{round_}")
        failed = stored(store, payment, f"evt_failed_{round_}", outcome="failed")

        results = race(*(lambda event=event: services.webhook_event_process(event_id=event.pk)
                         for event in (paid, failed)))

        assert not [result for result in results if isinstance(result, Exception)], results
        order.refresh_from_db()
        payment.refresh_from_db()
        assert (order.status, order.payment_status, payment.status) == ("processing", "paid", "paid")
        assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1


def test_two_success_events_of_one_payment_at_once_pay_it_once(store, place):
    order, payment = place()
    first, second = stored(store, payment, "evt_a"), stored(store, payment, "evt_b")

    results = race(lambda: services.webhook_event_process(event_id=first.pk),
                   lambda: services.webhook_event_process(event_id=second.pk))

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(WebhookEvent.objects.values_list("status", flat=True)) == ["processed", "processed"]
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.filter(action="payment.paid").count() == 1


def test_successes_racing_the_expiry_job_end_paid_with_their_stock_reserved_once(store, place, make_variant):
    variant = make_variant(stock=100)
    placed = []
    for round_ in range(3):  # a few rounds: each race can fall either way
        batch = [place(variant) for _ in range(5)]
        placed += batch
        Order.objects.filter(status="pending").update(reserved_until=timezone.now() - timedelta(minutes=1))
        events = [stored(store, payment, f"evt_{round_}_{payment.pk}") for _, payment in batch]

        results = race(orders_expire, *(lambda event=event: services.webhook_event_process(event_id=event.pk)
                                        for event in events))

        assert all(not isinstance(result, Exception) or isinstance(result, DomainError) for result in results), results
    # whichever came first, every order ends paid with its unit reserved once
    for order, payment in placed:
        order.refresh_from_db()
        payment.refresh_from_db()
        assert (order.status, order.payment_status, payment.status, order.hold_reason) == (
            "processing", "paid", "paid", ""), order
        movements = InventoryMovement.objects.filter(order=order)
        assert sum(movements.values_list("reserved_delta", flat=True)) == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    variant.refresh_from_db()
    assert variant.reserved == len(placed)
    assert Payment.objects.filter(status="paid").count() == len(placed)
