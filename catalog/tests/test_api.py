from decimal import Decimal

import pytest

from catalog.models import Product, ProductImage, Review, Variant
from catalog.tests.conftest import url
from tests.factories import VariantFactory, image_bytes, image_upload

pytestmark = pytest.mark.django_db


# --- categories ----------------------------------------------------------------
def test_category_crud_and_tree(staff_api, api, store):
    # given
    root = staff_api.post(url(store, "categories"), {"name": "Clothing"}, format="json")
    assert root.status_code == 201, root.json()
    root_id = root.json()["data"]["id"]
    assert root.json()["data"]["slug"] == "clothing"
    child = staff_api.post(url(store, "categories"), {"name": "Shirts", "parent": root_id}, format="json")
    grandchild = staff_api.post(url(store, "categories/"), {"name": "Polo", "parent": child.json()["data"]["id"]},
                                format="json")
    assert grandchild.status_code == 201
    # when
    tree = api.get(url(store, "categories?tree=true"))
    flat = api.get(url(store, "categories"))
    # then
    assert tree.status_code == 200
    nodes = tree.json()["data"]
    assert [node["name"] for node in nodes] == ["Clothing"]
    assert nodes[0]["children"][0]["name"] == "Shirts"
    assert nodes[0]["children"][0]["children"][0]["name"] == "Polo"
    assert set(nodes[0]) == {"id", "name", "slug", "description", "parent", "position", "depth", "children"}
    assert nodes[0]["children"][0]["parent"] == root_id
    assert flat.json()["pagination"]["total"] == 3
    patched = staff_api.patch(url(store, f"categories/{root_id}"), {"name": "Apparel"}, format="json")
    assert patched.json()["data"]["name"] == "Apparel"


