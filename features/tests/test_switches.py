"""Each flag on and off, as the API and the admin honour it: a switched-off feature's routes answer 404 in the
envelope and its fields are absent; guest checkout off refuses an anonymous checkout."""

from decimal import Decimal

import pytest

from features.services import feature_flag_set
from orders.models import Coupon, Order

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def switched_off(response, feature: str) -> None:
    assert response.status_code == 404, response.content
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND" and body["error"]["details"] == {"feature": feature}


def checkout(client, store, cart, **extra):
    return client.post(f"/api/v1/stores/{store.slug}/checkout",
                       {"cart": str(cart.pk), "email": "buyer@example.com", "customer_name": "Buyer",
                        "shipping_address": ADDRESS, "payment_method": "cod", **extra}, format="json")


# --- reviews -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("on", [True, False])
def test_reviews(on, api, auth_api, owner_api, store, other_store, make_variant):
    product = make_variant().product
    url = f"/api/v1/stores/{store.slug}/products/{product.pk}/reviews"
    if not on:
        feature_flag_set(name="reviews", enabled=False, store=store)
    created = auth_api.post(url, {"rating": 5, "title": "Great"}, format="json")
    listed = api.get(url)
    if on:
        assert created.status_code == 201, created.json()
        assert [review["title"] for review in listed.json()["data"]] == ["Great"]
    else:
        switched_off(created, "reviews")
        switched_off(listed, "reviews")
        switched_off(owner_api.get(url), "reviews")
        # another store's reviews are not touched
        other = make_variant(store=other_store).product
        assert api.get(f"/api/v1/stores/{other_store.slug}/products/{other.pk}/reviews").status_code == 200
    # the product itself answers either way (no review fields in it)
    assert api.get(f"/api/v1/stores/{store.slug}/products/{product.pk}").status_code == 200


# --- coupons -------------------------------------------------------------------------------------------------
@pytest.fixture
def coupon(store):
    return Coupon.objects.create(store=store, code="TEN", kind="percent", value=Decimal("10"))


@pytest.mark.parametrize("on", [True, False])
def test_coupons(on, api, owner_api, store, coupon, make_variant, cart_with):
    variant = make_variant(price="20.00")
    cart = cart_with((variant, 1))
    base = f"/api/v1/stores/{store.slug}"
    if not on:
        feature_flag_set(name="coupons", enabled=False, store=store)
    applied = api.post(f"{base}/carts/{cart.pk}/coupon", {"code": "ten"}, format="json")
    managed = owner_api.get(f"{base}/coupons")
    viewed = api.get(f"{base}/carts/{cart.pk}")
    if on:
        assert applied.status_code == 200, applied.json()
        assert applied.json()["data"]["coupon"]["code"] == "TEN"
        assert managed.status_code == 200
        assert viewed.json()["data"]["discount"] == "2.00"
        placed = checkout(api, store, cart)
        assert placed.status_code == 201, placed.json()
        assert placed.json()["data"]["coupon_code"] == "TEN"
    else:
        switched_off(applied, "coupons")
        switched_off(managed, "coupons")
        switched_off(owner_api.post(f"{base}/coupons", {"code": "X", "kind": "percent", "value": "5"},
                                    format="json"), "coupons")
        assert "coupon" not in viewed.json()["data"]
        assert viewed.json()["data"]["discount"] == "0.00"
        placed = checkout(api, store, cart)
        assert placed.status_code == 201, placed.json()
        assert "coupon_code" not in placed.json()["data"]
        assert placed.json()["data"]["total"] == "20.00"


def test_a_coupon_already_on_a_cart_is_dropped_when_coupons_go_off(api, store, coupon, make_variant, cart_with):
    from orders import services

    cart = cart_with((make_variant(price="20.00"), 1))
    services.cart_coupon_apply(cart=cart, code="TEN")
    feature_flag_set(name="coupons", enabled=False, store=store)
    # checkout before the buyer saw the new total: refused, nothing placed
    refused = checkout(api, store, cart)
    assert refused.status_code == 400 and "cart" in refused.json()["error"]["details"]
    assert not Order.objects.exists()
    # the cart's view drops it, says so, and prices without it
    data = api.get(f"/api/v1/stores/{store.slug}/carts/{cart.pk}").json()["data"]
    assert "coupon" not in data and data["total"] == "20.00"
    assert any("no longer takes coupons" in message for message in data["messages"])
    assert checkout(api, store, cart).status_code == 201


def test_an_order_placed_with_a_coupon_loses_the_field_when_coupons_go_off(api, owner_api, store, coupon,
                                                                          make_variant, cart_with):
    from orders import services

    cart = cart_with((make_variant(price="20.00"), 1))
    services.cart_coupon_apply(cart=cart, code="TEN")
    number = checkout(api, store, cart).json()["data"]["number"]
    url = f"/api/v1/stores/{store.slug}/orders/{number}"
    assert owner_api.get(url).json()["data"]["coupon_code"] == "TEN"
    feature_flag_set(name="coupons", enabled=False, store=store)
    data = owner_api.get(url).json()["data"]
    assert "coupon_code" not in data and data["discount"] == "2.00"  # the books keep what was charged
    assert all("coupon_code" not in order for order in owner_api.get(f"/api/v1/stores/{store.slug}/orders")
               .json()["data"])


