"""Search and suggestions: the same API on SQLite (LIKE) and PostgreSQL (full text, pg_trgm)."""

import pytest
from django.db import connection, transaction
from django.db.models.functions import Collate, Lower

from catalog import search
from catalog.models import Category, Product, ProductStatus
from catalog.tests.conftest import url
from stores.models import Store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("forget_store_ids")]


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["data"]]


@pytest.fixture
def shop(store, product_factory, category_factory):
    shirts = category_factory(store=store, name="Shirts")
    kitchen = category_factory(store=store, name="Kitchen")
    product_factory(store=store, name="Blue Cotton Shirt", description="Soft cotton for summer", category=shirts,
                    brand="Northwind")
    product_factory(store=store, name="Red Wool Sweater", description="Warm wool, goes with a cotton shirt",
                    category=shirts, brand="Acme")
    product_factory(store=store, name="Coffee Mug", description="Stoneware", category=kitchen, brand="Fabrikam")
    product_factory(store=store, name="Cotton Tote Draft", status="draft", category=kitchen)
    return {"shirts": shirts, "kitchen": kitchen}


def test_search_ranks_name_matches_first(api, store, shop):
    assert names(api.get(url(store, "search?q=cotton"))) == ["Blue Cotton Shirt", "Red Wool Sweater"]


def test_search_covers_brand_and_category_name(api, store, shop):
    assert names(api.get(url(store, "search?q=fabrikam"))) == ["Coffee Mug"]
    assert names(api.get(url(store, "search?q=kitchen"))) == ["Coffee Mug"]


def test_search_matches_prefixes_of_every_word(api, store, shop):
    assert names(api.get(url(store, "search?q=cott"))) == ["Blue Cotton Shirt", "Red Wool Sweater"]
    assert names(api.get(url(store, "search?q=blue cot"))) == ["Blue Cotton Shirt"]


def test_search_sees_published_products_of_this_store_only(api, store, other_store, shop, product_factory):
    product_factory(store=other_store, name="Cotton Socks")
    assert "Cotton Tote Draft" not in names(api.get(url(store, "search?q=tote")))
    assert names(api.get(url(other_store, "search?q=cotton"))) == ["Cotton Socks"]


def test_search_of_an_inactive_store_is_404(api, store, shop):
    Store.objects.filter(pk=store.pk).update(is_active=False)
    assert api.get(url(store, "search?q=cotton")).status_code == 404


def test_search_is_paginated(api, store, product_factory):
    for index in range(7):
        product_factory(store=store, name=f"Lamp {index}")
    body = api.get(url(store, "search?q=lamp&limit=5&page=2")).json()
    assert len(body["data"]) == 2
    assert body["pagination"] == {"page": 2, "limit": 5, "total": 7, "totalPages": 2}


def test_empty_query_finds_nothing(api, store, shop):
    body = api.get(url(store, "search?q=")).json()
    assert body["data"] == [] and body["pagination"]["total"] == 0


def test_product_list_q_uses_the_same_search(api, store, shop):
    listed = names(api.get(url(store, "products?q=cotton&sort=relevance")))
    assert listed == names(api.get(url(store, "search?q=cotton")))
    assert names(api.get(url(store, "products?q=cotton&sort=name"))) == ["Blue Cotton Shirt", "Red Wool Sweater"]


def test_suggestions_prefix_then_word_start(api, store, shop):
    assert names(api.get(url(store, "search/suggestions?q=co"))) == ["Coffee Mug", "Blue Cotton Shirt"]
    data = api.get(url(store, "search/suggestions?q=wool")).json()["data"]
    assert data == [{"id": data[0]["id"], "name": "Red Wool Sweater", "slug": "red-wool-sweater"}]
    assert names(api.get(url(store, "search/suggestions?q=co&limit=1"))) == ["Coffee Mug"]
    assert api.get(url(store, "search/suggestions?q=")).json()["data"] == []


def test_search_shape_is_the_product_shape(api, store, shop):
    row = api.get(url(store, "search?q=mug")).json()["data"][0]
    assert {"id", "name", "slug", "price", "currency", "variants", "images", "category", "in_stock"} <= set(row)
    assert row["price"] == "10.00"


@pytest.fixture
def lanterns(store, product_factory):
    """Oldest first: the best match (its name), then four that mention it in their description."""
    product_factory(store=store, name="Lantern")
    for index in range(4):
        product_factory(store=store, name=f"Thing {index}", description="a lantern inside")


def test_search_ranks_the_newest_matches_up_to_the_bound(api, store, lanterns, settings):
    settings.SEARCH_MAX_RESULTS = 3
    body = api.get(url(store, "search?q=lantern")).json()
    # the three newest matches, ranked (equal here: newest first); the oldest is past the bound
    assert names_of(body) == ["Thing 3", "Thing 2", "Thing 1"]
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1}
    body = api.get(url(store, "search?q=lantern&limit=2&page=2")).json()
    assert names_of(body) == ["Thing 1"]
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}
    body = api.get(url(store, "search?q=lantern&limit=2&page=3")).json()
    assert body["data"] == [] and body["pagination"]["total"] == 3


