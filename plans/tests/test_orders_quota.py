"""The plan's monthly orders: checkout counts each order placed in the store's month in its own transaction; past
the limit it answers 403 PLAN_LIMIT_REACHED and places nothing; the order that uses the last place tells the
owners at once (in-app and email), so a refused sale is never a surprise."""

from datetime import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from orders.models import Cart, Order
from orders.services import order_cancel
from plans.errors import PlanLimitReached
from plans.models import MonthlyOrders
from plans.services import order_quota_take, store_plan_set, store_usage
from tests.races import race

from .conftest import refused

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def checkout(client, store, cart):
    return client.post(
        f"/api/v1/stores/{store.slug}/checkout",
        {
            "cart": str(cart.pk),
            "email": "buyer@example.com",
            "shipping_address": ADDRESS,
            "payment_method": "cod",
        },
        format="json",
    )


@pytest.mark.django_db
def test_checkout_past_the_monthly_orders_is_refused_and_places_nothing(
    api, store, on_plan, make_variant, cart_with, member_factory, django_capture_on_commit_callbacks
):
    on_plan(store, orders_per_month=2)
    admin = member_factory(store, "admin")
    variant = make_variant(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        assert checkout(api, store, cart_with((variant, 1))).status_code == 201
    assert not Notification.objects.filter(event_type="plan.limit_reached").exists()
    # the second order uses the last place: owners and admins are told at once
    with django_capture_on_commit_callbacks(execute=True):
        assert checkout(api, store, cart_with((variant, 1))).status_code == 201
    told = Notification.objects.filter(event_type="plan.limit_reached")
    assert sorted(told.values_list("user_id", flat=True)) == sorted([store.owner_id, admin.pk])
    assert "2 orders" in told.first().title
    # the third is refused: nothing placed, the cart kept for later
    cart = cart_with((variant, 1))
    response = checkout(api, store, cart)
    refused(response, "orders_per_month", 2, 2)
    assert Order.objects.filter(store=store).count() == 2
    assert Cart.objects.filter(pk=cart.pk).exists()
    variant.refresh_from_db()
    assert variant.reserved == 2
    assert store_usage(store)["orders_per_month"] == 2
    assert told.count() == 2  # told once, not at every refusal


@pytest.mark.django_db
def test_a_checkout_that_fails_gives_its_place_back(api, store, on_plan, make_variant, cart_with):
    on_plan(store, orders_per_month=1)
    variant = make_variant(stock=1)
    short = cart_with((variant, 1))
    variant.stock_quantity = 0
    variant.save(update_fields=["stock_quantity"])
    assert checkout(api, store, short).status_code == 409  # OUT_OF_STOCK after the place was counted: rolled back
    variant.stock_quantity = 5
    variant.save(update_fields=["stock_quantity"])
    assert checkout(api, store, cart_with((variant, 1))).status_code == 201


@pytest.mark.django_db
def test_the_count_starts_from_the_orders_of_the_month_and_resets_next_month(
    api, store, plan_factory, make_variant, cart_with
):
    variant = make_variant(stock=10)
    # placed while the plan did not limit orders (no counter)
    assert checkout(api, store, cart_with((variant, 1))).status_code == 201
    assert not MonthlyOrders.objects.exists()
    store_plan_set(store=store, plan=plan_factory(orders_per_month=2))
    store.refresh_from_db()
    assert checkout(api, store, cart_with((variant, 1))).status_code == 201
    refused(checkout(api, store, cart_with((variant, 1))), "orders_per_month", 2, 2)
    # next month the store has its orders again
    now = timezone.now()
    next_month = datetime(now.year + (now.month == 12), now.month % 12 + 1, 2, 12, tzinfo=store.zone)
    assert order_quota_take(store=store, now=next_month) == (1, 2)
    with pytest.raises(PlanLimitReached):
        order_quota_take(store=store)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_pass_the_monthly_orders(store, on_plan, make_variant, cart_with, monkeypatch):
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.allow_request", lambda self, r, v: True)
    on_plan(store, orders_per_month=3)
    variant = make_variant(stock=100)
    carts = [cart_with((variant, 1)) for _ in range(8)]

    results = race(*(lambda cart=cart: checkout(APIClient(), store, cart).status_code for cart in carts))

    assert sorted(results) == [201] * 3 + [403] * 5, results
    assert Order.objects.filter(store=store).count() == 3
    assert MonthlyOrders.objects.get(store=store).placed == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_never_pass_a_limit(store, on_plan):
    from catalog.models import Product
    from catalog.services import product_create

    on_plan(store, products=3)
    results = race(*(lambda n=n: product_create(store=store, name=f"P{n}") for n in range(6)))
    assert sum(isinstance(result, PlanLimitReached) for result in results) == 3, results
    assert Product.objects.filter(store=store).count() == 3


@pytest.mark.django_db
def test_a_cancelled_order_does_not_give_its_place_back(api, store, on_plan, make_variant, cart_with):
    # given: a plan of 2 orders a month, both placed (cash on delivery: processing at once), then cancelled
    on_plan(store, orders_per_month=2)
    variant = make_variant(stock=10)
    for _ in range(2):
        assert checkout(api, store, cart_with((variant, 1))).status_code == 201
    for order in Order.objects.filter(store=store):
        order_cancel(order=order, actor=store.owner)
    assert set(Order.objects.filter(store=store).values_list("status", flat=True)) == {"cancelled"}

    # then: the month's count is of orders placed: still 2, and the next checkout is refused
    assert MonthlyOrders.objects.get(store=store).placed == 2
    assert store_usage(store)["orders_per_month"] == 2
    refused(checkout(api, store, cart_with((variant, 1))), "orders_per_month", 2, 2)
