"""A stock change updates what the public sees of that product without making the store's cached pages stale
(catalog.cache "stock"); a product edit still does."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import cache as catalog_cache
from catalog.services import stock_adjust
from catalog.tests.conftest import url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_store_ids")]


def read(client, path: str):
    """The answer and how many queries it ran on the catalog and stores (the database cache's are not counted)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return response, sum(any(table in query["sql"] for table in ("catalog_", "stores_"))
                         and "cache_entries" not in query["sql"] for query in captured.captured_queries)


def fresh(client, path: str, settings):
    """The answer rendered from the database, the page cache off."""
    before = settings.CATALOG_CACHE_SECONDS
    settings.CATALOG_CACHE_SECONDS = 0
    try:
        return client.get(path).json()["data"]
    finally:
        settings.CATALOG_CACHE_SECONDS = before


def adjust(variant, delta: int, capture) -> None:
    with capture(execute=True):  # the stock map is written after COMMIT
        stock_adjust(variant=variant, delta=delta)


@pytest.fixture(params=["shared cache", "database cache"])
def any_cache(request):
    """The suite's cache (Redis with REDIS_URL, else local memory), and the embedded default's database cache."""
    if request.param == "database cache":
        request.getfixturevalue("database_cache")


@pytest.mark.usefixtures("any_cache")
def test_a_sell_out_shows_on_the_cached_pages_which_stay_cached(api, store, product_factory, category_factory,
                                                                settings, django_capture_on_commit_callbacks):
    # given a cached list, A's and B's details and a category listing B alone
    tops = category_factory(store=store, name="Tops")
    a = product_factory(store=store, name="A", stock_quantity=2)
    b = product_factory(store=store, name="B", category=tops)
    paths = ["products", f"products/{a.pk}", f"products/{b.pk}", "products?category=" + tops.slug,
             "search?q=A"]
    for path in paths:
        read(api, url(store, path))
    # when A's last two units are written off
    adjust(a.variants.get(), -2, django_capture_on_commit_callbacks)
    # then every page is still a hit, with no query, and says what the database says
    for path in paths:
        response, queries = read(api, url(store, path))
        assert (queries, response["X-Cache"]) == (0, "hit"), path
        assert response.json()["data"] == fresh(api, url(store, path), settings), path
    detail = read(api, url(store, f"products/{a.pk}"))[0].json()["data"]
    assert detail["in_stock"] is False
    assert {key: detail["variants"][0][key] for key in ("stock_quantity", "reserved", "available", "in_stock")} == {
        "stock_quantity": 0, "reserved": 0, "available": 0, "in_stock": False}


@pytest.mark.usefixtures("any_cache")
def test_answers_filtered_on_stock_follow_a_sell_out(api, store, product_factory, settings,
                                                    django_capture_on_commit_callbacks):
    # given the in-stock list cached with its total, and the plain list
    a = product_factory(store=store, name="A", stock_quantity=1)
    product_factory(store=store, name="B")
    in_stock = url(store, "products?in_stock=true&limit=1")
    assert read(api, in_stock)[0].json()["pagination"]["total"] == 2
    read(api, url(store, "products"))
    # when A sells out
    adjust(a.variants.get(), -1, django_capture_on_commit_callbacks)
    # then the in-stock list no longer counts nor lists A (a miss: its membership moved)
    response, queries = read(api, in_stock)
    assert queries > 0
    assert response.json()["pagination"]["total"] == 1
    assert [p["name"] for p in response.json()["data"]] == ["B"]
    # and the plain list is still a hit
    assert read(api, url(store, "products"))[1] == 0
    # and when A comes back, so does it in the in-stock list
    adjust(a.variants.get(), 3, django_capture_on_commit_callbacks)
    assert read(api, in_stock)[0].json()["pagination"]["total"] == 2


