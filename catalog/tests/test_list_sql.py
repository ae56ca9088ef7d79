"""The product list's plain-SQL path on PostgreSQL (catalog.output.list_page_rows) answers exactly what the ORM
path (selectors.product_list, the path SQLite and text searches take) answers: every filter, sort, page and
caller, totals included."""

from decimal import Decimal

import pytest

from catalog import cache as catalog_cache
from catalog import views
from catalog.models import Product, ProductImage, ProductStatus

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STATUSES = [ProductStatus.PUBLISHED] * 3 + [ProductStatus.DRAFT, ProductStatus.ARCHIVED]
QUERIES = [
    "",
    "limit=3",
    "limit=3&page=2",
    "limit=3&page=4",
    "limit=3&page=40",
    "sort=price&limit=4&page=2",
    "sort=-price",
    "sort=name&limit=5&page=2",
    "sort=-name",
    "sort=created&limit=4&page=3",
    "sort=relevance",
    "category=all",
    "category=all&limit=2&page=2",
    "category=sub&sort=-price",
    "category=leaf",
    "category=nothing-here",
    "price_min=12&price_max=15.5",
    "price_min=12&limit=2&page=3&sort=price",
    "price_max=11",
    "brand=ACME",
    "brand=zed&sort=name",
    "brand=",
    "in_stock=true&limit=4&page=2",
    "in_stock=false",
    "featured=true",
    "featured=false&sort=-created&limit=2&page=2",
    "status=published",
    "status=draft",
    "status=archived&limit=1&page=2",
    "category=all&price_min=10&price_max=14&brand=acme&in_stock=true&featured=false&sort=-price&limit=2&page=2",
]


@pytest.fixture
def catalog(store, other_store, category_factory, product_factory):
    top = category_factory(store=store, name="All")
    sub = category_factory(store=store, name="Sub", parent=top)
    leaf = category_factory(store=store, name="Leaf", parent=sub)
    other = category_factory(store=store, name="Other")
    category_factory(store=other_store, name="All")
    categories = [top, sub, leaf, other, None]
    for index in range(23):
        product = product_factory(
            store=store, name=f"Thing {index % 7}", brand=("Acme", "acme", "Zed", "")[index % 4],
            category=categories[index % 5], price=Decimal("10.00") + index % 9, variants=1 + index % 2,
            stock_quantity=index % 3, status=STATUSES[index // 2 % 5])
        if index % 4 == 0:
            Product.objects.filter(pk=product.pk).update(featured=True)
        if index % 6 == 0:
            ProductImage.objects.create(store=store, product=product, image=f"catalog/x{index}.png", alt="x")
    product_factory(store=store, name="No variants", variants=0)  # no price: sorts last both ways
    product_factory(store=other_store, name="Elsewhere", category=None)


def _answers(client, store, monkeypatch, plain: bool) -> dict:
    monkeypatch.setattr(views, "on_postgres", (lambda: False) if plain else (lambda: True))
    answers = {}
    for query in QUERIES:
        catalog_cache.local_forget()
        response = client.get(f"/api/v1/stores/{store.slug}/products?{query}")
        assert response.status_code == 200, (query, response.json())
        body = response.json()
        body.pop("timestamp")
        answers[query] = body
    return answers


@pytest.mark.parametrize("count_cache", [0, 300])
@pytest.mark.parametrize("caller", ["anonymous", "member"])
def test_the_sql_list_answers_what_the_orm_list_answers(catalog, store, api, staff_api, settings, monkeypatch,
                                                        caller, count_cache):
    settings.CATALOG_CACHE_SECONDS = 0
    settings.CATALOG_COUNT_CACHE_SECONDS = count_cache
    client = api if caller == "anonymous" else staff_api
    plain = _answers(client, store, monkeypatch, plain=True)
    fast = _answers(client, store, monkeypatch, plain=False)
    for query in QUERIES:
        assert fast[query] == plain[query], query
    # the data set exercises what it should: several pages, empty pages, every status for members only
    assert plain["limit=3"]["pagination"]["total"] > 10
    assert plain["limit=3&page=40"]["data"] == []
    assert plain["category=nothing-here"]["pagination"]["total"] == 0
    assert (plain["status=draft"]["pagination"]["total"] > 0) == (caller == "member")
    assert any(item["images"] for item in plain[""]["data"])


def test_the_sql_list_reads_in_one_or_two_executes(catalog, store, api, settings, django_assert_num_queries):
    settings.CATALOG_CACHE_SECONDS = 0
    settings.CATALOG_COUNT_CACHE_SECONDS = 0
    catalog_cache._slug_ids.clear()
    for query, executes in [("", 2), ("page=2&limit=5", 3), ("category=all&price_min=11", 3)]:
        # the store; the page with its total (and, on the unfiltered first page, its variants and images)
        with django_assert_num_queries(executes):
            assert api.get(f"/api/v1/stores/{store.slug}/products?{query}").status_code == 200