# --- guest checkout ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("on", [True, False])
def test_guest_checkout(on, api, auth_api, user, store, make_variant, cart_with):
    variant = make_variant(stock=10)
    if not on:
        feature_flag_set(name="guest_checkout", enabled=False, store=store)
    guest_cart = cart_with((variant, 1))
    response = checkout(api, store, guest_cart)
    if on:
        assert response.status_code == 201, response.json()
    else:
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "AUTHENTICATION_REQUIRED" and "sign in" in error["message"].lower()
        assert not Order.objects.exists()
        variant.refresh_from_db()
        assert variant.reserved == 0
    # a signed-in buyer checks out either way
    mine = cart_with((variant, 1), user=user)
    assert checkout(auth_api, store, mine).status_code == 201
    # guests still fill carts
    assert api.post(f"/api/v1/stores/{store.slug}/carts", {}, format="json").status_code == 201


# --- analytics -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("on", [True, False])
def test_analytics(on, api, owner_api, store):
    base = f"/api/v1/stores/{store.slug}"
    if not on:
        feature_flag_set(name="analytics", enabled=False, store=store)
    ingested = api.post(f"{base}/analytics/events", {"events": [{"type": "page_view", "session_id": "s1"}]},
                        format="json")
    report = owner_api.get(f"{base}/dashboard")
    if on:
        assert ingested.status_code == 202, ingested.json()
        assert report.status_code == 200
    else:
        switched_off(ingested, "analytics")
        switched_off(report, "analytics")
    # exports are the store's own data, not analytics: they answer either way
    assert owner_api.get(f"{base}/exports/products").status_code == 200


def test_the_platform_switch_turns_a_feature_off_in_every_store(api, store, other_store):
    feature_flag_set(name="analytics", enabled=False)
    for each in (store, other_store):
        response = api.post(f"/api/v1/stores/{each.slug}/analytics/events",
                            {"events": [{"type": "page_view", "session_id": "s1"}]}, format="json")
        switched_off(response, "analytics")


# --- social login --------------------------------------------------------------------------------------------
def test_social_login_is_one_platform_switch(store):
    from features.flags import is_enabled

    assert is_enabled("social_login") is True
    feature_flag_set(name="social_login", enabled=False)
    assert is_enabled("social_login") is False
    assert is_enabled("social_login", store=store) is False


# --- the admin ------------------------------------------------------------------------------------------------
def test_the_admin_hides_what_a_switched_off_feature_owns(store, other_store, user_factory, admin_login,
                                                          make_variant):
    from catalog.models import Review
    from orders.models import Coupon

    buyer = user_factory()
    for each in (store, other_store):
        product = make_variant(store=each).product
        Review.objects.create(store=each, product=product, user=buyer, rating=5, title=f"good {each.slug}")
        Coupon.objects.create(store=each, code=f"TEN-{each.slug}", kind="percent", value=Decimal("10"))
    platform = admin_login(user_factory(is_superuser=True, is_staff=True))
    feature_flag_set(name="reviews", enabled=False, store=store)
    feature_flag_set(name="coupons", enabled=False, store=store)
    reviews = platform.get("/admin/catalog/review/").context["cl"].result_list
    assert [review.store_id for review in reviews] == [other_store.pk]
    coupons = platform.get("/admin/orders/coupon/").context["cl"].result_list
    assert [coupon.store_id for coupon in coupons] == [other_store.pk]
    # the platform's switch off: the pages leave the menu
    feature_flag_set(name="reviews", enabled=False)
    assert platform.get("/admin/catalog/review/").status_code == 403
    assert "/admin/catalog/review/" not in platform.get("/admin/").content.decode()


def test_the_admin_index_shows_no_figures_while_analytics_is_off(store, admin_login):
    owner = admin_login(store.owner)
    assert owner.get("/admin/").context["dashboard"].kpis
    feature_flag_set(name="analytics", enabled=False, store=store)
    board = owner.get("/admin/").context["dashboard"]
    assert board.kpis == [] and board.figures is None
    assert "switched off" in board.notice


def test_the_order_page_leaves_out_the_coupon_code_while_coupons_are_off(api, store, coupon, make_variant,
                                                                          cart_with, user_factory, admin_login):
    cart = cart_with((make_variant(price="20.00"), 1))
    api.post(f"/api/v1/stores/{store.slug}/carts/{cart.pk}/coupon", {"code": "TEN"}, format="json")
    order = Order.objects.get(number=checkout(api, store, cart).json()["data"]["number"])
    platform = admin_login(user_factory(is_superuser=True, is_staff=True))
    page = f"/admin/orders/order/{order.pk}/change/"

    def fields() -> list[str]:
        form = platform.get(page).context["adminform"]
        return [field for _, options in form.fieldsets for field in options["fields"]]

    assert "coupon_code" in fields()
    feature_flag_set(name="coupons", enabled=False, store=store)
    assert "coupon_code" not in fields() and "discount_display" in fields()


def test_guest_checkout_off_still_takes_the_stores_own_api_key(api, store, make_variant, cart_with):
    """A key places orders for no one (a point of sale, the merchant's tools): it is the store, not a guest."""
    from teams.services import api_key_create

    feature_flag_set(name="guest_checkout", enabled=False, store=store)
    _, key = api_key_create(store=store, name="till", scopes=["orders.manage"])
    cart = cart_with((make_variant(), 1))
    response = api.post(
        f"/api/v1/stores/{store.slug}/checkout",
        {"cart": str(cart.pk), "email": "walk-in@example.com", "customer_name": "Walk-in",
         "shipping_address": ADDRESS, "payment_method": "cod"}, format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 201, response.json()
