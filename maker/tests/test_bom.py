"""POST carts/{id}/bom: a CSV of sku,quantity fills a cart in one call and reports what it could not add."""

import pytest

from orders.models import CartLine

pytestmark = pytest.mark.django_db


def new_cart(api, store) -> str:
    return api.post(f"/api/v1/stores/{store.slug}/carts", {}, format="json").json()["data"]["id"]


def test_good_lines_are_added_and_bad_ones_reported(api, store, other_store, make_variant):
    # given two products on sale, one short of stock, one unpublished, and another store's
    bolt = make_variant(price="0.25", stock=500)
    nut = make_variant(price="0.10", stock=1000)
    scarce = make_variant(price="9.00", stock=2)
    hidden = make_variant(price="1.00", stock=10, status="draft")
    theirs = make_variant(store=other_store, price="1.00", stock=10)
    cart = new_cart(api, store)
    csv_text = (
        "sku,quantity\n"
        f"{bolt.sku},100\n"
        f"{nut.sku}, 200\n"
        f"{scarce.sku},5\n"
        f"{hidden.sku},1\n"
        f"{theirs.sku},1\n"
        "NO-SUCH-SKU,3\n"
        f"{bolt.sku},many\n"
        f"{nut.sku},0\n"
        "\n"
    )
    # when
    response = api.post(f"/api/v1/stores/{store.slug}/carts/{cart}/bom", {"csv": csv_text}, format="json")
    # then
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert [(item["row"], item["sku"], item["quantity"]) for item in data["added"]] == [
        (2, bolt.sku, "100"), (3, nut.sku, "200")]
    assert [(item["row"], item["code"]) for item in data["failed"]] == [
        (4, "OUT_OF_STOCK"), (5, "VALIDATION_ERROR"), (6, "NOT_FOUND"), (7, "NOT_FOUND"), (8, "VALIDATION_ERROR"),
        (9, "VALIDATION_ERROR")]
    assert data["failed"][0]["message"] == f"Only 2 of {scarce.sku} available."
    assert data["cart"]["subtotal"] == "45.00"
    assert sorted(CartLine.objects.filter(cart_id=cart).values_list("variant_id", "quantity")) == sorted(
        [(bolt.pk, 100), (nut.pk, 200)])


def test_a_csv_body_works_too_and_rows_add_up(api, store, make_variant):
    bolt = make_variant(price="0.25", stock=500)
    cart = new_cart(api, store)
    response = api.generic("POST", f"/api/v1/stores/{store.slug}/carts/{cart}/bom",
                           f"{bolt.sku},10\n{bolt.sku},5\n", content_type="text/csv")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["failed"] == []
    assert CartLine.objects.get(cart_id=cart).quantity == 15


def test_an_empty_or_oversized_bom_adds_nothing(api, store, make_variant):
    bolt = make_variant(price="0.25", stock=500)
    cart = new_cart(api, store)
    url = f"/api/v1/stores/{store.slug}/carts/{cart}/bom"
    assert api.post(url, {"csv": "sku,quantity\n"}, format="json").status_code == 400
    response = api.post(url, {"csv": f"{bolt.sku},1\n" * 201}, format="json")
    assert response.status_code == 400 and response.json()["error"]["details"]["csv"]
    assert not CartLine.objects.exists()


def test_another_stores_cart_is_not_found(api, store, other_store):
    cart = new_cart(api, store)
    response = api.post(f"/api/v1/stores/{other_store.slug}/carts/{cart}/bom", {"csv": "A,1"}, format="json")
    assert response.status_code == 404
