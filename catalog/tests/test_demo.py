import pytest

from catalog.demo import seed_bulk, seed_catalog
from catalog.models import Category, Product, ProductImage, Variant

pytestmark = pytest.mark.django_db


def test_seed_catalog_is_idempotent(store, api):
    created = seed_catalog(store, products=12)
    assert created == 12
    assert seed_catalog(store, products=12) == 0
    assert Product.objects.filter(store=store).count() == 12
    assert Category.objects.filter(store=store, parent__isnull=False).exists()
    assert ProductImage.objects.filter(store=store).count() == 12
    assert all(1 <= p.variants.count() <= 3 for p in Product.objects.filter(store=store))
    assert set(Product.objects.values_list("status", flat=True)) == {"published", "draft", "archived"}
    listed = api.get(f"/api/v1/stores/{store.slug}/products?category=clothing").json()
    assert listed["pagination"]["total"] > 0


def test_seed_bulk_rows_are_complete(store, api):
    seed_bulk(store, 250, batch_size=100)
    seed_bulk(store, 10)
    products = Product.objects.filter(store=store, slug__startswith="bulk-")
    assert products.count() == 260
    assert Variant.objects.filter(store=store, sku__startswith="BULK-").count() == 260
    sample = products.order_by("?").first()
    variant = sample.variants.get()
    assert sample.price == variant.price
    assert sample.in_stock == (variant.stock_quantity > 0)
    # the inventory ledger adds up for bulk rows too
    from django.db.models import Sum

    from catalog.models import InventoryMovement

    ledger = InventoryMovement.objects.filter(store=store).aggregate(total=Sum("quantity_delta"))["total"]
    assert ledger == Variant.objects.filter(store=store).aggregate(total=Sum("stock_quantity"))["total"]
    body = api.get(f"/api/v1/stores/{store.slug}/products?sort=price&limit=5").json()
    assert body["pagination"]["total"] == 260
    prices = [float(p["price"]) for p in body["data"]]
    assert prices == sorted(prices)
    # new rows after bulk ones get fresh ids (sequences / autoincrement kept in step)
    later = Product.objects.create(store=store, name="After", slug="after")
    assert later.pk > products.order_by("-pk").first().pk
    # the whole name: its number alone (a prefix of many others) can rank it past the first page
    found = api.get(f"/api/v1/stores/{store.slug}/search", {"q": sample.name, "limit": 100}).json()["data"]
    assert sample.pk in [p["id"] for p in found]


def test_seed_catalog_uses_the_store_currency(store_factory, api):
    lyd = store_factory(name="Tripoli", slug="tripoli", currency="LYD")
    seed_catalog(lyd, products=3, images=False)
    product = api.get("/api/v1/stores/tripoli/products?limit=1").json()["data"][0]
    assert product["currency"] == "LYD" and len(product["price"].split(".")[1]) == 3


def test_seed_bulk_makes_cached_public_pages_stale(store, api):
    # given: the public list is cached
    first = api.get(f"/api/v1/stores/{store.slug}/products").json()
    assert first["pagination"]["total"] == 0
    # when
    seed_bulk(store, 5)
    # then
    assert api.get(f"/api/v1/stores/{store.slug}/products").json()["pagination"]["total"] == 5


def test_seed_demo_products_option_adds_n_products(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", "--products", "25", stdout=out)
    assert "Added 25 generated products" in out.getvalue()
    assert Product.objects.filter(store__slug="alpha", slug__startswith="bulk-").count() == 25
    # the realistic catalog too: categories with sub-categories, ~60 products with variants and images
    assert Product.objects.filter(store__slug="alpha", slug__startswith="demo-").count() == 60
    assert Category.objects.filter(store__slug="alpha", parent__isnull=False).exists()
    assert ProductImage.objects.filter(store__slug="alpha").count() == 60
