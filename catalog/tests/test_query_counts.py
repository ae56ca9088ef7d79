"""Hot reads run a fixed number of queries whatever the page size, and the hand-written
shaping (catalog.output) answers exactly what DRF's generic serializer would."""

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from catalog import cache as catalog_cache
from catalog import selectors
from catalog.models import Product, ProductImage
from catalog.serializers import ProductOutput
from catalog.tests.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    # these tests count the database work behind an answer, not the cache in front of it
    settings.CATALOG_CACHE_SECONDS = 0
    settings.CATALOG_COUNT_CACHE_SECONDS = 0
    catalog_cache._slug_ids.clear()


@pytest.fixture
def catalog(store, product_factory, category_factory):
    def make(count: int):
        parent = category_factory(store=store, name="All")
        child = category_factory(store=store, name="Sub", parent=parent)
        for index in range(count):
            product = product_factory(store=store, name=f"Thing {index}", category=child if index % 2 else parent,
                                      variants=2, description="a useful thing")
            ProductImage.objects.create(store=store, product=product, image=f"catalog/x{index}.png", alt="x")
        return Product.objects.filter(store=store).order_by("id").last()

    return make


# store, count, page, variants, images
LIST_QUERIES = 5


@pytest.mark.parametrize("limit", [5, 50])
def test_list_detail_search_have_fixed_query_counts(api, staff_api, store, catalog, limit,
                                                    django_assert_max_num_queries):
    last = catalog(limit + 1)  # one more than a page, so the total needs its COUNT
    paths = {
        f"products?limit={limit}": LIST_QUERIES,
        f"products?limit={limit}&page=2": LIST_QUERIES,
        f"products?limit={limit}&category=all&price_min=1&price_max=100&sort=-price": LIST_QUERIES + 1,  # + path
        f"products?limit={limit}&q=thing&sort=relevance": LIST_QUERIES,
        f"search?q=thing&limit={limit}": LIST_QUERIES,
        f"search?q=useful%20thi&limit={limit}": LIST_QUERIES,
        # store, prefix, word start, and on PostgreSQL the fuzzy stage (savepoint, SET LOCAL, query, release)
        "search/suggestions?q=thi": 3 + 4,
        "search/suggestions?q=ing": 3 + 4,
        "categories?tree=true": 2,
        "brands": 2,
    }
    for path, queries in paths.items():
        with django_assert_max_num_queries(queries):
            response = api.get(url(store, path))
        assert response.status_code == 200, (path, response.json())
        if path.startswith(("products", "search?")) and "page=2" not in path:
            assert len(response.json()["data"]) == limit, path
    with django_assert_max_num_queries(4):  # store, product (with category), variants, images
        assert api.get(url(store, f"products/{last.pk}")).status_code == 200
    with django_assert_max_num_queries(LIST_QUERIES + 1):  # + membership
        assert len(staff_api.get(url(store, f"products?limit={limit}")).json()["data"]) == limit


def generic(instance, context) -> dict:
    """What DRF's ModelSerializer machinery makes of ProductOutput's declared fields."""
    return serializers.ModelSerializer.to_representation(ProductOutput(instance, context=context), instance)


@pytest.mark.parametrize("currency", ["USD", "LYD", "JPY"])
def test_hand_written_output_matches_the_declared_serializer(store_factory, product_factory, category_factory,
                                                             variant_factory, currency):
    store = store_factory(currency=currency)
    category = category_factory(store=store, name="Cat")
    with_everything = product_factory(store=store, name="Full", category=category, variants=2,
                                      attributes={"material": "wool", "sizes": [1, 2]})
    variant_factory(product=with_everything, price=Decimal("3"), compare_at_price=Decimal("4"),
                    options={"size": "M"}, track_inventory=False)
    ProductImage.objects.create(store=store, product=with_everything, image="catalog/a.png", alt="front",
                                width=3, height=2)
    bare = product_factory(store=store, name="Bare", variants=0, status="draft")
    request = APIRequestFactory().get("/")
    context = {"store": store, "request": request}
    for product in selectors.product_with_relations(Product.objects.filter(pk__in=[with_everything.pk, bare.pk])):
        assert ProductOutput(product, context=context).data == generic(product, context)


def test_a_page_renders_like_the_declared_serializer(store, product_factory, variant_factory):
    # a page goes through products_dicts (one query per relation; raw SQL on PostgreSQL)
    for index in range(3):
        product = product_factory(store=store, name=f"P{index}", variants=index, attributes={"i": index})
        ProductImage.objects.create(store=store, product=product, image=f"catalog/p{index}.png", alt=str(index))
    variant_factory(product=product, price=Decimal("1.5"), options={"color": "red"}, track_inventory=False,
                    compare_at_price=Decimal("2"))
    context = {"store": store, "request": APIRequestFactory().get("/")}
    page = list(selectors.product_with_relations(Product.objects.filter(store=store).order_by("id")))
    assert ProductOutput(page, many=True, context=context).data == [generic(product, context) for product in page]
