"""The cart endpoints: a shopper fills a cart over HTTP, prices always from the catalog, refusals in the envelope."""

import uuid

import pytest

from catalog.models import ProductStatus
from orders.models import Cart, CartLine, Coupon
from tests.envelopes import data, error

pytestmark = pytest.mark.django_db


def new_cart(api, base, **body) -> dict:
    response = api.post(f"{base}/carts", body)
    assert response.status_code == 201, response.json()
    return data(response)


def test_a_shopper_fills_a_cart_applies_a_coupon_and_sees_it_repriced(api, base, store, make_variant):
    # given
    shirt = make_variant(price="20.00", stock=5, name="M")
    Coupon.objects.create(store=store, code="Spring10", kind="percent", value=10)
    # when
    cart = new_cart(api, base)
    added = api.post(f"{base}/carts/{cart['id']}/items", {"variant": shirt.pk, "quantity": 2})
    again = api.post(f"{base}/carts/{cart['id']}/items", {"variant": shirt.pk, "quantity": 1})
    coupon = api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "SPRING10"})
    shirt.price = "30.00"
    shirt.save()
    seen = api.get(f"{base}/carts/{cart['id']}")
    # then
    assert added.status_code == 201 and again.status_code == 201
    assert coupon.status_code == 200, coupon.json()
    view = data(seen)
    assert [(line["variant"], line["quantity"], line["unit_price"], line["line_total"]) for line in view["lines"]] == [
        (shirt.pk, 3, "30.00", "90.00")]
    assert view["coupon"] == {"code": "Spring10", "kind": "percent", "value": "10.00"}
    assert (view["subtotal"], view["discount"], view["total"], view["currency"]) == ("90.00", "9.00", "81.00", "USD")
    assert view["lines"][0]["available"] == 5 and view["messages"] == []


def test_a_cart_is_created_filled_in_one_call_or_not_at_all(api, base, make_variant):
    # given
    cup, plate = make_variant(stock=5), make_variant(stock=1)
    # when
    filled = api.post(f"{base}/carts", {"items": [{"variant": cup.pk, "quantity": 2},
                                                   {"variant": plate.pk, "quantity": 1}]})
    refused = api.post(f"{base}/carts", {"items": [{"variant": cup.pk, "quantity": 1},
                                                    {"variant": plate.pk, "quantity": 2}]})
    # then
    assert filled.status_code == 201
    assert [line["quantity"] for line in data(filled)["lines"]] == [2, 1]
    assert refused.status_code == 409 and error(refused)["code"] == "OUT_OF_STOCK"
    assert Cart.objects.count() == 1


def test_adding_past_available_stock_is_409_out_of_stock_and_changes_nothing(api, base, make_variant):
    # given
    lamp = make_variant(stock=2)
    cart = new_cart(api, base, items=[{"variant": lamp.pk, "quantity": 2}])
    # when
    response = api.post(f"{base}/carts/{cart['id']}/items", {"variant": lamp.pk, "quantity": 1})
    # then
    assert response.status_code == 409
    assert error(response)["code"] == "OUT_OF_STOCK"
    assert CartLine.objects.get().quantity == 2


def test_lines_change_and_go(api, base, make_variant):
    # given
    mug = make_variant(price="4.50", stock=10)
    cart = new_cart(api, base, items=[{"variant": mug.pk, "quantity": 1}])
    line_id = cart["lines"][0]["id"]
    # when
    changed = api.patch(f"{base}/carts/{cart['id']}/items/{line_id}", {"quantity": 4})
    too_many = api.patch(f"{base}/carts/{cart['id']}/items/{line_id}", {"quantity": 11})
    removed = api.delete(f"{base}/carts/{cart['id']}/items/{line_id}")
    gone = api.delete(f"{base}/carts/{cart['id']}/items/{line_id}")
    # then
    assert changed.status_code == 200 and data(changed)["subtotal"] == "18.00"
    assert too_many.status_code == 409 and error(too_many)["code"] == "OUT_OF_STOCK"
    assert removed.status_code == 200 and data(removed)["lines"] == []
    assert gone.status_code == 404


