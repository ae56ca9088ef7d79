"""Shipping methods and coupons over HTTP: public reads of active methods, members-only coupons, orders.manage."""

import pytest

from orders.models import Coupon, ShippingMethod

pytestmark = pytest.mark.django_db


def test_shipping_methods_public_see_active_ones_members_all(api, owner_api, base, store, member_factory,
                                                             client_for):
    # given
    created = owner_api.post(f"{base}/shipping-methods", {"name": "Courier", "price": "5.00", "free_above": "100.00"})
    ShippingMethod.objects.create(store=store, name="Pigeon", price=1, is_active=False)
    # when
    public = api.get(f"{base}/shipping-methods").json()
    members = client_for(member_factory(store, "viewer")).get(f"{base}/shipping-methods").json()
    # then
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["price"] == "5.00" and created.json()["data"]["free_above"] == "100.00"
    assert [method["name"] for method in public["data"]] == ["Courier"]
    assert public["pagination"]["total"] == 1
    assert sorted(method["name"] for method in members["data"]) == ["Courier", "Pigeon"]


def test_shipping_method_writes_need_orders_manage(api, owner_api, base, store, member_factory, client_for):
    method = ShippingMethod.objects.create(store=store, name="Courier", price=5)
    viewer = client_for(member_factory(store, "viewer"))
    assert viewer.post(f"{base}/shipping-methods", {"name": "X", "price": "1.00"}).status_code == 403
    assert viewer.patch(f"{base}/shipping-methods/{method.pk}", {"price": "1.00"}).status_code == 403
    assert api.delete(f"{base}/shipping-methods/{method.pk}").status_code == 401
    changed = owner_api.patch(f"{base}/shipping-methods/{method.pk}", {"price": "7.50", "is_active": False})
    assert changed.status_code == 200 and changed.json()["data"]["price"] == "7.50"
    assert api.get(f"{base}/shipping-methods/{method.pk}").status_code == 404  # inactive: not public
    assert owner_api.delete(f"{base}/shipping-methods/{method.pk}").status_code == 204
    assert not ShippingMethod.objects.exists()


@pytest.mark.parametrize("body", [{"name": "X", "price": "1.001"}, {"name": "X", "price": "-1"},
                                  {"name": "", "price": "1"}, {"name": "X", "price": "1e30"},
                                  {"name": "X", "price": "abc"}, {"name": "X", "price": "1", "position": -1}])
def test_bad_shipping_input_is_400(owner_api, base, body):
    response = owner_api.post(f"{base}/shipping-methods", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_coupons_crud_for_orders_managers_members_read(api, owner_api, base, store, member_factory, client_for):
    # given
    viewer = client_for(member_factory(store, "viewer"))
    # when
    created = owner_api.post(f"{base}/coupons", {"code": "Summer", "kind": "percent", "value": "15",
                                                  "usage_limit": 10, "is_active": True})
    duplicate = owner_api.post(f"{base}/coupons", {"code": "SUMMER", "kind": "fixed", "value": "5.00"})
    coupon_id = created.json()["data"]["id"]
    changed = owner_api.patch(f"{base}/coupons/{coupon_id}", {"value": "20"})
    # then
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["value"] == "15.00" and created.json()["data"]["used_count"] == 0
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "ALREADY_EXISTS"
    assert changed.status_code == 200 and changed.json()["data"]["value"] == "20.00"
    assert [c["code"] for c in viewer.get(f"{base}/coupons").json()["data"]] == ["Summer"]
    assert viewer.post(f"{base}/coupons", {"code": "X", "kind": "fixed", "value": "1.00"}).status_code == 403
    assert viewer.delete(f"{base}/coupons/{coupon_id}").status_code == 403
    assert api.get(f"{base}/coupons").status_code == 401
    assert owner_api.delete(f"{base}/coupons/{coupon_id}").status_code == 204
    assert not Coupon.objects.exists()


def test_another_stores_coupons_are_404(base, store, other_store, client_for):
    coupon = Coupon.objects.create(store=store, code="MINE", kind="fixed", value=1)
    outsider = client_for(other_store.owner)
    assert outsider.get(f"{base}/coupons").status_code == 404
    assert outsider.get(f"{base}/coupons/{coupon.pk}").status_code == 404
    assert outsider.get(f"/api/v1/stores/{other_store.slug}/coupons/{coupon.pk}").status_code == 404


@pytest.mark.parametrize("body", [
    {"code": "X", "kind": "percent", "value": "150"}, {"code": "X", "kind": "percent", "value": "0"},
    {"code": "X", "kind": "fixed", "value": "1.005"}, {"code": "X", "kind": "bogus", "value": "1"},
    {"code": "has space", "kind": "fixed", "value": "1"}, {"code": "X", "kind": "fixed", "value": "1e40"},
    {"code": "X", "kind": "fixed", "value": "1", "usage_limit": 0},
    {"code": "X", "kind": "fixed", "value": "1", "usage_limit": 10**20},
    {"code": "X", "kind": "fixed", "value": "1", "starts_at": "2030-01-02T00:00Z", "ends_at": "2030-01-01T00:00Z"},
    {"code": "X", "kind": "fixed", "value": "1", "min_subtotal": "-5"},
])
def test_bad_coupon_input_is_400(owner_api, base, body):
    response = owner_api.post(f"{base}/coupons", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_huge_ids_are_404(owner_api, base):
    assert owner_api.get(f"{base}/coupons/{10**30}").status_code == 404
    assert owner_api.patch(f"{base}/shipping-methods/{10**30}", {"price": "1.00"}).status_code == 404
