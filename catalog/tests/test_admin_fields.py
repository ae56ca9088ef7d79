"""The product page edits options and attributes as rows of name and value, and shows money with the store
currency's places."""

import re
from decimal import Decimal

import pytest

from auditlog.models import AuditLog
from catalog import services
from catalog.models import Product, Variant
from catalog.tests.test_admin import change_form_data
from config.api.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def inputs(html: str, name: str) -> list[str]:
    """The values of the inputs called ``name``, in page order."""
    return [match.group(1) for match in
            re.finditer(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)]


@pytest.fixture
def shirt(store, product_factory):
    product = product_factory(store=store, name="Shirt", variants=0, attributes={"material": "cotton"})
    services.variant_create(product=product, sku="SH-M", price=Decimal("12.5"), options={"size": "M",
                                                                                         "color": "red"})
    return product


def test_the_change_page_shows_options_and_attributes_as_rows(store, shirt, admin_login):
    page = admin_login(store.owner).get(f"/admin/catalog/product/{shirt.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    # a row per pair and a blank one to fill in, not a JSON text area
    assert inputs(html, "attributes_key") == ["material", ""]
    assert inputs(html, "attributes_value") == ["cotton", ""]
    assert inputs(html, "variants-0-options_key") == ["size", "color", ""]
    assert inputs(html, "variants-0-options_value") == ["M", "red", ""]
    assert 'name="variants-0-options"' not in html and 'name="attributes"' not in html
    # the add and remove buttons come from the repo's own static file, as does the layout
    assert "/static/teams/key_value.js" in html and "/static/teams/key_value.css" in html
    assert "/static/catalog/product_admin.css" in html


def test_posted_rows_are_saved_as_the_json_entered(store, shirt, admin_login):
    # given
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{shirt.pk}/change/"
    data = change_form_data(client.get(url))
    # when: a row changed, one added, one removed (cleared), spaces around (jsonb keeps no key order: not checked)
    response = client.post(url, {
        **data,
        "attributes_key": ["material", " fit ", ""], "attributes_value": ["linen", "loose", ""],
        "variants-0-options_key": ["size", "", "sleeve"], "variants-0-options_value": ["L", "", " long "],
    })
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    shirt.refresh_from_db()
    assert shirt.attributes == {"material": "linen", "fit": "loose"}
    assert shirt.variants.get().options == {"size": "L", "sleeve": "long"}


def test_a_new_variant_row_takes_its_options(store, shirt, admin_login):
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{shirt.pk}/change/"
    data = change_form_data(client.get(url))
    response = client.post(url, {
        **data, "variants-TOTAL_FORMS": "2",
        "variants-1-sku": "SH-L", "variants-1-price": "13.00", "variants-1-stock_quantity": "2",
        "variants-1-position": "1", "variants-1-options_key": ["size"], "variants-1-options_value": ["L"],
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Variant.objects.get(sku="SH-L").options == {"size": "L"}


@pytest.mark.parametrize("rows, message", [
    ({"variants-0-options_key": ["size", "size"], "variants-0-options_value": ["M", "L"]},
     "The key “size” is on more than one row"),
    ({"variants-0-options_key": ["size", ""], "variants-0-options_value": ["M", "red"]},
     "Every value needs a name: a key is empty."),
    ({"attributes_key": ["material", "material "], "attributes_value": ["linen", "wool"]},
     "The key “material” is on more than one row"),
    ({"attributes_key": ["", "fit"], "attributes_value": ["linen", "loose"]},
     "Every value needs a name: a key is empty."),
])
def test_a_bad_set_shows_an_error_and_saves_nothing(store, shirt, admin_login, rows, message):
    # given
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{shirt.pk}/change/"
    data = change_form_data(client.get(url))
    before = AuditLog.objects.count()
    # when: the name changes too, and the stock
    response = client.post(url, {**data, "name": "Shirt Two", "variants-0-stock_quantity": "9", **rows})
    # then: the form again with the error where it belongs, and nothing written
    assert response.status_code == 200
    assert message in response.content.decode()
    shirt.refresh_from_db()
    variant = shirt.variants.get()
    assert (shirt.name, shirt.attributes) == ("Shirt", {"material": "cotton"})
    assert (variant.options, variant.stock_quantity) == ({"size": "M", "color": "red"}, 0)
    assert AuditLog.objects.count() == before


def test_values_the_api_set_that_are_not_text_stay_unless_edited(store, product_factory, admin_login):
    # given: attributes set through the API with a list and a number
    product = product_factory(store=store, attributes={"sizes": [1, 2], "weight": 250, "material": "wool"})
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{product.pk}/change/"
    page = client.get(url)
    assert inputs(page.content.decode(), "attributes_value") == ["[1, 2]", "250", "wool", ""]
    before = AuditLog.objects.count()
    # when: saved as shown, then with the number edited
    unchanged = client.post(url, change_form_data(page))
    # then
    assert unchanged.status_code == 302
    product.refresh_from_db()
    assert product.attributes == {"sizes": [1, 2], "weight": 250, "material": "wool"}
    assert AuditLog.objects.count() == before  # nothing changed, nothing recorded
    edited = change_form_data(client.get(url))
    edited["attributes_value"] = ["[1, 2]", "300 g", "wool"]
    assert client.post(url, edited).status_code == 302
    product.refresh_from_db()
    assert product.attributes == {"sizes": [1, 2], "weight": "300 g", "material": "wool"}


# --- the same rules in the service and the API -------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"": "M"}, {"  ": "M"}, {"size": 3}, {"size": "M" * 101}, {"s" * 101: "M"}])
def test_the_service_refuses_bad_options(store, product_factory, options):
    product = product_factory(store=store)
    variant = product.variants.get()
    with pytest.raises(ValidationFailed) as refused:
        services.variant_update(variant=variant, options=options)
    assert "options" in refused.value.details
    with pytest.raises(ValidationFailed):
        services.variant_create(product=product, sku="NEW-1", price=Decimal("1.00"), options=options)
    assert not Variant.objects.filter(sku="NEW-1").exists()


def test_the_api_refuses_an_empty_key(owner_api, base, store, product_factory):
    product = product_factory(store=store, attributes={"material": "cotton"})
    variant = product.variants.get()
    answer = owner_api.patch(f"{base}/products/{product.pk}/variants/{variant.pk}", {"options": {"": "M"}},
                             format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["options"] == ["Every value needs a name: a key is empty."]
    answer = owner_api.patch(f"{base}/products/{product.pk}", {"attributes": {" ": "x"}}, format="json")
    assert answer.status_code == 400
    assert "attributes" in answer.json()["error"]["details"]
    product.refresh_from_db()
    variant.refresh_from_db()
    assert (product.attributes, variant.options) == ({"material": "cotton"}, {})


# --- money with the store currency's places ---------------------------------------------------------------------
@pytest.mark.parametrize("currency, shown, column", [("USD", "12.50", "12.50 USD"), ("LYD", "12.500", "12.500 LYD")])
def test_prices_are_shown_with_the_currency_places(store_factory, product_factory, admin_login, currency, shown,
                                                   column):
    # given
    store = store_factory(currency=currency)
    product = product_factory(store=store, variants=0)
    services.variant_create(product=product, sku="P-1", price=Decimal("12.5"), compare_at_price=Decimal("15"))
    client = admin_login(store.owner)
    # when
    page = client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    listing = client.get("/admin/catalog/product/").content.decode()
    # then: the inputs, the product's price and the list column
    assert inputs(page, "variants-0-price") == [shown]
    assert inputs(page, "variants-0-compare_at_price") == ["15." + "0" * (len(shown) - 3)]
    assert column in page and column in listing
    assert "12.500 USD" not in page + listing if currency == "USD" else True


def test_a_usd_price_left_as_shown_is_not_a_change(store, product_factory, admin_login):
    product = product_factory(store=store, price=Decimal("12.5"))
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = change_form_data(client.get(url))
    assert str(data["variants-0-price"]) == "12.50"
    before = AuditLog.objects.count()
    assert client.post(url, data).status_code == 302
    assert AuditLog.objects.count() == before
    assert Product.objects.get(pk=product.pk).variants.get().price == Decimal("12.5")


def test_the_add_page_proposes_the_store_of_a_one_store_merchant(store, other_store, member_factory, admin_login):
    page = admin_login(store.owner).get("/admin/catalog/product/add/")
    assert page.context["adminform"].form.initial["store"] == store.pk
    # a member of two stores chooses
    both = member_factory(store, "staff")
    from teams.models import Membership

    Membership.objects.create(user=both, store=other_store, role="staff")
    page = admin_login(both).get("/admin/catalog/product/add/")
    assert "store" not in page.context["adminform"].form.initial


def test_a_post_without_the_rows_leaves_the_values_alone(store, shirt, admin_login):
    client = admin_login(store.owner)
    url = f"/admin/catalog/product/{shirt.pk}/change/"
    data = {name: value for name, value in change_form_data(client.get(url)).items()
            if not name.startswith("attributes_") and "-options_" not in name}
    assert client.post(url, {**data, "name": "Shirt Two"}).status_code == 302
    shirt.refresh_from_db()
    assert (shirt.name, shirt.attributes) == ("Shirt Two", {"material": "cotton"})
    assert shirt.variants.get().options == {"size": "M", "color": "red"}