def test_a_price_edit_after_stock_changes_still_shows_at_once(api, staff_api, store, product_factory, settings,
                                                              django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    variant = product.variants.get()
    read(api, url(store, "products"))
    adjust(variant, -1, django_capture_on_commit_callbacks)
    assert read(api, url(store, "products"))[1] == 0
    # when the price changes
    changed = staff_api.patch(url(store, f"products/{product.pk}/variants/{variant.pk}"), {"price": "42.00"},
                              format="json")
    assert changed.status_code == 200
    # then the next anonymous read renders it, stock included
    response, queries = read(api, url(store, "products"))
    assert queries > 0
    data = response.json()["data"]
    assert data[0]["price"] == "42.00" and data[0]["variants"][0]["available"] == 4
    assert data == fresh(api, url(store, "products"), settings)


def test_a_lost_stock_map_makes_pages_misses_not_stale(api, store, product_factory,
                                                       django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    variant = product.variants.get()
    read(api, url(store, "products"))
    adjust(variant, -1, django_capture_on_commit_callbacks)
    assert read(api, url(store, "products"))[1] == 0
    # when the map is evicted and the counts change behind the cache's back
    catalog_cache.cache.delete(catalog_cache._stock_key(store.pk))
    variant.__class__.objects.filter(pk=variant.pk).update(stock_quantity=2)
    # then the page is rendered again, not filled from the page's recorded counts
    response, queries = read(api, url(store, "products"))
    assert queries > 0
    assert response.json()["data"][0]["variants"][0]["stock_quantity"] == 2


@pytest.mark.usefixtures("any_cache")
def test_changes_folded_from_the_recent_ones_into_the_map_keep_the_pages_current(
        api, store, product_factory, settings, monkeypatch, django_capture_on_commit_callbacks):
    # given a cached list of three products, and a map that folds its recent changes every 4 entries
    monkeypatch.setattr(catalog_cache, "STOCK_RECENT_MAX", 4)
    variants = [product_factory(store=store, name=name, stock_quantity=10).variants.get() for name in "ABC"]
    path = url(store, "products")
    read(api, path)
    # when each is adjusted in turn, more changes than the recent ones hold (a variant and its product: 2 each)
    for round_ in range(3):
        for variant in variants:
            adjust(variant, -1, django_capture_on_commit_callbacks)
            response, queries = read(api, path)
            # then after every write the page is a hit with what the database says
            assert (queries, response["X-Cache"]) == (0, "hit"), (round_, variant.pk)
            assert response.json()["data"] == fresh(api, path, settings)
    # and the map holds the folded changes (every third write folds: 2 + 2, then 6 > 4), the recent ones none yet
    found = catalog_cache.cache.get_many(catalog_cache._stock_keys(store.pk))
    stock, recent = found[catalog_cache._stock_key(store.pk)], found[catalog_cache._recent_key(store.pk)]
    assert stock[:2] == recent[:2]
    assert stock[3].keys() == {b"%s%d" % (kind, pk) for variant in variants
                               for kind, pk in ((b"v", variant.pk), (b"p", variant.product_id))}
    assert recent[3] == {}


@pytest.mark.usefixtures("any_cache")
def test_a_map_past_its_bound_bumps_the_generation(api, store, product_factory, settings, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    # given a map bounded at 4 entries (2 variants with their products), folded at every write
    monkeypatch.setattr(catalog_cache, "STOCK_MAP_MAX", 4)
    monkeypatch.setattr(catalog_cache, "STOCK_RECENT_MAX", 0)
    variants = [product_factory(store=store, name=name, stock_quantity=10).variants.get() for name in "ABC"]
    path = url(store, "products")
    read(api, path)
    before = catalog_cache.generation(store.pk)
    adjust(variants[0], -1, django_capture_on_commit_callbacks)
    adjust(variants[1], -1, django_capture_on_commit_callbacks)
    assert catalog_cache.generation(store.pk) == before
    # when a third variant's change would make it 6
    adjust(variants[2], -1, django_capture_on_commit_callbacks)
    # then the generation is bumped instead: the page is rendered again, with what the database says
    assert catalog_cache.generation(store.pk) != before
    response, queries = read(api, path)
    assert queries > 0
    assert response.json()["data"] == fresh(api, path, settings)


@pytest.mark.usefixtures("any_cache")
@pytest.mark.parametrize("broken", ["map evicted", "map of another epoch"])
def test_recent_changes_without_their_map_never_give_a_stale_hit(api, store, product_factory, settings, broken,
                                                                 django_capture_on_commit_callbacks):
    # given a cached list whose map was evicted (or rewritten by a writer that raced a bump) while its recent
    # changes stayed
    variant = product_factory(store=store, name="A", stock_quantity=5).variants.get()
    path = url(store, "products")
    read(api, path)
    adjust(variant, -1, django_capture_on_commit_callbacks)
    key = catalog_cache._stock_key(store.pk)
    if broken == "map evicted":
        catalog_cache.cache.delete(key)
    else:
        current, _, flip, changed = catalog_cache.cache.get(key)
        catalog_cache.cache.set(key, (current, catalog_cache._fresh_generation(), flip, changed), timeout=None)
    read(api, path)  # rendered and stored while the map is broken
    # when the stock changes (a publication that writes the recent changes only)
    adjust(variant, -1, django_capture_on_commit_callbacks)
    # then the page says what the database says
    assert read(api, path)[0].json()["data"] == fresh(api, path, settings)
    assert read(api, path)[0].json()["data"][0]["variants"][0]["available"] == 3


def test_lost_recent_changes_make_pages_misses_not_stale(api, store, product_factory,
                                                         django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    variant = product.variants.get()
    read(api, url(store, "products"))
    adjust(variant, -1, django_capture_on_commit_callbacks)
    assert read(api, url(store, "products"))[0].json()["data"][0]["variants"][0]["available"] == 4
    # when the recent changes are evicted and the counts change behind the cache's back
    catalog_cache.cache.delete(catalog_cache._recent_key(store.pk))
    variant.__class__.objects.filter(pk=variant.pk).update(stock_quantity=2)
    # then the page is rendered again, not filled from the map without its recent changes
    response, queries = read(api, url(store, "products"))
    assert queries > 0
    assert response.json()["data"][0]["variants"][0]["stock_quantity"] == 2


def test_a_stock_map_that_stays_locked_bumps_the_generation(api, store, product_factory, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    before = catalog_cache.generation(store.pk)
    monkeypatch.setattr(catalog_cache, "STOCK_LOCK_WAIT_SECONDS", 0.05)
    catalog_cache.cache.add(f"catalog:stocklock:{store.pk}", "someone else", timeout=60)
    adjust(product.variants.get(), -5, django_capture_on_commit_callbacks)
    assert catalog_cache.generation(store.pk) != before
    response, queries = read(api, url(store, "products"))
    assert queries > 0 and response.json()["data"][0]["in_stock"] is False


def test_the_writing_worker_sees_its_stock_change_at_once(api, store, product_factory, settings, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    settings.CATALOG_CACHE_LOCAL_MS = 60_000
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    read(api, url(store, "products"))  # trusted in this process's memory now
    adjust(product.variants.get(), -5, django_capture_on_commit_callbacks)
    response, queries = read(api, url(store, "products"))
    assert queries == 0 and response["X-Cache"] == "hit"
    assert response.json()["data"][0]["in_stock"] is False


def test_slots_never_reach_the_answer_and_cannot_be_forged(api, staff_api, store, product_factory,
                                                           django_capture_on_commit_callbacks):
    # a placeholder's text as a merchant could type it (PostgreSQL stores no NUL character)
    forged = f'\\u0000{"0" * 16}v1q\\u0000 "\\u0000{catalog_cache._NONCE[:4]}" and "stock_quantity":'
    product = product_factory(store=store, name="A", description=forged, stock_quantity=3)
    first = api.get(url(store, f"products/{product.pk}"))
    adjust(product.variants.get(), -1, django_capture_on_commit_callbacks)
    second = api.get(url(store, f"products/{product.pk}"))
    assert second["X-Cache"] == "hit"
    for response in (first, second):
        assert catalog_cache._NONCE.encode() not in response.content
        assert response.json()["data"]["description"] == forged
    assert second.json()["data"]["variants"][0]["stock_quantity"] == 2
    # a member's answer is rendered as it is
    member = staff_api.get(url(store, f"products/{product.pk}")).json()["data"]
    assert member["variants"][0]["stock_quantity"] == 2 and member["in_stock"] is True


def test_one_transaction_publishes_its_stock_changes_once(store, product_factory, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    # given two products, and a record of the stock map's publications
    first, second = (product_factory(store=store, stock_quantity=5).variants.get() for _ in range(2))
    published = []
    monkeypatch.setattr(catalog_cache, "_stock_publish", lambda *args: published.append(args))
    # when one transaction adjusts both, three times (as an import does)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for variant in (first, second, first):
            stock_adjust(variant=variant, delta=-1)
    # then one publication after COMMIT carries both
    assert published == [(store.pk, tuple(sorted((first.pk, second.pk))), True)]


def test_a_worker_fills_a_page_with_the_same_stock_map_once(api, store, product_factory, settings, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    settings.CATALOG_CACHE_LOCAL_MS = 60_000
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    adjust(product.variants.get(), -1, django_capture_on_commit_callbacks)
    fills = []
    overlaid = catalog_cache._overlaid
    monkeypatch.setattr(catalog_cache, "_overlaid", lambda *args: fills.append(1) or overlaid(*args))
    answers = [read(api, url(store, "products"))[0].json()["data"] for _ in range(3)]
    assert len(fills) == 1
    assert all(answer[0]["variants"][0]["available"] == 4 for answer in answers)


# --- Redis: publishers hand their changes over instead of waiting for the map's lock ---
@pytest.fixture
def redis():
    client = catalog_cache.redis_client()
    if client is None:
        pytest.skip("the hand-over is the Redis path (REDIS_URL)")
    return client


def test_a_publisher_finding_the_map_locked_leaves_its_change_to_the_holder(api, store, product_factory, redis,
                                                                            monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    # given a cached list of A and B, and B sold out in the database while A's publication holds the map's lock
    a, b = (product_factory(store=store, name=name, stock_quantity=5) for name in "AB")
    read(api, url(store, "products"))
    before = catalog_cache.generation(store.pk)
    b_variant = b.variants.get()
    stock_adjust(variant=b_variant, delta=-5)  # its publication is the one made below
    catalog_cache._pending.changes = {}
    written, update = [], catalog_cache._stock_map_update

    def updating(store_id, ids, flipped, current, recent):
        written.append(ids)
        if len(written) == 1:  # B's publisher comes while A's holds the lock: it leaves at once
            catalog_cache._stock_publish(store.pk, (b_variant.pk,), True)
            assert len(written) == 1
        return update(store_id, ids, flipped, current, recent)

    monkeypatch.setattr(catalog_cache, "_stock_map_update", updating)
    # when A sells out
    adjust(a.variants.get(), -5, django_capture_on_commit_callbacks)
    # then A's holder wrote B's change too, after its own, and the page is still a hit showing both sold out
    assert written == [(a.variants.get().pk,), (b_variant.pk,)]
    assert catalog_cache.generation(store.pk) == before
    response, queries = read(api, url(store, "products"))
    assert queries == 0
    assert [product["in_stock"] for product in response.json()["data"]] == [False, False]
    assert not redis.exists(catalog_cache.cache.make_key(f"catalog:stocklock:{store.pk}"))


def test_a_holder_whose_lock_expired_writes_nothing_and_bumps_the_generation(
        api, store, product_factory, redis, monkeypatch, django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    before = catalog_cache.generation(store.pk)
    update = catalog_cache._stock_map_update

    def slow(*args):  # the holder's lock expires while it reads the database
        redis.delete(catalog_cache.cache.make_key(f"catalog:stocklock:{store.pk}"))
        return update(*args)

    monkeypatch.setattr(catalog_cache, "_stock_map_update", slow)
    adjust(product.variants.get(), -5, django_capture_on_commit_callbacks)
    # then it does not write (another writer may hold the lock now): the pages go instead, never stale
    assert catalog_cache.generation(store.pk) != before
    response, queries = read(api, url(store, "products"))
    assert queries > 0 and response.json()["data"][0]["in_stock"] is False


def test_a_holder_whose_write_fails_bumps_the_generation_and_releases_the_lock(
        api, store, product_factory, redis, monkeypatch, django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    before = catalog_cache.generation(store.pk)

    def failing(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(catalog_cache, "_stock_map_update", failing)
    adjust(product.variants.get(), -5, django_capture_on_commit_callbacks)
    # then the pages go, and the next publisher finds the lock free (not held until it expires)
    assert catalog_cache.generation(store.pk) != before
    assert not redis.exists(catalog_cache.cache.make_key(f"catalog:stocklock:{store.pk}"))
    response, queries = read(api, url(store, "products"))
    assert queries > 0 and response.json()["data"][0]["in_stock"] is False


def test_a_map_locked_by_a_stuck_writer_bumps_the_generation(api, store, product_factory, redis,
                                                             django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    read(api, url(store, "products"))
    before = catalog_cache.generation(store.pk)
    lock = catalog_cache.cache.make_key(f"catalog:stocklock:{store.pk}")
    # a writer holding the lock for less than STOCK_LOCK_WAIT_SECONDS is left to finish
    redis.set(lock, b"%.6f:alive" % time.time(), ex=60)
    adjust(product.variants.get(), -1, django_capture_on_commit_callbacks)
    assert catalog_cache.generation(store.pk) == before
    # one holding it for longer is taken as stuck: the pages go, never stale
    redis.set(lock, b"%.6f:stuck" % (time.time() - catalog_cache.STOCK_LOCK_WAIT_SECONDS - 1), ex=60)
    adjust(product.variants.get(), -4, django_capture_on_commit_callbacks)
    assert catalog_cache.generation(store.pk) != before
    response, queries = read(api, url(store, "products"))
    assert queries > 0 and response.json()["data"][0]["in_stock"] is False
    redis.delete(lock)


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_lose_no_change(api, store, product_factory, redis):
    # given a cached list of 8 products, each sold out at the same moment by its own thread
    variants = [product_factory(store=store, name=f"P{n}", stock_quantity=3).variants.get() for n in range(8)]
    read(api, url(store, "products"))
    start = threading.Barrier(len(variants))

    def sell(variant):
        start.wait()
        stock_adjust(variant=variant, delta=-3)  # its own transaction, published after its COMMIT
        connection.close()

    threads = [threading.Thread(target=sell, args=(variant,)) for variant in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the map carries every change: the cached list shows all 8 sold out without asking the database
    response, queries = read(api, url(store, "products"))
    assert queries == 0
    assert [product["in_stock"] for product in response.json()["data"]] == [False] * 8


def test_a_store_with_nothing_cached_publishes_nothing(store, product_factory, redis,
                                                       django_capture_on_commit_callbacks):
    product = product_factory(store=store, name="A", stock_quantity=5)
    catalog_cache.cache.delete_many([f"catalog:gen:{store.pk}", f"catalog:stock:{store.pk}"])
    adjust(product.variants.get(), -1, django_capture_on_commit_callbacks)
    assert not redis.exists(*(catalog_cache.cache.make_key(f"catalog:{name}:{store.pk}")
                              for name in ("stockpending", "stocklock", "stock", "gen")))
