"""Checkouts and cancellations move stock without making the store's cached catalog pages stale (catalog.cache
"stock"): an unrelated listing stays a hit, and the sold product's own pages show its stock as it is."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import cache as catalog_cache
from catalog.services import product_summary_refresh
from orders import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_store_ids():
    catalog_cache._slug_ids.clear()


def read(client, base: str, path: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{base}/{path}")
    assert response.status_code == 200, response.content
    return response, len(captured)


@pytest.fixture
def shelf(make_variant, category_factory, store):
    """A (one unit left) and B (in a category of its own), with their products' summaries as the services keep."""
    a = make_variant(stock=1, product_name="A")
    b = make_variant(stock=9, product_name="B")
    b.product.category = category_factory(store=store, name="Mugs")
    b.product.save()
    product_summary_refresh(product_ids=[a.product_id, b.product_id])
    return a, b


def place(store, cart_with, variant, capture):
    with capture(execute=True):
        return services.order_place(store=store, cart=cart_with((variant, 1)), email="buyer@example.com",
                                    shipping_address={"city": "Benghazi"}, payment_method="cod")


def test_a_checkout_leaves_an_unrelated_listing_cached_and_shows_the_sold_out_product(
        api, base, store, shelf, cart_with, django_capture_on_commit_callbacks):
    a, b = shelf
    paths = ["products?category=mugs", f"products/{b.product_id}", "products", f"products/{a.product_id}"]
    for path in paths:
        read(api, base, path)
    # when a buyer takes A's last unit
    place(store, cart_with, a, django_capture_on_commit_callbacks)
    # then no page ran a query: B's listing and page are untouched, and the pages showing A are hits too
    for path in paths:
        response, queries = read(api, base, path)
        assert (queries, response["X-Cache"]) == (0, "hit"), path
    page = read(api, base, f"products/{a.product_id}")[0].json()["data"]
    assert page["in_stock"] is False
    assert page["variants"][0]["available"] == 0 and page["variants"][0]["reserved"] == 1
    listed = {p["name"]: p for p in read(api, base, "products")[0].json()["data"]}
    assert listed["A"]["in_stock"] is False and listed["B"]["in_stock"] is True


def test_a_cancellation_puts_the_product_back_in_stock_on_the_cached_pages(
        api, base, store, shelf, cart_with, django_capture_on_commit_callbacks):
    a, _ = shelf
    order = place(store, cart_with, a, django_capture_on_commit_callbacks)
    assert read(api, base, "products?in_stock=true")[0].json()["pagination"]["total"] == 1
    read(api, base, f"products/{a.product_id}")
    # when the order is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order)
    # then A's page, still a hit, shows it buyable, and the in-stock list counts it again
    response, queries = read(api, base, f"products/{a.product_id}")
    assert queries == 0 and response.json()["data"]["in_stock"] is True
    assert response.json()["data"]["variants"][0]["available"] == 1
    assert read(api, base, "products?in_stock=true")[0].json()["pagination"]["total"] == 2
