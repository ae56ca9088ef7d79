import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.models import Product, Review
from teams.admin_fields import KeyValueWidget
from tests.factories import image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_for_owner(store):
    client = Client()
    client.force_login(store.owner)
    return client


def test_product_changelist_and_change_page(admin_client_for_owner, store, other_store, product_factory,
                                            category_factory):
    category = category_factory(store=store, name="Shirts")
    product = product_factory(store=store, name="Mine", category=category)
    product_factory(store=other_store, name="Theirs")
    response = admin_client_for_owner.get("/admin/catalog/product/?status__exact=published&in_stock=yes")
    assert response.status_code == 200
    assert b"Mine" in response.content and b"Theirs" not in response.content
    assert b"Import CSV" in response.content
    assert admin_client_for_owner.get(f"/admin/catalog/product/{product.pk}/change/").status_code == 200
    assert admin_client_for_owner.get("/admin/catalog/product/?q=SKU").status_code == 200


def test_publish_action_calls_the_service(admin_client_for_owner, store, product_factory):
    draft = product_factory(store=store, status="draft")
    archived = product_factory(store=store, status="published")
    Product.objects.filter(pk=archived.pk).update(status="archived")
    response = admin_client_for_owner.post("/admin/catalog/product/", {
        "action": "publish_selected", "_selected_action": [draft.pk, archived.pk]}, follow=True)
    assert response.status_code == 200
    draft.refresh_from_db()
    archived.refresh_from_db()
    assert draft.status == "published"
    assert archived.status == "archived"
    text = response.content.decode()
    assert "1 product(s) published" in text
    assert "Cannot publish a archived product" in text


