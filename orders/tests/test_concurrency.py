"""Races the stock, the coupon count and the order status must win: real threads, each on its own PostgreSQL
connection, real transactions, no mocks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import InventoryMovement
from config.api.errors import DomainError, ValidationFailed
from orders import services
from orders.errors import OutOfStock
from orders.models import Coupon, CouponUse, Order, OrderEvent
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def placing(store, cart, email="buyer@example.com"):
    return lambda: services.order_place(store=store, cart=cart, email=email, shipping_address={},
                                        payment_method="bank_transfer")


def test_thirty_buyers_racing_for_the_last_five_units_make_five_orders(store, make_variant, cart_with):
    # given 5 units and 30 carts holding one each (and a second, plentiful line, so locks overlap)
    scarce, plenty = make_variant(stock=5), make_variant(stock=1000)
    carts = [cart_with((plenty, 1), (scarce, 1)) for _ in range(30)]
    # when
    results = race(*(placing(store, cart) for cart in carts))
    # then
    orders = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if isinstance(result, OutOfStock)]
    assert len(orders) == 5 and len(refused) == 25, results
    scarce.refresh_from_db()
    plenty.refresh_from_db()
    assert (scarce.stock_quantity, scarce.reserved, scarce.available) == (5, 5, 0)
    assert plenty.reserved == 5
    assert Order.objects.count() == 5
    assert InventoryMovement.objects.filter(variant=scarce, reason="reserve").count() == 5
    assert InventoryMovement.objects.filter(reason="reserve").count() == 10


def test_a_coupon_limited_to_three_uses_raced_by_ten_buyers_is_used_three_times(store, make_variant, cart_with):
    coupon = Coupon.objects.create(store=store, code="THREE", kind="percent", value=Decimal("10"), usage_limit=3)
    variant = make_variant(stock=100)
    carts = []
    for _ in range(10):
        cart = cart_with((variant, 1))
        services.cart_coupon_apply(cart=cart, code="three")
        carts.append(cart)

    results = race(*(placing(store, cart, f"buyer{index}@example.com") for index, cart in enumerate(carts)))

    assert sum(isinstance(result, Order) for result in results) == 3, results
    assert all(isinstance(result, (Order, ValidationFailed)) for result in results), results
    coupon.refresh_from_db()
    assert coupon.used_count == 3 and CouponUse.objects.count() == 3
    variant.refresh_from_db()
    assert variant.reserved == 3  # the refused checkouts left no stock behind


def expired_orders(store, cart_with, variant, count):
    orders = [placing(store, cart_with((variant, 1)))() for _ in range(count)]
    Order.objects.update(reserved_until=timezone.now() - timedelta(minutes=1))
    return orders


def test_the_expiry_job_racing_mark_paid_never_cancels_a_paid_order(store, make_variant, cart_with):
    variant = make_variant(stock=100)
    for _ in range(3):  # a few rounds: each race can fall either way
        orders = expired_orders(store, cart_with, variant, 6)
        results = race(services.orders_expire,
                       *(lambda order=order: services.order_mark_paid(order=order) for order in orders))
        assert all(not isinstance(result, Exception) or isinstance(result, DomainError) for result in results)
        for order in Order.objects.filter(pk__in=[order.pk for order in orders]):
            assert (order.status, order.payment_status) in {("cancelled", "unpaid"), ("processing", "paid")}, order
            released = InventoryMovement.objects.filter(order=order, reason="release").count()
            assert released == (1 if order.status == "cancelled" else 0)
    variant.refresh_from_db()
    paid = Order.objects.filter(payment_status="paid").count()
    assert variant.reserved == paid


def test_two_expiry_jobs_at_once_cancel_each_order_once(store, make_variant, cart_with):
    variant = make_variant(stock=100)
    orders = expired_orders(store, cart_with, variant, 8)

    first, second = race(services.orders_expire, services.orders_expire)

    assert first + second == 8, (first, second)
    assert Order.objects.filter(status="cancelled").count() == 8
    assert InventoryMovement.objects.filter(reason="release").count() == 8
    assert OrderEvent.objects.filter(kind="status", to_status="cancelled").count() == 8
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert {order.pk for order in orders} == set(Order.objects.values_list("pk", flat=True))


def test_two_buyers_changing_their_carts_at_once_do_not_wait_for_each_other(store, make_variant, cart_with):
    # the cart's lock is its own row: locking the store row with it queued every cart change of the store behind
    # the others and deadlocked with checkouts (bench/storefront.sh's selling run)
    import threading
    import time

    from django.db import transaction

    first_variant, second_variant = make_variant(stock=50), make_variant(stock=50)
    first, second = cart_with(), cart_with()
    first_holds, second_done = threading.Event(), threading.Event()
    finished: dict[str, float] = {}

    def first_buyer():
        with transaction.atomic():
            services.cart_item_add(cart=first, variant_id=first_variant.pk, quantity=1)
            first_holds.set()
            second_done.wait(5)  # the transaction (and its locks) stays open until the other buyer is done
        finished["first"] = time.monotonic()

    def second_buyer():
        first_holds.wait(5)
        services.cart_item_add(cart=second, variant_id=second_variant.pk, quantity=1)
        finished["second"] = time.monotonic()
        second_done.set()

    results = race(first_buyer, second_buyer)

    assert results == [None, None], results
    assert finished["second"] < finished["first"]  # the second buyer was not held up by the first's open lock
    assert [line.variant_id for line in first.lines.all()] == [first_variant.pk]
    assert [line.variant_id for line in second.lines.all()] == [second_variant.pk]
