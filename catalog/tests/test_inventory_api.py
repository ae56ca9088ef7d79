"""The inventory endpoints: stock per variant, adjustments through catalog.services.stock, the movements ledger."""

import pytest

from catalog.models import InventoryMovement
from orders import services

pytestmark = pytest.mark.django_db


def test_inventory_shows_on_hand_reserved_and_available(owner_api, base, make_variant, cart_with, store):
    # given
    variant = make_variant(stock=10, product_name="Kettle")
    cart = cart_with((variant, 3))
    services.order_place(store=store, cart=cart, email="b@example.com", shipping_address={}, payment_method="cod")
    # when
    response = owner_api.get(f"{base}/inventory")
    # then
    assert response.status_code == 200
    row = response.json()["data"][0]
    assert (row["variant"], row["sku"], row["product_name"]) == (variant.pk, variant.sku, "Kettle")
    assert (row["stock_quantity"], row["reserved"], row["available"]) == (10, 3, 7)


def test_low_stock_lists_tracked_variants_at_or_under_the_threshold(owner_api, base, make_variant, store):
    # given
    store.low_stock_threshold = 5
    store.save()
    low, edge = make_variant(stock=1), make_variant(stock=5)
    make_variant(stock=6)
    make_variant(stock=0, track_inventory=False)
    # when
    rows = owner_api.get(f"{base}/inventory", {"low_stock": "true"}).json()["data"]
    # then
    assert [row["variant"] for row in rows] == [low.pk, edge.pk]


def test_an_adjustment_changes_stock_and_writes_the_ledger(owner_api, base, make_variant, store):
    # given
    variant = make_variant(stock=4)
    # when
    response = owner_api.post(f"{base}/inventory/adjustments", {"variant": variant.pk, "delta": 6,
                                                                 "reason": "restock", "note": "supplier"})
    ledger = owner_api.get(f"{base}/inventory/movements", {"variant": variant.pk, "reason": "restock"}).json()
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["stock_quantity"] == 10
    assert len(ledger["data"]) == 1
    movement = ledger["data"][0]
    assert (movement["variant"], movement["reason"], movement["quantity_delta"], movement["reserved_delta"],
            movement["note"], movement["actor"], movement["order"]) == (
        variant.pk, "restock", 6, 0, "supplier", store.owner.email, None)


def test_order_movements_name_the_order(owner_api, base, make_variant, cart_with, store):
    variant = make_variant(stock=4)
    order = services.order_place(store=store, cart=cart_with((variant, 1)), email="b@example.com",
                                 shipping_address={}, payment_method="cod")
    rows = owner_api.get(f"{base}/inventory/movements", {"reason": "reserve"}).json()["data"]
    assert [(row["order"], row["order_number"], row["reserved_delta"]) for row in rows] == [(order.pk, order.number, 1)]
    assert owner_api.get(f"{base}/inventory/movements", {"order": order.pk}).json()["pagination"]["total"] == 1


def test_stock_cannot_go_below_zero_or_below_what_orders_hold(owner_api, base, make_variant, cart_with, store):
    # given
    variant = make_variant(stock=5)
    services.order_place(store=store, cart=cart_with((variant, 3)), email="b@example.com", shipping_address={},
                         payment_method="cod")
    before = InventoryMovement.objects.count()
    # when
    below_zero = owner_api.post(f"{base}/inventory/adjustments", {"variant": variant.pk, "delta": -6,
                                                                   "reason": "adjustment"})
    below_reserved = owner_api.post(f"{base}/inventory/adjustments", {"variant": variant.pk, "delta": -3,
                                                                       "reason": "adjustment"})
    # then
    assert below_zero.status_code == 409 and below_reserved.status_code == 409
    assert below_reserved.json()["error"]["code"] == "OUT_OF_STOCK"
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (5, 3)
    assert InventoryMovement.objects.count() == before


@pytest.mark.parametrize("body", [
    {}, {"variant": 1, "delta": 1, "reason": "sale"}, {"variant": 1, "delta": 1, "reason": "reserve"},
    {"delta": 1, "reason": "restock"}, {"variant": "x", "delta": 1, "reason": "restock"},
    {"variant": 1, "delta": 0, "reason": "restock"}, {"variant": 1, "delta": 10**12, "reason": "restock"},
    {"variant": 10**30, "delta": 1, "reason": "restock"}, {"variant": 1, "delta": "many", "reason": "restock"},
    {"variant": 1, "delta": 1, "reason": "restock", "note": "\x00"},
])
def test_bad_adjustments_are_400(owner_api, base, make_variant, body):
    variant = make_variant(stock=5)
    body = {**body, "variant": variant.pk} if body.get("variant") == 1 else body
    response = owner_api.post(f"{base}/inventory/adjustments", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_another_stores_variant_is_400(owner_api, base, make_variant, other_store):
    theirs = make_variant(store=other_store, stock=5)
    response = owner_api.post(f"{base}/inventory/adjustments", {"variant": theirs.pk, "delta": 1, "reason": "restock"})
    assert response.status_code == 400
    theirs.refresh_from_db()
    assert theirs.stock_quantity == 5


def test_permissions(api, base, store, make_variant, member_factory, client_for, other_store):
    variant = make_variant(stock=5)
    body = {"variant": variant.pk, "delta": 1, "reason": "restock"}
    viewer = client_for(member_factory(store, "viewer"))
    staff = client_for(member_factory(store, "staff"))
    outsider = client_for(other_store.owner)
    assert viewer.get(f"{base}/inventory").status_code == 200
    assert viewer.get(f"{base}/inventory/movements").status_code == 200
    assert viewer.post(f"{base}/inventory/adjustments", body).status_code == 403
    assert staff.post(f"{base}/inventory/adjustments", body).status_code == 201
    for client, status in ((api, 401), (outsider, 404)):
        assert client.get(f"{base}/inventory").status_code == status
        assert client.get(f"{base}/inventory/movements").status_code == status
        assert client.post(f"{base}/inventory/adjustments", body).status_code == status


@pytest.mark.parametrize("params", [{"variant": "x"}, {"reason": "lost"}, {"variant": 10**30}, {"order": "abc"}])
def test_bad_movement_filters_are_400(owner_api, base, params):
    assert owner_api.get(f"{base}/inventory/movements", params).status_code == 400


def test_bad_inventory_filters_are_400(owner_api, base):
    assert owner_api.get(f"{base}/inventory", {"low_stock": "perhaps"}).status_code == 400
