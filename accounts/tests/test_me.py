import pytest

from accounts.models import User

from .helpers import assert_error, assert_success


def test_me_answers_the_contract_fields(user, client_for):
    data = assert_success(client_for(user).get("/api/v1/auth/me"))
    assert set(data) == {"id", "email", "name", "email_verified", "two_factor_enabled", "date_joined"}
    assert data["id"] == user.pk
    assert data["email"] == "alice@example.com"
    assert data["name"] == "Alice"


def test_me_accepts_a_trailing_slash(user, client_for):
    assert client_for(user).get("/api/v1/auth/me/").status_code == 200


def test_patch_me_changes_the_name(user, client_for):
    # when
    response = client_for(user).patch("/api/v1/auth/me", {"name": "  Alice Liddell "}, format="json")
    # then
    assert assert_success(response)["name"] == "Alice Liddell"
    user.refresh_from_db()
    assert user.name == "Alice Liddell"


def test_patch_me_ignores_everything_but_the_name(user, client_for):
    # when
    response = client_for(user).patch(
        "/api/v1/auth/me",
        {"name": "A", "email": "evil@example.com", "email_verified": True, "is_staff": True,
         "two_factor_enabled": True, "id": 999},
        format="json",
    )
    # then
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.email, user.email_verified, user.is_staff, user.two_factor_enabled) == (
        "alice@example.com", False, False, False)
    assert user.pk != 999


def test_patch_me_validates_the_name(user, client_for):
    error = assert_error(client_for(user).patch("/api/v1/auth/me", {"name": "x" * 151}, format="json"),
                         400, "VALIDATION_ERROR")
    assert "name" in error["details"]
    error = assert_error(client_for(user).patch("/api/v1/auth/me", {"name": None}, format="json"),
                         400, "VALIDATION_ERROR")
    assert "name" in error["details"]


def test_patch_me_with_nothing_to_change_changes_nothing(user, client_for):
    assert assert_success(client_for(user).patch("/api/v1/auth/me", {}, format="json"))["name"] == "Alice"
    user.refresh_from_db()
    assert user.name == "Alice"


def test_put_and_delete_me_are_not_offered(user, client_for):
    client = client_for(user)
    assert_error(client.put("/api/v1/auth/me", {"name": "A"}, format="json"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete("/api/v1/auth/me"), 405, "METHOD_NOT_ALLOWED")
    assert User.objects.filter(pk=user.pk).exists()


def test_patch_me_needs_a_login(api, db):
    assert_error(api.patch("/api/v1/auth/me", {"name": "A"}, format="json"), 401, "AUTHENTICATION_REQUIRED")


# --- permissions ---------------------------------------------------------------------------------


def test_permissions_lists_each_store_with_role_and_permissions(user, store_factory, member_factory, client_for):
    # given
    owned = store_factory(owner=user, slug="zeta")
    other = store_factory(slug="alpha")
    other.memberships.create(user=user, role="staff")
    store_factory(slug="not-mine")
    # when
    data = assert_success(client_for(user).get("/api/v1/auth/permissions"))
    # then
    assert data == {"stores": [
        {"store": "alpha", "role": "staff", "permissions": ["catalog.write", "orders.manage"]},
        {"store": owned.slug, "role": "owner", "permissions": sorted([
            "store.manage", "team.manage", "catalog.write", "orders.manage", "payments.refund", "audit.read",
            "webhooks.manage"])},
    ]}


@pytest.mark.parametrize("role, expected", [("viewer", []), ("admin", 7)])
def test_permissions_follow_the_role(user, store, client_for, role, expected):
    store.memberships.create(user=user, role=role)
    [entry] = assert_success(client_for(user).get("/api/v1/auth/permissions"))["stores"]
    assert entry["role"] == role
    assert (entry["permissions"] if role == "viewer" else len(entry["permissions"])) == expected


def test_permissions_of_a_user_without_stores_is_empty(user, client_for):
    assert assert_success(client_for(user).get("/api/v1/auth/permissions")) == {"stores": []}


def test_a_superuser_gets_no_special_list(user_factory, store, client_for):
    admin = user_factory(is_superuser=True, is_staff=True)
    assert assert_success(client_for(admin).get("/api/v1/auth/permissions")) == {"stores": []}


def test_permissions_needs_a_login(api, db):
    assert_error(api.get("/api/v1/auth/permissions"), 401, "AUTHENTICATION_REQUIRED")
