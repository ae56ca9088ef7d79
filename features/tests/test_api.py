"""GET, PUT /api/v1/stores/{store}/features."""

from features.flags import is_enabled
from features.registry import FLAGS
from features.services import feature_flag_set


def test_anyone_reads_a_stores_flags(api, store, base):
    response = api.get(f"{base}/features")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {flag.name: flag.default for flag in FLAGS}


def test_the_answer_is_the_platforms_and_the_stores_together(api, store, base):
    feature_flag_set(name="reviews", enabled=False, store=store)
    feature_flag_set(name="coupons", enabled=False)
    data = api.get(f"{base}/features").json()["data"]
    assert data["reviews"] is False and data["coupons"] is False and data["analytics"] is True


def test_store_manage_switches_features(owner_api, store, base):
    response = owner_api.put(f"{base}/features", {"reviews": False, "guest_checkout": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["reviews"] is False
    assert response.json()["data"]["guest_checkout"] is False
    assert is_enabled("reviews", store=store) is False
    # the flags left out stay as they are
    response = owner_api.put(f"{base}/features/", {"reviews": True}, format="json")
    assert response.json()["data"] == {**{flag.name: flag.default for flag in FLAGS}, "guest_checkout": False}


def test_refusals_name_each_flag_and_change_nothing(owner_api, store, base):
    response = owner_api.put(f"{base}/features", {"reviews": False, "social_login": False, "teleport": True,
                                                  "coupons": "no"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert set(error["details"]) == {"teleport", "coupons"}  # the input's own refusals first
    response = owner_api.put(f"{base}/features", {"reviews": False, "social_login": False}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"social_login"}
    assert is_enabled("reviews", store=store) is True
    response = owner_api.put(f"{base}/features", ["reviews"], format="json")
    assert response.status_code == 400


def test_who_may_switch(api, client_for, member_factory, store, other_store, base):
    body = {"reviews": False}
    assert api.put(f"{base}/features", body, format="json").status_code == 401
    staff = member_factory(store, "staff")
    response = client_for(staff).put(f"{base}/features", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert client_for(other_store.owner).put(f"{base}/features", body, format="json").status_code == 404
    admin = member_factory(store, "admin")
    assert client_for(admin).put(f"{base}/features", body, format="json").status_code == 200
    assert is_enabled("reviews", store=store) is False


def test_a_switched_off_feature_route_is_404_in_the_envelope_even_for_members(owner_api, api, store, base,
                                                                              make_variant):
    product = make_variant().product
    assert owner_api.get(f"{base}/products/{product.pk}/reviews").status_code == 200
    feature_flag_set(name="reviews", enabled=False, store=store)
    for client in (api, owner_api):
        response = client.get(f"{base}/products/{product.pk}/reviews")
        assert response.status_code == 404
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == "NOT_FOUND"
        assert body["error"]["details"] == {"feature": "reviews"}
