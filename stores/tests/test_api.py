from decimal import Decimal

import pytest

from stores.models import Store
from teams.models import Membership


def test_list_shows_active_stores_only_with_pagination(api, store_factory):
    # given
    store_factory(name="Open", slug="open")
    store_factory(name="Closed", slug="closed", is_active=False)
    # when
    response = api.get("/api/v1/stores?limit=10")
    # then
    assert response.status_code == 200
    body = response.json()
    assert [item["slug"] for item in body["data"]] == ["open"]
    assert body["pagination"] == {"page": 1, "limit": 10, "total": 1, "totalPages": 1}
    assert "tax_rate" not in body["data"][0]


def test_list_mine_includes_my_inactive_store(client_for, store_factory, user):
    store_factory(owner=user, name="Mine", slug="mine", is_active=False)
    store_factory(name="Other", slug="other")
    response = client_for(user).get("/api/v1/stores/?mine=true")
    assert [item["slug"] for item in response.json()["data"]] == ["mine"]


def test_create_makes_the_caller_owner(client_for, user):
    # when
    response = client_for(user).post(
        "/api/v1/stores",
        {"name": "Café Olé", "currency": "LYD", "description": "Coffee", "tax_rate": "5.00"},
        format="json",
    )
    # then
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["slug"] == "cafe-ole"
    assert data["role"] == "owner"
    assert "store.manage" in data["permissions"]
    store = Store.objects.get(slug="cafe-ole")
    assert store.owner == user and store.currency == "LYD" and store.tax_rate == Decimal("5.00")
    assert Membership.objects.get(store=store, user=user).role == "owner"