def test_an_unpublished_or_deleted_variant_is_dropped_with_a_message(api, base, make_variant):
    # given
    kept, hidden = make_variant(stock=3), make_variant(stock=3, product_name="Hat")
    deleted = make_variant(stock=3, product_name="Scarf", name="Red")
    gone_with_product = make_variant(product_name="Cap")
    items = [{"variant": v.pk, "quantity": 1} for v in (kept, hidden, deleted, gone_with_product)]
    cart = new_cart(api, base, items=items)
    hidden.product.status = ProductStatus.DRAFT
    hidden.product.save()
    deleted.delete()
    gone_with_product.product.delete()
    # when
    response = api.get(f"{base}/carts/{cart['id']}")
    # then
    assert response.status_code == 200
    view = data(response)
    assert [line["variant"] for line in view["lines"]] == [kept.pk]
    assert view["messages"] == ["Hat is no longer available and was removed from your cart.",
                                "Scarf Red is no longer available and was removed from your cart.",
                                "Cap is no longer available and was removed from your cart."]
    assert data(api.get(f"{base}/carts/{cart['id']}"))["messages"] == []  # said once
    assert CartLine.objects.filter(cart_id=cart["id"]).count() == 1


def test_a_coupon_that_stopped_applying_is_dropped_with_a_message(api, base, store, make_variant):
    # given
    vase = make_variant(price="50.00", stock=3)
    coupon = Coupon.objects.create(store=store, code="BIG", kind="fixed", value=5, min_subtotal=40)
    cart = new_cart(api, base, items=[{"variant": vase.pk, "quantity": 1}])
    assert api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "big"}).status_code == 200
    coupon.is_active = False
    coupon.save()
    # when
    view = data(api.get(f"{base}/carts/{cart['id']}"))
    # then
    assert view["coupon"] is None and view["discount"] == "0.00"
    assert any("BIG" in message for message in view["messages"])


def test_bad_coupons_are_400_with_details_code_and_removal_works(api, base, store, make_variant):
    # given
    vase = make_variant(price="10.00", stock=3)
    Coupon.objects.create(store=store, code="MIN", kind="fixed", value=5, min_subtotal=100)
    cart = new_cart(api, base, items=[{"variant": vase.pk, "quantity": 1}])
    # when
    unknown = api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "NOPE"})
    under = api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "min"})
    removed = api.delete(f"{base}/carts/{cart['id']}/coupon")
    # then
    for response in (unknown, under):
        assert response.status_code == 400
        assert error(response)["code"] == "VALIDATION_ERROR" and "code" in error(response)["details"]
    assert removed.status_code == 200 and data(removed)["coupon"] is None


def test_merge_at_login_adds_the_anonymous_cart_into_the_users(api, auth_api, user, base, make_variant):
    # given
    tea, jam = make_variant(stock=3), make_variant(stock=9)
    mine = new_cart(auth_api, base, items=[{"variant": tea.pk, "quantity": 2}])
    anonymous = new_cart(api, base, items=[{"variant": tea.pk, "quantity": 2}, {"variant": jam.pk, "quantity": 1}])
    # when
    refused = api.post(f"{base}/carts/{anonymous['id']}/merge")
    merged = auth_api.post(f"{base}/carts/{anonymous['id']}/merge")
    # then
    assert refused.status_code == 401
    assert merged.status_code == 200, merged.json()
    view = data(merged)
    assert view["id"] == mine["id"]
    assert {line["variant"]: line["quantity"] for line in view["lines"]} == {tea.pk: 3, jam.pk: 1}  # capped
    assert not Cart.objects.filter(pk=anonymous["id"]).exists()


def test_a_users_cart_is_theirs_alone(api, auth_api, client_for, user_factory, base, make_variant):
    # given
    cart = new_cart(auth_api, base)
    stranger = client_for(user_factory())
    # when / then
    for client in (api, stranger):
        assert client.get(f"{base}/carts/{cart['id']}").status_code == 404
        assert client.post(f"{base}/carts/{cart['id']}/items", {"variant": make_variant().pk, "quantity": 1}
                           ).status_code == 404
    assert auth_api.get(f"{base}/carts/{cart['id']}").status_code == 200