def test_search_ranks_every_candidate_within_the_bound(api, store, lanterns, settings):
    settings.SEARCH_MAX_RESULTS = 5
    body = api.get(url(store, "search?q=lantern")).json()
    assert names_of(body) == ["Lantern", "Thing 3", "Thing 2", "Thing 1", "Thing 0"]
    assert body["pagination"]["total"] == 5
    body = api.get(url(store, "search?q=lantern&limit=2&page=2")).json()
    assert names_of(body) == ["Thing 2", "Thing 1"]


def names_of(body) -> list[str]:
    return [row["name"] for row in body["data"]]


# --- PostgreSQL: full text, triggers, trigrams ---------------------------------------
@pytest.mark.postgres
def test_vector_is_kept_by_triggers_for_bulk_writes(store, shop):
    Product.objects.bulk_create([Product(store=store, name="Teapot Deluxe", slug="teapot",
                                         status=ProductStatus.PUBLISHED, category=shop["kitchen"])])
    assert list(search.product_search(store=store, q="teapot").values_list("name", flat=True)) == ["Teapot Deluxe"]
    Product.objects.filter(slug="teapot").update(description="porcelain")
    assert search.product_search(store=store, q="porcelain").count() == 1


@pytest.mark.postgres
def test_renaming_a_category_refreshes_its_products(api, staff_api, store, shop):
    assert names(api.get(url(store, "search?q=beverages"))) == []
    response = staff_api.patch(url(store, f"categories/{shop['kitchen'].pk}"), {"name": "Beverages"}, format="json")
    assert response.status_code == 200
    assert names(api.get(url(store, "search?q=beverages"))) == ["Coffee Mug"]
    assert names(api.get(url(store, "search?q=kitchen"))) == []


@pytest.mark.postgres
def test_moving_a_product_to_another_category_refreshes_it(store, shop):
    Product.objects.filter(name="Coffee Mug").update(category=shop["shirts"])
    assert search.product_search(store=store, q="shirts").filter(name="Coffee Mug").exists()


@pytest.mark.postgres
def test_websearch_syntax_and_stemming(api, store, shop):
    assert names(api.get(url(store, "search?q=cotton -wool"))) == ["Blue Cotton Shirt"]
    assert names(api.get(url(store, "search?q=shirts"))) == ["Blue Cotton Shirt", "Red Wool Sweater"]
    assert names(api.get(url(store, 'search?q="cotton shirt"'))) == ["Blue Cotton Shirt", "Red Wool Sweater"]
    assert names(api.get(url(store, "search?q=mug or sweater"))) == ["Coffee Mug", "Red Wool Sweater"]


@pytest.mark.postgres
def test_rank_prefers_name_over_brand_and_category_over_description(api, store, product_factory):
    product_factory(store=store, name="Plain Thing", description="a lantern inside")
    product_factory(store=store, name="Lantern")
    product_factory(store=store, name="Other Thing", brand="Lantern")
    assert names(api.get(url(store, "search?q=lantern"))) == ["Lantern", "Other Thing", "Plain Thing"]


@pytest.mark.postgres
@pytest.mark.parametrize("typo, expected", [("cofee", "Coffee Mug"), ("sweter", "Red Wool Sweater"),
                                            ("cotten", "Blue Cotton Shirt")])
def test_suggestions_tolerate_typos(api, store, shop, typo, expected):
    assert expected in names(api.get(url(store, f"search/suggestions?q={typo}")))


@pytest.mark.postgres
def test_search_uses_the_indexes(store, shop):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_product'")
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = {row[0] for row in cursor.fetchall()}
    assert {"product_search_vector_gin", "product_name_trgm", "product_suggest_prefix"} <= indexes
    assert {"catalog_product_search_vector_update", "catalog_category_search_refresh"} <= triggers


@pytest.mark.postgres
def test_name_prefix_suggestions_read_the_index_in_order(store, shop):
    # the first stage must stop after `limit` index entries, not read and sort every match
    queryset = search.published(store).annotate(lower_name=Collate(Lower("name"), "C")).filter(
        lower_name__startswith="co").order_by("lower_name", "id").values("id")[:10]
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is scanned otherwise
        # with the few rows earlier tests leave in the statistics, sorting them looks cheaper still
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "product_suggest_prefix" in plan and "Sort" not in plan, plan


@pytest.mark.postgres
def test_category_delete_drops_its_name_from_the_vector(store, shop):
    kitchen = shop["kitchen"]
    Product.objects.filter(category=kitchen).update(category=None)
    Category.objects.filter(pk=kitchen.pk).delete()
    assert not search.product_search(store=store, q="kitchen").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("q", ["cotton", "cott", "blue cot", "cotton -wool", '"cotton shirt"', "mug or sweater",
                               "shirts", "kitchen", "nothing here", "-cotton", "cotton shirt warm"])
@pytest.mark.parametrize("bound", [1, 2, 500])
def test_the_search_statement_answers_what_product_search_does(store, shop, product_factory, settings, q, bound):
    settings.SEARCH_MAX_RESULTS = bound
    product_factory(store=store, name="Cotton Candy", description="sweet")
    expected = list(search.product_search(store=store, q=q).values_list("id", flat=True))
    for start, limit in [(0, 20), (0, 1), (1, 1), (2, 20)]:
        rows, children, total = search.search_page(store_id=store.pk, q=q, start=start, limit=limit)
        assert [row.id for row in rows] == expected[start : start + limit], (start, limit)
        assert total == len(expected)
        assert (children is None) == (not rows)