def test_create_without_contact_email_stores_it_blank(client_for, user):
    response = client_for(user).post("/api/v1/stores", {"name": "Plain", "currency": "USD"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["contact_email"] == ""
    assert Store.objects.get(slug="plain").contact_email == ""


def test_create_makes_auto_slugs_unique(client_for, user, store_factory):
    store_factory(name="Shop", slug="shop")
    response = client_for(user).post("/api/v1/stores", {"name": "Shop", "currency": "USD"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["slug"] == "shop-2"


def test_create_with_taken_slug_is_409_and_creates_nothing(client_for, user, store_factory):
    store_factory(name="Shop", slug="shop")
    response = client_for(user).post(
        "/api/v1/stores", {"name": "Mine", "slug": "shop", "currency": "USD"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"
    assert not Store.objects.filter(name="Mine").exists()
    assert not Membership.objects.filter(user=user).exists()


def test_create_needs_login(api, db):
    response = api.post("/api/v1/stores", {"name": "X", "currency": "USD"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert not Store.objects.exists()


def test_create_validates(client_for, user):
    response = client_for(user).post("/api/v1/stores", {"name": "X", "currency": "XXX"}, format="json")
    assert response.status_code == 400
    assert "currency" in response.json()["error"]["details"]


def test_detail_public_vs_member(api, client_for, store, member_factory):
    viewer = member_factory(store, "viewer")
    public = api.get(f"/api/v1/stores/{store.slug}").json()["data"]
    assert public["slug"] == "alpha" and "tax_rate" not in public and "is_active" not in public
    member = client_for(viewer).get(f"/api/v1/stores/{store.slug}/").json()["data"]
    assert member["role"] == "viewer" and member["is_active"] is True and member["permissions"] == []


def test_unknown_store_is_404(api, db):
    response = api.get("/api/v1/stores/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_patch_needs_store_manage(client_for, store, member_factory):
    staff = member_factory(store, "staff")
    response = client_for(staff).patch(f"/api/v1/stores/{store.slug}", {"name": "Hacked"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    store.refresh_from_db()
    assert store.name == "Alpha"


def test_patch_by_admin_changes_settings_not_slug(client_for, store, member_factory):
    admin = member_factory(store, "admin")
    response = client_for(admin).patch(
        f"/api/v1/stores/{store.slug}",
        {"name": "Alpha 2", "low_stock_threshold": 3, "slug": "other", "tax_rate": "7.5"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    store.refresh_from_db()
    assert (store.name, store.low_stock_threshold, store.slug, store.tax_rate) == ("Alpha 2", 3, "alpha",
                                                                                  Decimal("7.50"))


def test_a_low_stock_threshold_past_the_integer_column_is_400(client_for, store):
    # given a store with the default threshold
    before = store.low_stock_threshold
    # when the owner sets one no integer column holds (PostgreSQL answered a 500)
    response = client_for(store.owner).patch(f"/api/v1/stores/{store.slug}", {"low_stock_threshold": 2**31},
                                             format="json")
    # then it is refused naming the field, and the store is unchanged
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "low_stock_threshold" in response.json()["error"]["details"]
    store.refresh_from_db()
    assert store.low_stock_threshold == before


def test_patch_by_outsider_is_404_and_anonymous_401(api, client_for, store, user_factory):
    outsider = user_factory()
    assert client_for(outsider).patch(f"/api/v1/stores/{store.slug}", {"name": "x"}, format="json").status_code == 404
    assert api.patch(f"/api/v1/stores/{store.slug}", {"name": "x"}, format="json").status_code == 401


def test_delete_deactivates_and_hides_the_store(api, client_for, store):
    # when
    response = client_for(store.owner).delete(f"/api/v1/stores/{store.slug}")
    # then
    assert response.status_code == 204
    store.refresh_from_db()
    assert store.is_active is False
    assert api.get("/api/v1/stores").json()["data"] == []
    assert api.get(f"/api/v1/stores/{store.slug}").status_code == 404
    assert api.get(f"/api/v1/stores/{store.slug}/members").status_code == 404
    # members still reach it (to switch it back on through support, or read their data)
    assert client_for(store.owner).get(f"/api/v1/stores/{store.slug}").json()["data"]["is_active"] is False


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_delete_needs_store_manage(client_for, store, member_factory, role):
    response = client_for(member_factory(store, role)).delete(f"/api/v1/stores/{store.slug}")
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.is_active


def test_schema_documents_the_store_and_team_paths(api, db):
    import json

    paths = json.loads(api.get("/api/schema/", HTTP_ACCEPT="application/json").content)["paths"]
    for path in ["/api/v1/stores", "/api/v1/stores/{store}", "/api/v1/stores/{store}/members",
                 "/api/v1/stores/{store}/members/{user_id}", "/api/v1/stores/{store}/invites",
                 "/api/v1/invites/{token}/accept", "/api/v1/stores/{store}/api-keys",
                 "/api/v1/stores/{store}/api-keys/{id}"]:
        assert path in paths, path
    create = paths["/api/v1/stores/{store}/api-keys"]["post"]
    assert "201" in create["responses"]


def test_a_given_slug_is_lower_cased_and_unique_whatever_its_case(client_for, user, store_factory):
    # given a store with the slug "shop"
    store_factory(name="Shop", slug="shop")
    client = client_for(user)
    # when another merchant asks for "SHOP", then for "New-Shop"
    taken = client.post("/api/v1/stores", {"name": "Mine", "slug": "SHOP", "currency": "USD"}, format="json")
    created = client.post("/api/v1/stores", {"name": "Mine", "slug": "New-Shop", "currency": "USD"}, format="json")
    # then "SHOP" is the same slug as "shop" (409, nothing made) and "New-Shop" is stored lower-cased
    assert taken.status_code == 409, taken.json()
    assert taken.json()["error"]["code"] == "ALREADY_EXISTS"
    assert created.status_code == 201, created.json()
    assert created.json()["data"]["slug"] == "new-shop"
    assert sorted(Store.objects.values_list("slug", flat=True)) == ["new-shop", "shop"]
    assert Membership.objects.filter(user=user).count() == 1


def test_a_currency_the_prices_do_not_fit_is_409_and_changes_nothing(client_for, store_factory):
    from decimal import Decimal

    from tests.factories import ProductFactory, VariantFactory

    # given a LYD store with a price in dirhams (three places)
    store = store_factory(currency="LYD")
    product = ProductFactory(store=store)
    variant = VariantFactory(product=product, price=Decimal("19.995"))
    owner = client_for(store.owner)
    # when it is switched to USD (two places)
    response = owner.patch(f"/api/v1/stores/{store.slug}", {"currency": "USD"}, format="json")
    # then it is refused: the price would silently become 20.00
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "CONFLICT" and "currency" in response.json()["error"]["details"]
    store.refresh_from_db()
    assert store.currency == "LYD"
    # and once the price fits, the switch goes through
    variant.price = Decimal("19.990")
    variant.save()
    assert owner.patch(f"/api/v1/stores/{store.slug}", {"currency": "USD"}, format="json").status_code == 200