@pytest.mark.parametrize("cart_id", ["not-a-uuid", "12345", str(uuid.uuid4()), "%00", "x" * 300])
def test_a_malformed_or_unknown_cart_id_is_404(api, base, cart_id):
    response = api.get(f"{base}/carts/{cart_id}")
    assert response.status_code == 404
    assert error(response)["code"] == "NOT_FOUND"


def test_another_stores_cart_is_404(api, base, other_store):
    cart = new_cart(api, f"/api/v1/stores/{other_store.slug}")
    assert api.get(f"{base}/carts/{cart['id']}").status_code == 404


@pytest.mark.parametrize("body", [
    {}, {"variant": "abc", "quantity": 1}, {"variant": 1, "quantity": "many"}, {"variant": 1, "quantity": -1},
    {"variant": 1, "quantity": 0}, {"variant": 1, "quantity": 10**30}, {"variant": 10**30, "quantity": 1},
    {"variant": True, "quantity": 1}, {"variant": None, "quantity": 1}, {"variant": [1], "quantity": 1},
    {"variant": 1.5, "quantity": 1}, {"variant": 999999, "quantity": 1},
])
def test_bad_item_input_is_400_in_the_envelope(api, base, body):
    cart = new_cart(api, base)
    response = api.post(f"{base}/carts/{cart['id']}/items", body)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "VALIDATION_ERROR"


def test_bad_input_elsewhere_is_400_or_404_never_500(api, base, make_variant):
    cart = new_cart(api, base, items=[{"variant": make_variant(stock=5).pk, "quantity": 1}])
    line = cart["lines"][0]["id"]
    assert api.post(f"{base}/carts", {"items": "lots"}).status_code == 400
    assert api.post(f"{base}/carts", {"items": [{"variant": 1}] * 101}).status_code == 400
    assert api.patch(f"{base}/carts/{cart['id']}/items/{line}", {"quantity": -3}).status_code == 400
    assert api.patch(f"{base}/carts/{cart['id']}/items/{10**30}", {"quantity": 1}).status_code == 404
    assert api.delete(f"{base}/carts/{cart['id']}/items/{10**30}").status_code == 404
    assert api.post(f"{base}/carts/{cart['id']}/coupon", {"code": ["x"]}).status_code == 400
    assert api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "x" * 500}).status_code == 400
    assert api.post(f"{base}/carts/{cart['id']}/items", "[1]", content_type="application/json").status_code == 400


def test_an_unpublished_product_cannot_be_added(api, base, make_variant):
    draft = make_variant(status=ProductStatus.DRAFT)
    cart = new_cart(api, base)
    response = api.post(f"{base}/carts/{cart['id']}/items", {"variant": draft.pk, "quantity": 1})
    assert response.status_code == 400
    assert "variant" in error(response)["details"]


def test_a_deleted_coupon_is_dropped_with_a_message_and_checkout_says_so_first(api, base, store, make_variant):
    # given a cart with a coupon the store then deletes
    vase = make_variant(price="50.00", stock=3)
    coupon = Coupon.objects.create(store=store, code="GONE", kind="fixed", value=5)
    cart = new_cart(api, base, items=[{"variant": vase.pk, "quantity": 1}])
    assert api.post(f"{base}/carts/{cart['id']}/coupon", {"code": "gone"}).status_code == 200
    coupon.delete()
    checkout = {"cart": cart["id"], "email": "a@example.com", "shipping_address": {"line1": "1 Main St"},
                "payment_method": "cod"}
    # when: checkout before looking at the cart
    refused = api.post(f"{base}/checkout", checkout)
    # then
    assert refused.status_code == 400
    assert error(refused)["details"] == {"coupon": ["The coupon GONE no longer exists."]}
    # when: the cart is looked at
    view = data(api.get(f"{base}/carts/{cart['id']}"))
    # then: re-priced without it, saying why, once
    assert (view["coupon"], view["discount"], view["total"]) == (None, "0.00", "50.00")
    assert view["messages"] == ["The coupon GONE was removed: it no longer exists."]
    assert data(api.get(f"{base}/carts/{cart['id']}"))["messages"] == []
    assert api.post(f"{base}/checkout", checkout).status_code == 201