def test_add_product_with_variant_and_image(admin_client_for_owner, store):
    data = {
        "store": store.pk, "name": "Admin Made", "slug": "admin-made", "brand": "Acme", "description": "",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "AM-1", "variants-0-name": "One", "variants-0-price": "4.50",
        "variants-0-stock_quantity": "3", "variants-0-track_inventory": "on",
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000", "images-0-image": image_upload(), "images-0-alt": "Front",
        "images-0-position": "0",
    }
    response = admin_client_for_owner.post("/admin/catalog/product/add/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    product = Product.objects.get(slug="admin-made")
    assert product.variants.get().sku == "AM-1"
    assert product.price is not None and product.in_stock
    assert product.images.count() == 1 and product.images.get().alt == "Front"


def test_admin_refuses_a_fake_image(admin_client_for_owner, store, product_factory):
    fake = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    data = {
        "store": store.pk, "name": "Fake", "slug": "fake",
        "variants-TOTAL_FORMS": "0", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000", "images-0-image": fake, "images-0-alt": "", "images-0-position": "0",
    }
    response = admin_client_for_owner.post("/admin/catalog/product/add/", data)
    assert response.status_code == 200  # the form again, with the error
    assert not Product.objects.filter(slug="fake").exists()


def test_category_changelist_indents_by_depth(admin_client_for_owner, store, category_factory):
    root = category_factory(store=store, name="Root")
    category_factory(store=store, name="Leaf", parent=root)
    response = admin_client_for_owner.get("/admin/catalog/category/")
    assert response.status_code == 200
    assert b"padding-left:1.5em" in response.content


def test_review_hide_action(admin_client_for_owner, store, product_factory, user):
    product = product_factory(store=store)
    review = Review.objects.create(store=store, product=product, user=user, rating=4)
    response = admin_client_for_owner.post("/admin/catalog/review/", {
        "action": "hide_selected", "_selected_action": [review.pk]}, follow=True)
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.is_hidden


def test_admin_import_view(admin_client_for_owner, store):
    page = admin_client_for_owner.get("/admin/catalog/product/import/")
    assert page.status_code == 200
    bad = SimpleUploadedFile("p.csv", b"sku,product_name,price\nA,Thing,1.999\n", content_type="text/csv")
    response = admin_client_for_owner.post("/admin/catalog/product/import/", {"store": store.pk, "file": bad})
    assert response.status_code == 200
    assert b"import-errors" in response.content and b"price" in response.content
    assert not Product.objects.exists()
    good = SimpleUploadedFile("p.csv", b"sku,product_name,price\nA,Thing,1.99\n", content_type="text/csv")
    response = admin_client_for_owner.post("/admin/catalog/product/import/", {"store": store.pk, "file": good})
    assert response.status_code == 302
    assert Product.objects.get().variants.get().sku == "A"


def test_staff_of_another_store_sees_nothing(store, other_store, product_factory, member_factory):
    product = product_factory(store=store)
    outsider = member_factory(other_store, "staff")
    client = Client()
    client.force_login(outsider)
    assert product.name.encode() not in client.get("/admin/catalog/product/").content
    assert client.get(f"/admin/catalog/product/{product.pk}/change/").status_code in (302, 404)


def test_category_add_and_move_in_the_admin(admin_client_for_owner, store, category_factory):
    assert admin_client_for_owner.get("/admin/catalog/category/add/").status_code == 200
    parent = category_factory(store=store, name="Parent")
    response = admin_client_for_owner.post("/admin/catalog/category/add/", {
        "store": store.pk, "name": "Child", "slug": "child", "parent": parent.pk, "position": 0, "description": ""})
    assert response.status_code == 302
    from catalog.models import Category

    child = Category.objects.get(slug="child")
    assert child.path.startswith(parent.path) and child.depth == 1
    duplicate = admin_client_for_owner.post("/admin/catalog/category/add/", {
        "store": store.pk, "name": "Again", "slug": "child", "position": 0, "description": ""})
    assert duplicate.status_code == 200  # the form with the slug error
    moved = admin_client_for_owner.post(f"/admin/catalog/category/{child.pk}/change/", {
        "name": "Child", "slug": "child", "parent": "", "position": 0, "description": ""})
    assert moved.status_code == 302
    child.refresh_from_db()
    assert child.depth == 0 and child.parent is None


def test_other_admin_pages_render(admin_client_for_owner, store, product_factory, user):
    product = product_factory(store=store)
    review = Review.objects.create(store=store, product=product, user=user, rating=4)
    for path in ["/admin/catalog/product/add/", f"/admin/catalog/review/{review.pk}/change/",
                 "/admin/catalog/review/", "/admin/catalog/category/?q=x",
                 "/admin/autocomplete/?app_label=catalog&model_name=product&field_name=category"]:
        assert admin_client_for_owner.get(path).status_code == 200, path


def change_form_data(response) -> dict:
    """The POST a browser would send for an admin change page left as it is (form and inline forms)."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            widget = form.fields[name].widget
            if isinstance(widget, KeyValueWidget):  # its rows, as the browser posts them
                rows = widget.format_value(value)
                data[f"{form.add_prefix(name)}_key"] = [key for key, _ in rows]
                data[f"{form.add_prefix(name)}_value"] = [item for _, item in rows]
                continue
            if value is True:
                value = "on"
            if value is None or value is False or hasattr(value, "url"):  # a file input stays empty
                continue
            data[form.add_prefix(name)] = value
    return data


def test_product_saved_in_the_admin_is_audited_once(admin_client_for_owner, store, product_factory):
    # given
    from auditlog.models import AuditLog

    product = product_factory(store=store, name="Tee", variants=2)
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = change_form_data(admin_client_for_owner.get(url))
    before = AuditLog.objects.count()
    # when
    response = admin_client_for_owner.post(url, {**data, "name": "Tee Two"})
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    entries = list(AuditLog.objects.order_by("id")[before:])
    assert [(e.action, e.changes, e.actor_user) for e in entries] == [
        ("product.updated", {"name": ["Tee", "Tee Two"]}, store.owner)]


def test_inline_variant_and_image_changes_are_audited_on_the_product(admin_client_for_owner, store,
                                                                   product_factory):
    # given
    from auditlog.models import AuditLog
    from catalog import services

    product = product_factory(store=store, name="Tee", variants=1)
    services.product_image_add(product=product, upload=image_upload(), alt="Front")
    variant = product.variants.get()
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = change_form_data(admin_client_for_owner.get(url))
    before = AuditLog.objects.count()
    # when: only the inline rows change
    response = admin_client_for_owner.post(url, {**data, "variants-0-stock_quantity": "9", "images-0-alt": "Back"})
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    entries = list(AuditLog.objects.order_by("id")[before:])
    assert [e.action for e in entries] == ["product.updated", "product.updated"]
    assert entries[0].changes == {"variant": {variant.sku: {"stock_quantity": [5, 9]}}}
    # and the stock change is in the inventory ledger, by the same person
    movement = variant.movements.latest("id")
    assert (movement.reason, movement.quantity_delta, movement.actor_user) == ("adjustment", 4, store.owner)
    assert list(entries[1].changes["images"].values()) == [{"alt": ["Front", "Back"]}]
    assert product.images.get().alt == "Back"


def test_category_and_review_admin_writes_are_audited_once(admin_client_for_owner, store, product_factory, user):
    from auditlog.models import AuditLog

    response = admin_client_for_owner.post("/admin/catalog/category/add/", {
        "store": store.pk, "name": "Shoes", "slug": "shoes", "position": 0, "description": ""})
    assert response.status_code == 302
    product = product_factory(store=store)
    review = Review.objects.create(store=store, product=product, user=user, rating=2)
    before = AuditLog.objects.count()
    response = admin_client_for_owner.post(f"/admin/catalog/review/{review.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Review.objects.exists()
    assert list(AuditLog.objects.filter(action="category.created").values_list("actor_user", flat=True)) == [
        store.owner.pk]
    assert list(AuditLog.objects.order_by("id")[before:].values_list("action", flat=True)) == ["review.deleted"]
    assert not AuditLog.objects.filter(action__startswith="admin.").exists()


def _new_product_form(store, **extra) -> dict:
    return {
        "store": store.pk, "name": "Admin Made", "slug": "admin-made", "brand": "Acme", "description": "",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "AM-1", "variants-0-name": "One", "variants-0-price": "4.50",
        "variants-0-stock_quantity": "3", "variants-0-track_inventory": "on",
        "variants-0-position": "0",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0", "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        **extra,
    }


@pytest.mark.parametrize("fields", [
    {"variants-0-price": "4.505"},  # USD has two places; the API answers 400 for this
    {"variants-0-compare_at_price": "9.999"},
    {"variants-0-options_key": ["", "color"], "variants-0-options_value": ["M", "red"]},  # a value without a key
    {"variants-0-options_key": ["size"], "variants-0-options_value": ["M" * 101]},  # the API's 100 characters
    {"attributes_key": [" "], "attributes_value": ["cotton"]},
])
def test_admin_refuses_what_the_api_refuses(admin_client_for_owner, store, fields):
    response = admin_client_for_owner.post("/admin/catalog/product/add/", _new_product_form(store, **fields))
    assert response.status_code == 200  # the form again, with the error
    assert not Product.objects.exists()


def test_admin_keeps_unchanged_prices_of_a_three_place_column(admin_client_for_owner, store, product_factory):
    # given: a USD variant whose 10.000 column value the change page shows as it is
    product = product_factory(store=store, variants=1)
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = change_form_data(admin_client_for_owner.get(url))
    # when
    response = admin_client_for_owner.post(url, {**data, "variants-0-stock_quantity": "7"})
    # then
    assert response.status_code == 302
    assert product.variants.get().stock_quantity == 7


def test_archive_action_and_the_category_brand_filters(admin_client_for_owner, store, other_store, product_factory,
                                                       category_factory):
    parent = category_factory(store=store, name="Clothing")
    shirts = category_factory(store=store, name="Shirts", parent=parent)
    category_factory(store=other_store, name="Elsewhere")
    shirt = product_factory(store=store, name="Linen Shirt", brand="Loom", category=shirts)
    product_factory(store=store, name="Mug", brand="Potter")
    changelist = "/admin/catalog/product/"
    by_category = admin_client_for_owner.get(f"{changelist}?category__id__exact={shirts.pk}").content
    assert b"Linen Shirt" in by_category and b"Mug" not in by_category
    assert b"Elsewhere" not in by_category  # the filter lists this store's categories only
    by_brand = admin_client_for_owner.get(f"{changelist}?brand=Potter").content
    assert b"Mug" in by_brand and b"Linen Shirt" not in by_brand
    autocomplete = admin_client_for_owner.get(
        "/admin/autocomplete/?app_label=catalog&model_name=product&field_name=category&term=").json()
    assert {row["text"] for row in autocomplete["results"]} == {"Clothing", "Shirts"}
    response = admin_client_for_owner.post(changelist, {"action": "archive_selected",
                                                        "_selected_action": [shirt.pk]}, follow=True)
    assert response.status_code == 200
    shirt.refresh_from_db()
    assert shirt.status == "archived"


def test_admin_import_reports_a_conflict_met_while_writing(admin_client_for_owner, store, monkeypatch):
    from catalog import services
    from config.api.errors import AlreadyExists

    def conflict(**kwargs):
        raise AlreadyExists("The slug is already used in this store.")

    monkeypatch.setattr(services, "product_create", conflict)
    upload = SimpleUploadedFile("p.csv", b"sku,product_name,price\nA,Thing,1.99\n", content_type="text/csv")
    response = admin_client_for_owner.post("/admin/catalog/product/import/", {"store": store.pk, "file": upload})
    assert response.status_code == 200
    assert b"Nothing was imported" in response.content
    assert not Product.objects.exists()


def test_the_product_form_proposes_the_slug_from_the_name(store, admin_login):
    """Typing the name fills the slug (Django's prepopulated fields, rendered by unfold's change form)."""
    page = admin_login(store.owner).get("/admin/catalog/product/add/")
    text = page.content.decode()
    assert page.status_code == 200 and 'id="django-admin-prepopulated-fields-constants"' in text
    assert "&quot;#id_slug&quot;" in text and "&quot;#id_name&quot;" in text
