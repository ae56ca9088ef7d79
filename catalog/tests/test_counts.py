"""The store's product counter (catalog.counts): exact after every kind of write, and under concurrent writers."""

import threading

import pytest
from django.db import connection

from catalog import counts, services
from catalog.demo import seed_bulk
from catalog.models import Product, ProductCount
from tests.races import race


def by_status(store) -> dict[str, int]:
    actual = {status: Product.objects.filter(store=store, status=status).count() for status in counts.STATUSES}
    row = ProductCount.objects.filter(store=store).values(*counts.STATUSES).first()
    return {"counter": row or dict.fromkeys(counts.STATUSES, 0), "actual": actual}


def assert_exact(*stores) -> None:
    for store in stores:
        seen = by_status(store)
        assert seen["counter"] == seen["actual"], store


@pytest.mark.django_db
def test_the_counter_follows_every_kind_of_write(store, other_store, product_factory):
    # services: create (draft and published), the transitions, delete
    draft = services.product_create(store=store, name="Draft")
    shown = services.product_create(store=store, name="Shown", status="published")
    services.product_transition(product=draft, action="publish")
    services.product_transition(product=shown, action="archive")
    services.product_status_set(product=shown, status="draft")
    assert_exact(store, other_store)
    services.product_delete(product=draft)
    # rows made without the services: the ORM, bulk COPY/executemany, a queryset update, a status left as it was
    product_factory(store=other_store, status="published")
    seed_bulk(other_store, 30)
    Product.objects.filter(store=other_store, slug="bulk-3").update(status="archived")
    Product.objects.filter(store=other_store, slug="bulk-4").update(name="Renamed")  # no status change
    saved = Product.objects.get(store=other_store, slug="bulk-5")
    saved.save()  # every column written, the status unchanged
    assert_exact(store, other_store)
    assert by_status(other_store)["counter"] == {"draft": 0, "published": 30, "archived": 1}
    # a product moved to another store, a queryset delete
    Product.objects.filter(store=other_store, slug="bulk-6").update(store=store)
    Product.objects.filter(store=other_store, slug__in=["bulk-7", "bulk-8"]).delete()
    assert_exact(store, other_store)
    assert by_status(other_store)["counter"] == {"draft": 0, "published": 27, "archived": 1}


@pytest.mark.django_db
def test_the_list_total_comes_from_the_counter(api, base, owner_api, store, product_factory):
    for status in ["published"] * 3 + ["draft"] * 2 + ["archived"]:
        product_factory(store=store, status=status)
    # the rows are there but the counter says otherwise: the unfiltered lists answer the counter's figures
    ProductCount.objects.filter(store=store).update(published=30, draft=20, archived=10)
    assert api.get(f"{base}/products?limit=2").json()["pagination"]["total"] == 30
    assert api.get(f"{base}/products?limit=2&sort=price").json()["pagination"]["total"] == 30
    assert api.get(f"{base}/products?limit=2&status=draft").json()["pagination"]["total"] == 0  # the public
    assert owner_api.get(f"{base}/products?limit=2").json()["pagination"]["total"] == 60
    assert owner_api.get(f"{base}/products?limit=2&status=draft").json()["pagination"]["total"] == 20
    # a filtered list counts its rows
    assert api.get(f"{base}/products?limit=2&featured=false").json()["pagination"]["total"] == 3


@pytest.mark.django_db
def test_the_counter_is_exact_in_the_answers(api, base, owner_api, store, product_factory):
    for status in ["published"] * 23 + ["draft"] * 4:
        product_factory(store=store, status=status)
    public = api.get(f"{base}/products").json()["pagination"]
    member = owner_api.get(f"{base}/products?page=2").json()["pagination"]
    assert public["total"] == 23 and member["total"] == 27
    drafts = owner_api.get(f"{base}/products?status=draft").json()
    assert drafts["pagination"]["total"] == 4 and len(drafts["data"]) == 4


@pytest.mark.django_db
def test_sqlite_triggers_dropped_by_a_table_rebuild_come_back_with_a_recount(store, product_factory):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite: its table rebuilds drop triggers")
    with connection.cursor() as cursor:
        for name in counts.SQLITE:
            cursor.execute(f"DROP TRIGGER {name}")
    product_factory(store=store, status="published")  # not counted: no triggers
    assert counts.install() is True  # what post_migrate runs
    assert_exact(store)
    product_factory(store=store, status="published")
    assert_exact(store)
    assert counts.install() is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_the_counter_exact(store, other_store):
    # given products of two stores
    products = [services.product_create(store=store, name=f"P{n}", status="published" if n % 2 else "draft")
                for n in range(24)]
    lock = threading.Lock()
    made: list[int] = []

    def writer(number: int):
        def work():
            mine = products[number * 3:(number + 1) * 3]
            for product in mine:  # each writer changes its own products, all on the same counter row
                action = "unpublish" if product.status == "published" else "publish"
                services.product_transition(product=product, action=action)
            services.product_delete(product=mine[0])
            created = services.product_create(store=store if number % 2 else other_store, name=f"New {number}",
                                              status="published")
            with lock:
                made.append(created.pk)
        return work

    # when eight writers create, publish, unpublish and delete at once
    results = race(*(writer(number) for number in range(8)))
    # then
    assert results == [None] * 8, results
    assert len(made) == 8
    assert_exact(store, other_store)
    assert by_status(other_store)["counter"]["published"] == 4
    assert sum(by_status(store)["counter"].values()) == 24 - 8 + 4