def test_category_duplicate_slug_is_409(staff_api, store, category_factory):
    category_factory(store=store, name="Shoes")
    response = staff_api.post(url(store, "categories"), {"name": "Other", "slug": "shoes"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"


def test_category_move_rewrites_subtree_paths(staff_api, store, category_factory):
    a = category_factory(store=store, name="A")
    b = category_factory(store=store, name="B")
    a1 = category_factory(store=store, name="A1", parent=a)
    a11 = category_factory(store=store, name="A11", parent=a1)
    response = staff_api.patch(url(store, f"categories/{a1.pk}"), {"parent": b.pk}, format="json")
    assert response.status_code == 200, response.json()
    a11.refresh_from_db()
    b.refresh_from_db()
    assert a11.path.startswith(b.path) and a11.depth == 2
    # under its own descendant: refused
    refused = staff_api.patch(url(store, f"categories/{a1.pk}"), {"parent": a11.pk}, format="json")
    assert refused.status_code == 400
    assert "parent" in refused.json()["error"]["details"]


def test_category_with_children_cannot_be_deleted(staff_api, store, category_factory):
    parent = category_factory(store=store, name="P")
    child = category_factory(store=store, name="C", parent=parent)
    assert staff_api.delete(url(store, f"categories/{parent.pk}")).status_code == 409
    assert staff_api.delete(url(store, f"categories/{child.pk}")).status_code == 204
    assert staff_api.delete(url(store, f"categories/{parent.pk}")).status_code == 204


def test_category_filter_includes_subcategories(api, store, category_factory, product_factory):
    clothing = category_factory(store=store, name="Clothing")
    shirts = category_factory(store=store, name="Shirts", parent=clothing)
    polos = category_factory(store=store, name="Polos", parent=shirts)
    toys = category_factory(store=store, name="Toys")
    product_factory(store=store, name="Top", category=clothing)
    product_factory(store=store, name="Tee", category=shirts)
    product_factory(store=store, name="Polo", category=polos)
    product_factory(store=store, name="Ball", category=toys)
    names = {p["name"] for p in api.get(url(store, "products?category=clothing")).json()["data"]}
    assert names == {"Top", "Tee", "Polo"}
    names = {p["name"] for p in api.get(url(store, "products?category=shirts")).json()["data"]}
    assert names == {"Tee", "Polo"}
    assert api.get(url(store, "products?category=nope")).json()["data"] == []


def test_subtree_is_one_query(store, category_factory, django_assert_num_queries):
    from catalog.selectors import category_subtree

    root = category_factory(store=store, name="Root")
    child = category_factory(store=store, name="Child", parent=root)
    category_factory(store=store, name="Grandchild", parent=child)
    category_factory(store=store, name="Elsewhere")
    with django_assert_num_queries(1):
        assert len(list(category_subtree(category=root))) == 3


# --- products ------------------------------------------------------------------
def test_create_product_with_variants(staff_api, store, category_factory):
    category = category_factory(store=store, name="Mugs")
    body = {
        "name": "Coffee Mug", "brand": "Acme", "category": category.pk, "description": "Holds coffee.",
        "variants": [
            {"sku": "MUG-S", "name": "Small", "price": "9.50", "stock_quantity": 3, "options": {"size": "S"}},
            {"sku": "MUG-L", "name": "Large", "price": "12.00", "stock_quantity": 0},
        ],
    }
    response = staff_api.post(url(store, "products"), body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["status"] == "draft"
    assert data["price"] == "9.50"
    assert data["currency"] == "USD"
    assert data["in_stock"] is True
    assert data["category"]["slug"] == "mugs"
    assert [v["sku"] for v in data["variants"]] == ["MUG-S", "MUG-L"]
    assert data["variants"][0]["options"] == {"size": "S"}


def test_anonymous_sees_published_only(api, store, product_factory):
    published = product_factory(store=store, name="Visible")
    draft = product_factory(store=store, name="Hidden", status="draft")
    listed = api.get(url(store, "products")).json()["data"]
    assert [p["name"] for p in listed] == ["Visible"]
    assert api.get(url(store, f"products/{published.pk}")).status_code == 200
    assert api.get(url(store, f"products/{draft.pk}")).status_code == 404
    # the status filter cannot reveal drafts to the public
    assert api.get(url(store, "products?status=draft")).json()["data"] == []


def test_members_see_all_statuses_and_filter_by_status(store, product_factory, member_factory, client_for):
    viewer = client_for(member_factory(store, "viewer"))
    product_factory(store=store, name="Visible")
    product_factory(store=store, name="Hidden", status="draft")
    assert viewer.get(url(store, "products")).json()["pagination"]["total"] == 2
    drafts = viewer.get(url(store, "products?status=draft")).json()["data"]
    assert [p["name"] for p in drafts] == ["Hidden"]


def test_inactive_store_is_404_for_the_public(api, store, product_factory):
    product_factory(store=store)
    store.is_active = False
    store.save()
    assert api.get(url(store, "products")).status_code == 404


def test_another_stores_product_is_404(staff_api, store, other_store, product_factory):
    foreign = product_factory(store=other_store)
    assert staff_api.get(url(store, f"products/{foreign.pk}")).status_code == 404
    assert staff_api.patch(url(store, f"products/{foreign.pk}"), {"name": "x"}, format="json").status_code == 404
    assert staff_api.post(url(store, f"products/{foreign.pk}/variants"), {}, format="json").status_code == 404


def test_writes_need_catalog_write(api, store, member_factory, client_for, product_factory):
    product = product_factory(store=store)
    anonymous = api.post(url(store, "products"), {"name": "X"}, format="json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    viewer = client_for(member_factory(store, "viewer"))
    forbidden = viewer.patch(url(store, f"products/{product.pk}"), {"name": "X"}, format="json")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "PERMISSION_DENIED"
    outsider = client_for(member_factory(store_factory_other(store), "owner"))
    assert outsider.post(url(store, "products"), {"name": "X"}, format="json").status_code == 404
    assert not Product.objects.filter(name="X").exists()


def store_factory_other(store):
    from stores.models import Store

    return Store.objects.create(name="Gamma", slug="gamma", owner=store.owner)


def test_filters_and_sorts(api, store, product_factory):
    cheap = product_factory(store=store, name="Cheap", brand="Zed", price=Decimal("5.00"))
    dear = product_factory(store=store, name="Dear", brand="Acme", price=Decimal("50.00"))
    out = product_factory(store=store, name="Out", brand="Acme", price=Decimal("20.00"), stock_quantity=0)
    Product.objects.filter(pk=dear.pk).update(featured=True)

    def names(query):
        response = api.get(url(store, f"products?{query}"))
        assert response.status_code == 200, response.json()
        return [p["name"] for p in response.json()["data"]]

    assert names("sort=price") == ["Cheap", "Out", "Dear"]
    assert names("sort=-price") == ["Dear", "Out", "Cheap"]
    assert names("sort=name") == ["Cheap", "Dear", "Out"]
    assert names("sort=-created") == ["Out", "Dear", "Cheap"]
    assert names("sort=created") == ["Cheap", "Dear", "Out"]
    assert names("price_min=10&price_max=30") == ["Out"]
    assert set(names("brand=acme")) == {"Dear", "Out"}
    assert set(names("in_stock=true")) == {"Cheap", "Dear"}
    assert names("in_stock=false") == ["Out"]
    assert names("featured=true") == ["Dear"]
    assert names("q=dear") == ["Dear"]
    assert names("q=dear&sort=relevance") == ["Dear"]
    assert api.get(url(store, "products?sort=bogus")).status_code == 400
    assert api.get(url(store, "products?price_min=abc")).status_code == 400
    assert cheap and out


def test_pagination_envelope(api, store, product_factory):
    for _ in range(3):
        product_factory(store=store)
    body = api.get(url(store, "products?limit=2&page=2")).json()
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}
    assert len(body["data"]) == 1


def test_patch_and_delete_product(staff_api, store, product_factory):
    product = product_factory(store=store, name="Old")
    response = staff_api.patch(url(store, f"products/{product.pk}"), {"name": "New", "brand": "B"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["name"] == "New"
    assert staff_api.put(url(store, f"products/{product.pk}"), {"name": "x"}, format="json").status_code == 405
    assert staff_api.delete(url(store, f"products/{product.pk}")).status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Variant.objects.filter(product_id=product.pk).exists()


def test_duplicate_product_slug_is_409(staff_api, store, product_factory):
    product_factory(store=store, name="Mug")
    response = staff_api.post(url(store, "products"), {"name": "Mug 2", "slug": "mug"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"
    generated = staff_api.post(url(store, "products"), {"name": "Mug"}, format="json")
    assert generated.json()["data"]["slug"] == "mug-2"


# --- transitions ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        ("draft", "publish", "published"),
        ("published", "unpublish", "draft"),
        ("archived", "unpublish", "draft"),
        ("published", "archive", "archived"),
        ("published", "publish", None),
        ("archived", "publish", None),
        ("draft", "unpublish", None),
        ("draft", "archive", None),
        ("archived", "archive", None),
    ],
)
def test_transitions(staff_api, store, product_factory, start, action, expected):
    product = product_factory(store=store)
    Product.objects.filter(pk=product.pk).update(status=start)
    response = staff_api.post(url(store, f"products/{product.pk}/{action}"))
    product.refresh_from_db()
    if expected is None:
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "INVALID_TRANSITION"
        assert product.status == start
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["data"]["status"] == expected
        assert product.status == expected


def test_viewer_cannot_publish(store, product_factory, member_factory, client_for):
    product = product_factory(store=store, status="draft")
    viewer = client_for(member_factory(store, "viewer"))
    assert viewer.post(url(store, f"products/{product.pk}/publish")).status_code == 403


# --- variants ------------------------------------------------------------------
def test_variant_crud_updates_product_summary(staff_api, store, product_factory):
    product = product_factory(store=store, variants=0)
    created = staff_api.post(url(store, f"products/{product.pk}/variants"),
                             {"sku": "A-1", "name": "A", "price": "7.25", "stock_quantity": 2,
                              "compare_at_price": "9.00", "options": {"size": "M", "color": "red"}}, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()["data"]
    assert data["price"] == "7.25" and data["compare_at_price"] == "9.00" and data["available"] == 2
    product.refresh_from_db()
    assert product.price == Decimal("7.25") and product.in_stock
    variant_id = data["id"]
    patched = staff_api.patch(url(store, f"products/{product.pk}/variants/{variant_id}"),
                              {"stock_quantity": 0, "price": "3.10"}, format="json")
    assert patched.status_code == 200, patched.json()
    product.refresh_from_db()
    assert product.price == Decimal("3.10") and not product.in_stock
    listed = staff_api.get(url(store, f"products/{product.pk}/variants"))
    assert listed.json()["pagination"]["total"] == 1
    assert staff_api.delete(url(store, f"products/{product.pk}/variants/{variant_id}")).status_code == 204
    product.refresh_from_db()
    assert product.price is None and not product.in_stock


@pytest.mark.parametrize("field", ["stock_quantity", "position"])
def test_variant_numbers_past_the_integer_column_are_400(field, staff_api, store, product_factory, variant_factory):
    # given a product with one variant holding 4 units
    product = product_factory(store=store, variants=0)
    variant = variant_factory(product=product, sku="KEEP", stock_quantity=4)
    too_big = 2**31  # PostgreSQL answered "integer out of range" (a 500)
    # when a variant is created, or changed, with a number no integer column holds
    created = staff_api.post(url(store, f"products/{product.pk}/variants"),
                             {"sku": "NEW", "price": "1.00", field: too_big}, format="json")
    patched = staff_api.patch(url(store, f"products/{product.pk}/variants/{variant.pk}"),
                              {field: too_big}, format="json")
    # then both are refused naming the field, and nothing changed
    for response in (created, patched):
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert field in response.json()["error"]["details"]
    assert list(Variant.objects.filter(product=product).values_list("sku", flat=True)) == ["KEEP"]
    variant.refresh_from_db()
    assert variant.stock_quantity == 4


def test_duplicate_sku_in_store_is_409(staff_api, store, product_factory, variant_factory):
    product = product_factory(store=store, variants=0)
    variant_factory(product=product_factory(store=store, variants=0), sku="DUP")
    response = staff_api.post(url(store, f"products/{product.pk}/variants"),
                              {"sku": "DUP", "price": "1.00"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"
    assert not Variant.objects.filter(product=product).exists()


def test_same_sku_in_another_store_is_fine(store, other_store, product_factory, variant_factory, client_for):
    variant_factory(product=product_factory(store=other_store, variants=0), sku="SAME")
    product = product_factory(store=store, variants=0)
    response = client_for(store.owner).post(url(store, f"products/{product.pk}/variants"),
                                            {"sku": "SAME", "price": "1.00"}, format="json")
    assert response.status_code == 201, response.json()


def test_money_places_follow_the_store_currency(store_factory, client_for, product_factory):
    lyd = store_factory(name="Tripoli", slug="tripoli", currency="LYD")
    product = product_factory(store=lyd, variants=0)
    owner = client_for(lyd.owner)
    ok = owner.post(url(lyd, f"products/{product.pk}/variants"), {"sku": "L1", "price": "19.990"}, format="json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["data"]["price"] == "19.990"
    too_many = owner.post(url(lyd, f"products/{product.pk}/variants"), {"sku": "L2", "price": "1.2345"},
                          format="json")
    assert too_many.status_code == 400
    assert "price" in too_many.json()["error"]["details"]
    detail = owner.get(url(lyd, f"products/{product.pk}")).json()["data"]
    assert detail["price"] == "19.990" and detail["currency"] == "LYD"


def test_usd_refuses_three_places(staff_api, store, product_factory):
    product = product_factory(store=store, variants=0)
    response = staff_api.post(url(store, f"products/{product.pk}/variants"), {"sku": "U1", "price": "1.999"},
                              format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "price" in response.json()["error"]["details"]


def test_stock_cannot_drop_below_reserved(staff_api, store, product_factory):
    product = product_factory(store=store, stock_quantity=5)
    variant = product.variants.get()
    Variant.objects.filter(pk=variant.pk).update(reserved=3)
    response = staff_api.patch(url(store, f"products/{product.pk}/variants/{variant.pk}"), {"stock_quantity": 2},
                               format="json")
    assert response.status_code == 400
    assert "stock_quantity" in response.json()["error"]["details"]


# --- images --------------------------------------------------------------------
def test_image_upload_stores_a_reencoded_copy(staff_api, store, product_factory):
    import io

    from PIL import Image

    product = product_factory(store=store)
    source = image_bytes("JPEG", exif=True)
    with Image.open(io.BytesIO(source)) as original:
        assert original.getexif()[0x010F] == "SpyCam Inc."
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("holiday.jpg", source, content_type="image/jpeg")
    response = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": upload, "alt": "Front"},
                              format="multipart")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["url"].startswith("http://testserver/media/catalog/")
    image = ProductImage.objects.get()
    assert "holiday" not in image.image.name
    with image.image.open("rb") as handle, Image.open(handle) as stored:
        assert stored.format == "JPEG"
        assert not stored.getexif()  # EXIF (camera, GPS) stripped
    detail = staff_api.get(url(store, f"products/{product.pk}")).json()["data"]
    assert detail["images"][0]["alt"] == "Front"


def test_a_multi_picture_jpeg_is_stored_as_its_first_picture(staff_api, store, product_factory):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    product = product_factory(store=store)
    source = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(source, "MPO", save_all=True, append_images=[Image.new("RGB", (8, 6))])
    upload = SimpleUploadedFile("phone.jpg", source.getvalue(), content_type="image/jpeg")
    response = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    with ProductImage.objects.get().image.open("rb") as handle, Image.open(handle) as stored:
        assert (stored.format, stored.size) == ("JPEG", (8, 6))


def test_fake_image_is_400_with_details_file(staff_api, store, product_factory):
    from django.core.files.uploadedfile import SimpleUploadedFile

    product = product_factory(store=store)
    fake = SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>" * 10, content_type="image/png")
    response = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": fake}, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "file" in error["details"]
    truncated = SimpleUploadedFile("half.png", image_bytes("PNG", size=(64, 64))[:60], content_type="image/png")
    response = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": truncated}, format="multipart")
    assert response.status_code == 400
    missing = staff_api.post(url(store, f"products/{product.pk}/images"), {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["error"]["details"]
    assert not ProductImage.objects.exists()


def test_oversize_image_is_413(staff_api, store, product_factory, settings):
    settings.IMAGE_UPLOAD_MAX_BYTES = 1000
    product = product_factory(store=store)
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.png", image_bytes("PNG") + b"\0" * 2000, content_type="image/png")
    response = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": big}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert not ProductImage.objects.exists()


def test_viewer_cannot_upload(store, product_factory, member_factory, client_for):
    product = product_factory(store=store)
    viewer = client_for(member_factory(store, "viewer"))
    response = viewer.post(url(store, f"products/{product.pk}/images"), {"file": image_upload()}, format="multipart")
    assert response.status_code == 403


def test_uploads_are_throttled(staff_api, store, product_factory, settings):
    from rest_framework.throttling import SimpleRateThrottle

    product = product_factory(store=store)
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "uploads": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [staff_api.post(url(store, f"products/{product.pk}/images"), {"file": image_upload()},
                                format="multipart").status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [201, 201, 429]


# --- reviews -------------------------------------------------------------------
def test_reviews(api, store, product_factory, user, client_for, staff_api):
    product = product_factory(store=store)
    anonymous = api.post(url(store, f"products/{product.pk}/reviews"), {"rating": 5}, format="json")
    assert anonymous.status_code == 401
    customer = client_for(user)
    first = customer.post(url(store, f"products/{product.pk}/reviews"), {"rating": 5, "title": "Great"},
                          format="json")
    assert first.status_code == 201, first.json()
    second = customer.post(url(store, f"products/{product.pk}/reviews"), {"rating": 1}, format="json")
    assert second.status_code == 409 and second.json()["error"]["code"] == "ALREADY_EXISTS"
    bad = client_for(store.owner).post(url(store, f"products/{product.pk}/reviews"), {"rating": 6}, format="json")
    assert bad.status_code == 400
    assert api.get(url(store, f"products/{product.pk}/reviews")).json()["pagination"]["total"] == 1
    # the merchant hides it: gone for the public, still there for members
    review_id = first.json()["data"]["id"]
    assert customer.patch(url(store, f"products/{product.pk}/reviews/{review_id}"), {"is_hidden": True},
                          format="json").status_code == 404  # not a member of the store
    hidden = staff_api.patch(url(store, f"products/{product.pk}/reviews/{review_id}"), {"is_hidden": True},
                             format="json")
    assert hidden.status_code == 200 and hidden.json()["data"]["is_hidden"] is True
    assert api.get(url(store, f"products/{product.pk}/reviews")).json()["data"] == []
    assert staff_api.get(url(store, f"products/{product.pk}/reviews")).json()["pagination"]["total"] == 1


def test_reviews_only_on_published_products(store, product_factory, user, client_for, staff):
    draft = product_factory(store=store, status="draft")
    assert client_for(user).post(url(store, f"products/{draft.pk}/reviews"), {"rating": 4},
                                 format="json").status_code == 404
    member_try = client_for(staff).post(url(store, f"products/{draft.pk}/reviews"), {"rating": 4}, format="json")
    assert member_try.status_code == 409
    assert not Review.objects.exists()


# --- brands, search, suggestions --------------------------------------------------
def test_brands_count_published_products_for_the_public(api, store, product_factory, staff_api):
    product_factory(store=store, brand="Acme")
    product_factory(store=store, brand="Acme")
    product_factory(store=store, brand="Zed")
    product_factory(store=store, brand="Zed", status="draft")
    product_factory(store=store, brand="")
    assert api.get(url(store, "brands")).json()["data"] == [{"brand": "Acme", "count": 2}, {"brand": "Zed", "count": 1}]
    assert {"brand": "Zed", "count": 2} in staff_api.get(url(store, "brands")).json()["data"]


def test_brands_differing_only_in_case_are_one_brand(api, store, product_factory):
    product_factory(store=store, brand="Acme")
    product_factory(store=store, brand="ACME")
    assert api.get(url(store, "brands")).json()["data"] == [{"brand": "ACME", "count": 2}]
    assert api.get(url(store, "products?brand=acme")).json()["pagination"]["total"] == 2


def test_search_and_suggestions(api, store, product_factory):
    product_factory(store=store, name="Blue Cotton Shirt", description="Soft cotton")
    product_factory(store=store, name="Red Wool Sweater", description="Warm wool")
    product_factory(store=store, name="Cotton Socks", status="draft")
    found = api.get(url(store, "search?q=cotton"))
    assert found.status_code == 200
    assert [p["name"] for p in found.json()["data"]] == ["Blue Cotton Shirt"]
    assert api.get(url(store, "search?q=wool")).json()["data"][0]["name"] == "Red Wool Sweater"
    suggestions = api.get(url(store, "search/suggestions?q=blu")).json()["data"]
    assert [s["name"] for s in suggestions] == ["Blue Cotton Shirt"]
    word_start = api.get(url(store, "search/suggestions?q=wool")).json()["data"]
    assert [s["name"] for s in word_start] == ["Red Wool Sweater"]
    assert api.get(url(store, "search/suggestions?q=")).json()["data"] == []


# --- query counts ----------------------------------------------------------------
@pytest.mark.parametrize("limit", [5, 50])
def test_list_detail_search_run_a_fixed_number_of_queries(api, staff_api, store, product_factory,
                                                          category_factory, django_assert_max_num_queries, limit):
    category = category_factory(store=store, name="All")
    for index in range(limit):
        product = product_factory(store=store, name=f"Thing {index}", category=category, variants=2)
        ProductImage.objects.create(store=store, product=product, image=f"catalog/x{index}.png")
    # store, count, page, variants, images (+ membership for a member, + category path with ?category=)
    with django_assert_max_num_queries(6):
        response = api.get(url(store, f"products?limit={limit}&category=all&sort=price"))
    assert len(response.json()["data"]) == limit
    with django_assert_max_num_queries(7):
        response = staff_api.get(url(store, f"products?limit={limit}"))
    assert len(response.json()["data"]) == limit
    with django_assert_max_num_queries(5):
        response = api.get(url(store, f"search?q=thing&limit={limit}"))
    assert len(response.json()["data"]) == limit
    with django_assert_max_num_queries(4):
        assert api.get(url(store, f"products/{product.pk}")).status_code == 200


def test_category_tree_is_one_query_after_the_store(api, store, category_factory, django_assert_max_num_queries):
    parent = category_factory(store=store, name="P")
    for index in range(10):
        category_factory(store=store, name=f"C{index}", parent=parent)
    with django_assert_max_num_queries(2):
        assert len(api.get(url(store, "categories?tree=true")).json()["data"][0]["children"]) == 10


def test_schema_describes_the_catalog(api, db):
    import json

    document = json.loads(api.get("/api/schema/", HTTP_ACCEPT="application/json").content)
    for path in ["/api/v1/stores/{store}/products", "/api/v1/stores/{store}/products/{id}/publish",
                 "/api/v1/stores/{store}/products/{product_id}/images", "/api/v1/stores/{store}/search",
                 "/api/v1/stores/{store}/search/suggestions", "/api/v1/stores/{store}/brands",
                 "/api/v1/stores/{store}/categories/{id}"]:
        assert path in document["paths"], path
    params = {p["name"] for p in document["paths"]["/api/v1/stores/{store}/products"]["get"]["parameters"]}
    assert {"q", "category", "price_min", "price_max", "brand", "in_stock", "status", "featured", "sort",
            "page", "limit"} <= params


# --- audit and events ------------------------------------------------------------
def test_writes_are_audited_and_emitted(staff_api, store, staff, product_factory, monkeypatch,
                                        django_capture_on_commit_callbacks):
    from auditlog.models import AuditLog

    sent = []
    monkeypatch.setattr("catalog.events.emit", lambda event, store, payload, actor=None: sent.append(
        (event, payload["id"], payload["status"], actor)))
    product = product_factory(store=store, status="draft", variants=0)
    staff_api.post(url(store, f"products/{product.pk}/publish"))
    staff_api.patch(url(store, f"products/{product.pk}"), {"name": "Renamed"}, format="json")
    staff_api.post(url(store, f"products/{product.pk}/archive"))
    staff_api.post(url(store, f"products/{product.pk}/unpublish"))
    staff_api.post(url(store, f"products/{product.pk}/publish"))
    staff_api.delete(url(store, f"products/{product.pk}"))
    actions = list(AuditLog.objects.filter(store=store).order_by("id").values_list("action", flat=True))
    assert actions == ["product.created", "product.published", "product.updated", "product.archived",
                       "product.unpublished", "product.published", "product.deleted"]
    entry = AuditLog.objects.get(action="product.updated")
    assert entry.actor_user == staff
    assert entry.changes["name"] == [product.name, "Renamed"]
    assert [event for event, *_ in sent] == ["product.published", "product.updated", "product.archived",
                                             "product.updated", "product.published"]
    assert sent[0][1:] == (product.pk, "published", staff)


def test_stock_falling_to_the_threshold_notifies_the_owner_once(staff_api, store, product_factory, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    from notifications.models import Notification

    # given a tracked variant well stocked (the store's threshold is 5)
    product = product_factory(store=store, name="Mug", variants=0)
    variant = VariantFactory(product=product, sku="MUG-1", name="Blue", stock_quantity=10)
    path = url(store, f"products/{product.pk}/variants/{variant.pk}")
    # when staff set it to 3, then to 2
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.patch(path, {"stock_quantity": 3}, format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.patch(path, {"stock_quantity": 2}, format="json").status_code == 200
    # then the owner (in-app and email by default) hears of the crossing once
    notice = Notification.objects.get(event_type="inventory.low_stock")
    assert notice.user == store.owner
    assert (notice.data["sku"], notice.data["available"], notice.data["threshold"]) == ("MUG-1", 3, 5)
    assert [message.to for message in mailoutbox] == [[store.owner.email]]
    assert "MUG-1" in mailoutbox[0].body


def test_refused_transition_leaves_no_trace(staff_api, store, product_factory, monkeypatch):
    from auditlog.models import AuditLog

    sent = []
    monkeypatch.setattr("catalog.events.emit", lambda *args, **kwargs: sent.append(args))
    product = product_factory(store=store, status="draft")
    before = AuditLog.objects.count()
    assert staff_api.post(url(store, f"products/{product.pk}/archive")).status_code == 409
    assert AuditLog.objects.count() == before
    assert sent == []


def test_search_ranks_name_matches_first(api, store, product_factory):
    product_factory(store=store, name="Plain Shirt", description="Made of cotton and care.")
    product_factory(store=store, name="Cotton Shirt", description="A shirt.")
    names = [p["name"] for p in api.get(url(store, "search?q=cotton")).json()["data"]]
    assert names == ["Cotton Shirt", "Plain Shirt"]
    # the last word may be unfinished
    assert [p["name"] for p in api.get(url(store, "search?q=cott")).json()["data"]][0] == "Cotton Shirt"


def test_api_keys_write_with_catalog_write_only(api, store, other_store):
    from auditlog.models import AuditLog
    from teams.services import api_key_create

    writer, writer_key = api_key_create(store=store, name="sync", scopes=["catalog.write"])
    _, reader_key = api_key_create(store=store, name="read", scopes=[])
    _, foreign_key = api_key_create(store=other_store, name="other", scopes=["catalog.write"])
    created = api.post(url(store, "products"), {"name": "Keyed"}, format="json", HTTP_X_API_KEY=writer_key)
    assert created.status_code == 201, created.json()
    assert AuditLog.objects.get(action="product.created").actor_id == str(writer.pk)
    assert api.post(url(store, "products"), {"name": "No"}, format="json",
                    HTTP_X_API_KEY=reader_key).status_code == 403
    assert api.post(url(store, "products"), {"name": "No"}, format="json",
                    HTTP_X_API_KEY=foreign_key).status_code == 404
    # a key of the store sees drafts too (it acts for the store)
    draft_id = created.json()["data"]["id"]
    assert api.get(url(store, f"products/{draft_id}"), HTTP_X_API_KEY=reader_key).status_code == 200


def test_image_patch_and_delete(staff_api, store, product_factory, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    product = product_factory(store=store)
    created = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": image_upload()},
                             format="multipart").json()["data"]
    patched = staff_api.patch(url(store, f"products/{product.pk}/images/{created['id']}"),
                              {"alt": "Side", "position": 3}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["data"]["alt"] == "Side" and patched.json()["data"]["position"] == 3
    name = ProductImage.objects.get().image.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.delete(url(store, f"products/{product.pk}/images/{created['id']}")).status_code == 204
    assert not ProductImage.objects.exists()
    assert not default_storage.exists(name)


def test_review_delete_needs_catalog_write(store, product_factory, user, client_for, staff_api, member_factory):
    product = product_factory(store=store)
    review = Review.objects.create(store=store, product=product, user=user, rating=3)
    viewer = client_for(member_factory(store, "viewer"))
    assert viewer.delete(url(store, f"products/{product.pk}/reviews/{review.pk}")).status_code == 403
    assert staff_api.delete(url(store, f"products/{product.pk}/reviews/{review.pk}")).status_code == 204
    assert not Review.objects.exists()


def test_category_writes_are_audited_with_their_actor(store, client_for):
    from auditlog.models import AuditLog

    owner = store.owner
    client = client_for(owner)
    created = client.post(f"/api/v1/stores/{store.slug}/categories", {"name": "Lamps"}, format="json")
    assert created.status_code == 201, created.json()
    category_id = created.json()["data"]["id"]
    client.patch(f"/api/v1/stores/{store.slug}/categories/{category_id}", {"name": "Lights"}, format="json")
    client.delete(f"/api/v1/stores/{store.slug}/categories/{category_id}")
    entries = AuditLog.objects.filter(store=store, object_type="catalog.category").order_by("id")
    assert [(entry.action, entry.actor_user_id) for entry in entries] == [
        ("category.created", owner.pk), ("category.updated", owner.pk), ("category.deleted", owner.pk)]


def test_an_image_patch_nested_too_deeply_is_400(staff_api, store, product_factory):
    # given a product with one image
    product = product_factory(store=store)
    created = staff_api.post(url(store, f"products/{product.pk}/images"), {"file": image_upload()},
                             format="multipart").json()["data"]
    # when its PATCH body is JSON nested deeper than the decoder recurses (was a 500)
    response = staff_api.patch(url(store, f"products/{product.pk}/images/{created['id']}"),
                               "[" * 100_000 + "]" * 100_000, content_type="application/json")
    # then it is a malformed body, and the image is unchanged
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert ProductImage.objects.get().alt == ""


@pytest.mark.parametrize("body", [
    '{"attributes": {"material": "wo\\u0000ol"}}',
    '{"attributes": {"ma\\u0000terial": "wool"}}',
    '{"attributes": {"material": ["\\udc33"]}}',
])
def test_product_attributes_jsonb_cannot_store_are_400(body, staff_api, store, product_factory):
    # given a product with attributes
    product = product_factory(store=store)
    Product.objects.filter(pk=product.pk).update(attributes={"material": "cotton"})
    # when they are replaced with text PostgreSQL's jsonb refuses (was a 500 there)
    response = staff_api.patch(url(store, f"products/{product.pk}"), body, content_type="application/json")
    # then it is refused naming the field, and the product is unchanged
    assert response.status_code == 400, response.content
    assert "attributes" in response.json()["error"]["details"]
    product.refresh_from_db()
    assert product.attributes == {"material": "cotton"}


def test_variant_option_names_jsonb_cannot_store_are_400(staff_api, store, product_factory):
    product = product_factory(store=store, variants=0)
    response = staff_api.post(url(store, f"products/{product.pk}/variants"),
                              {"sku": "O-1", "price": "1.00", "options": {"si\x00ze": "M"}}, format="json")
    assert response.status_code == 400, response.content
    assert "options" in response.json()["error"]["details"]
    assert not Variant.objects.filter(product=product).exists()


@pytest.mark.parametrize("query", ["price_min=abc", "price_max=-1", "price_min=NaN", "price_min=1e400",
                                   "in_stock=maybe", "featured=2", "status=sold", "sort=cheapest", "category=%00",
                                   "q=%00", "brand=%00", "q=" + "word+" * 50])
def test_invalid_list_filters_are_400(api, staff_api, store, product_factory, query):
    product_factory(store=store)
    for client in (api, staff_api):
        response = client.get(url(store, f"products?{query}"))
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("child", ["variants", "images", "reviews"])
def test_a_drafts_rows_are_404_for_the_public(api, staff_api, store, product_factory, child):
    draft = product_factory(store=store, status="draft")
    assert api.get(url(store, f"products/{draft.pk}/{child}")).status_code == 404
    assert staff_api.get(url(store, f"products/{draft.pk}/{child}")).status_code == 200
