"""Anonymous catalog reads come from the cache until a write makes them stale; members always read fresh."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import cache as catalog_cache
from catalog.models import Product, ProductImage
from catalog.tests.conftest import url
from stores.models import Store
from tests.factories import image_upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_store_ids")]


def queries_for(client, path: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, len(captured)


@pytest.mark.parametrize("path", ["products", "products?sort=price&limit=5", "categories", "categories?tree=true",
                                  "brands", "search?q=shirt", "search/suggestions?q=shi"])
def test_second_anonymous_read_runs_no_query(api, store, product_factory, category_factory, path):
    # given
    category = category_factory(store=store, name="Tops")
    product_factory(store=store, name="Blue Shirt", category=category)
    # when
    first, first_queries = queries_for(api, url(store, path))
    second, second_queries = queries_for(api, url(store, path))
    # then
    assert first.status_code == second.status_code == 200
    assert first_queries > 0
    assert second_queries == 0
    assert second["X-Cache"] == "hit"
    body_first, body_second = first.json(), second.json()
    body_first.pop("timestamp"), body_second.pop("timestamp")
    assert body_first == body_second


def test_detail_is_cached_and_keeps_the_envelope(api, store, product_factory):
    product = product_factory(store=store, name="Mug")
    api.get(url(store, f"products/{product.pk}"))
    response, count = queries_for(api, url(store, f"products/{product.pk}"))
    assert count == 0
    body = response.json()
    assert body["success"] is True and body["data"]["name"] == "Mug"
    assert body["timestamp"].endswith("Z")
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-ID"]


def test_query_order_and_unknown_parameters_share_an_entry(api, store, product_factory):
    product_factory(store=store)
    api.get(url(store, "products?sort=price&limit=5"))
    _, count = queries_for(api, url(store, "products?limit=5&utm_source=x&sort=price"))
    assert count == 0


def test_product_write_invalidates(api, staff_api, store, product_factory):
    # given a cached list
    product = product_factory(store=store, name="Old name")
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "Old name"
    # when a member renames it through the API
    assert staff_api.patch(url(store, f"products/{product.pk}"), {"name": "New name"},
                           format="json").status_code == 200
    # then the next anonymous read shows the change
    response, count = queries_for(api, url(store, "products"))
    assert count > 0
    assert response.json()["data"][0]["name"] == "New name"


@pytest.mark.parametrize("write", ["publish", "archive", "variant", "category", "image", "review",
                                   "delete"])
def test_every_public_write_invalidates(api, staff_api, store, product_factory, category_factory, user,
                                        client_for, write):
    category = category_factory(store=store, name="Tops")
    product = product_factory(store=store, name="Shirt", category=category)
    draft = product_factory(store=store, name="Draft", status="draft")
    path = url(store, "products")
    api.get(path)
    assert queries_for(api, path)[1] == 0  # cached
    if write == "publish":
        staff_api.post(url(store, f"products/{draft.pk}/publish"))
    elif write == "archive":
        staff_api.post(url(store, f"products/{product.pk}/archive"))
    elif write == "variant":
        variant = product.variants.get()
        staff_api.patch(url(store, f"products/{product.pk}/variants/{variant.pk}"), {"price": "99.00"},
                        format="json")
    elif write == "category":
        staff_api.patch(url(store, f"categories/{category.pk}"), {"name": "Shirts"}, format="json")
    elif write == "image":
        staff_api.post(url(store, f"products/{product.pk}/images"), {"file": image_upload()}, format="multipart")
        image = ProductImage.objects.get()
        api.get(path)
        staff_api.patch(url(store, f"products/{product.pk}/images/{image.pk}"), {"alt": "front"}, format="json")
    elif write == "review":
        client_for(user).post(url(store, f"products/{product.pk}/reviews"), {"rating": 5}, format="json")
    elif write == "delete":
        staff_api.delete(url(store, f"products/{product.pk}"))
    response, count = queries_for(api, path)
    assert count > 0, "the write should have invalidated the cached page"
    data = response.json()["data"]
    expected = {
        "publish": lambda: {p["name"] for p in data} == {"Shirt", "Draft"},
        "archive": lambda: data == [],
        "variant": lambda: data[0]["price"] == "99.00",
        "category": lambda: data[0]["category"]["name"] == "Shirts",
        "image": lambda: data[0]["images"][0]["alt"] == "front",
        "review": lambda: True,
        "delete": lambda: data == [],
    }[write]
    assert expected(), data


def test_member_bypasses_the_cache(api, staff_api, store, product_factory):
    # given a cached anonymous page, then a change the cache is not told about
    product = product_factory(store=store, name="Before")
    api.get(url(store, "products"))
    Product.objects.filter(pk=product.pk).update(name="After")
    # then the public still gets the cached page, the member sees the database
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "Before"
    assert staff_api.get(url(store, "products")).json()["data"][0]["name"] == "After"
    assert "X-Cache" not in staff_api.get(url(store, "products"))


def test_credentials_skip_the_cache(api, store, product_factory):
    product = product_factory(store=store, name="Before")
    api.get(url(store, "products"))
    Product.objects.filter(pk=product.pk).update(name="After")
    response = api.get(url(store, "products"), HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401  # never answered from the cache


def test_invalidate_function_for_the_store(api, store, product_factory):
    # the stores app calls catalog_cache_invalidate on store update and deactivation
    product_factory(store=store)
    api.get(url(store, "products"))
    Store.objects.filter(pk=store.pk).update(is_active=False)
    assert api.get(url(store, "products")).status_code == 200  # still cached: nobody said
    catalog_cache.catalog_cache_invalidate(store.pk)
    assert api.get(url(store, "products")).status_code == 404


def test_other_stores_are_not_invalidated(api, staff_api, store, other_store, product_factory):
    product_factory(store=other_store, name="Theirs")
    mine = product_factory(store=store, name="Mine")
    api.get(url(other_store, "products"))
    staff_api.patch(url(store, f"products/{mine.pk}"), {"name": "Mine 2"}, format="json")
    assert queries_for(api, url(other_store, "products"))[1] == 0


def test_errors_are_not_cached(api, store):
    assert api.get(url(store, "products/999999")).status_code == 404
    _, count = queries_for(api, url(store, "products/999999"))
    assert count > 0


def test_cache_can_be_switched_off(api, store, product_factory, settings):
    settings.CATALOG_CACHE_SECONDS = 0
    product_factory(store=store)
    api.get(url(store, "products"))
    _, count = queries_for(api, url(store, "products"))
    assert count > 0


def test_invalidation_runs_again_after_commit(store, django_capture_on_commit_callbacks):
    before = catalog_cache.generation(store.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        catalog_cache.catalog_cache_invalidate(store.pk)
        after_now = catalog_cache.generation(store.pk)
    assert len(callbacks) == 1
    assert after_now != before
    assert catalog_cache.generation(store.pk) not in (before, after_now)


def test_public_total_is_cached_until_a_write(api, staff_api, store, product_factory, settings):
    settings.CATALOG_CACHE_SECONDS = 0  # pages off: only the COUNT is cached
    for index in range(3):
        product_factory(store=store, name=f"P{index}")
    assert api.get(url(store, "products?limit=2")).json()["pagination"]["total"] == 3
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url(store, "products?limit=2&page=2")).json()["pagination"]["total"] == 3
    assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)
    staff_api.post(url(store, "products"), {"name": "P3", "status": "published"}, format="json")
    new = Product.objects.get(name="P3")
    staff_api.post(url(store, f"products/{new.pk}/publish"))
    assert api.get(url(store, "products?limit=2")).json()["pagination"]["total"] == 4


def test_local_micro_cache_is_bounded_in_time(api, staff_api, store, product_factory, settings, monkeypatch):
    settings.CATALOG_CACHE_LOCAL_MS = 200
    product = product_factory(store=store, name="Before")
    api.get(url(store, "products"))
    # a hit from process memory asks neither the database nor the cache
    monkeypatch.setattr(catalog_cache.cache, "get_many", lambda *a, **k: pytest.fail("asked the cache"))
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "Before"
    monkeypatch.undo()
    # a write in this process is seen at once
    staff_api.patch(url(store, f"products/{product.pk}"), {"name": "After"}, format="json")
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "After"
    # a write elsewhere (another worker) is seen once the trusted generation expires
    Product.objects.filter(pk=product.pk).update(name="Elsewhere")
    # what the other worker's catalog_cache_invalidate does to the shared cache
    catalog_cache.cache.incr(catalog_cache._generation_key(store.pk))
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "After"  # still trusted here
    known = catalog_cache._local_generations[store.pk]
    catalog_cache._local_generations[store.pk] = (known[0], 0.0)  # the trust period is over
    assert api.get(url(store, "products")).json()["data"][0]["name"] == "Elsewhere"
