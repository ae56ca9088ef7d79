"""Races checkout and mark-paid must win on PostgreSQL: real threads, each on its own connection, no mocks."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import InventoryMovement
from config.api.errors import DomainError
from orders.models import Order
from orders.services import orders_expire
from payments import services
from payments.models import Payment
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture(autouse=True)
def _no_throttling(monkeypatch):
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.allow_request", lambda self, r, v: True)


def test_five_checkouts_with_one_idempotency_key_make_one_order(store, make_variant, cart_with):
    # given one cart, and a buyer whose client retries the same request 5 times at once
    variant = make_variant(stock=10)
    cart = cart_with((variant, 2))
    body = {"cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": ADDRESS,
            "payment_method": "bank_transfer"}

    def send():
        response = APIClient().post(f"/api/v1/stores/{store.slug}/checkout", body, format="json",
                                    HTTP_IDEMPOTENCY_KEY="same-key")
        return response.status_code, response.json()["data"]["number"]

    # when
    results = race(*(send for _ in range(5)))
    # then every answer names the one order
    order = Order.objects.get()
    assert results == [(201, order.number)] * 5, results
    assert Payment.objects.filter(order=order).count() == 1
    variant.refresh_from_db()
    assert variant.reserved == 2
    assert InventoryMovement.objects.filter(reason="reserve").count() == 1


def test_mark_paid_racing_the_expiry_job_never_pays_a_cancelled_order(store, make_variant, cart_with):
    variant = make_variant(stock=100)
    for _ in range(3):  # a few rounds: each race can fall either way
        placed = [services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="b@example.com",
                                             shipping_address=ADDRESS, payment_method="bank_transfer")
                  for _ in range(6)]
        Order.objects.filter(status="pending").update(reserved_until=timezone.now() - timedelta(minutes=1))

        results = race(orders_expire,
                       *(lambda payment=payment: services.payment_mark_paid(payment=payment) for _, payment in placed))

        assert all(not isinstance(result, Exception) or isinstance(result, DomainError) for result in results), results
        for order, payment in placed:
            order.refresh_from_db()
            payment.refresh_from_db()
            assert (order.status, order.payment_status, payment.status) in {
                ("cancelled", "unpaid", "cancelled"), ("processing", "paid", "paid")}, (order, payment)
    assert not Order.objects.filter(status="cancelled", payment_status="paid").exists()
    assert Payment.objects.filter(status="paid").count() == Order.objects.filter(payment_status="paid").count()
    variant.refresh_from_db()
    assert variant.reserved == Order.objects.filter(payment_status="paid").count()


def test_a_payment_webhook_being_applied_does_not_hold_up_the_stores_checkouts(store, make_variant, cart_with,
                                                                              settings, monkeypatch):
    # applying a notification locks its order's row and its payment's, never the store's: a checkout's inserts take a
    # key-share lock on the store row at COMMIT, so a store row locked FOR UPDATE held every checkout of the store
    # until the webhook committed, and deadlocked with some (bench/soak.sh: 503s under mixed load)
    import threading
    import time

    from django.db import transaction

    from payments.tests.test_kashier import setting_for, webhook

    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    setting_for(store, save=True)
    paid_variant, next_variant = make_variant(stock=50), make_variant(stock=50)
    order, payment = services.checkout_complete(store=store, cart=cart_with((paid_variant, 1)), email="a@example.com",
                                                shipping_address=ADDRESS, payment_method="kashier")
    monkeypatch.setattr("payments.services.webhooks._enqueue", lambda pk: None)  # applied below, by the "worker"
    body, headers = webhook({"merchantOrderId": order.number, "kashierOrderId": "k-1", "transactionId": "TX-1",
                             "status": "SUCCESS", "amount": str(payment.amount), "currency": payment.currency})
    event, _ = services.webhook_event_receive(store=store, gateway="kashier", body=body, headers=headers)
    next_cart = cart_with((next_variant, 1))
    applying, checked_out = threading.Event(), threading.Event()
    finished: dict[str, float] = {}

    def worker():
        with transaction.atomic():
            services.webhook_event_process(event_id=event.pk)
            applying.set()
            checked_out.wait(5)  # the transaction (and its locks) stays open until the buyer is done
        finished["webhook"] = time.monotonic()

    def buyer():
        applying.wait(5)
        placed, _ = services.checkout_complete(store=store, cart=next_cart, email="b@example.com",
                                               shipping_address=ADDRESS, payment_method="cod")
        finished["checkout"] = time.monotonic()
        checked_out.set()
        return placed.number

    results = race(worker, buyer)

    assert results[0] is None and isinstance(results[1], str), results
    assert finished["checkout"] < finished["webhook"]  # the buyer was not held up by the webhook's open transaction
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, order.payment_status, payment.status) == ("processing", "paid", "paid")
    assert Order.objects.get(number=results[1]).status == "processing"
