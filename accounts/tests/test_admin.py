import pytest

from accounts.models import User


@pytest.fixture
def superuser(user_factory):
    return user_factory(email="root@example.com", is_superuser=True, is_staff=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_user_changelist_lists_and_searches_by_email_and_name(admin_client, user, user_factory):
    user_factory(email="zed@example.com", name="Zed")
    response = admin_client.get("/admin/accounts/user/", {"q": "alice"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "alice@example.com" in content and "zed@example.com" not in content
    response = admin_client.get("/admin/accounts/user/", {"q": "Zed"})
    assert "zed@example.com" in response.content.decode()


def test_add_user_with_email_and_password_twice(admin_client):
    # when
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": "New@Example.com", "name": "New", "password1": "Tangerine-Walrus-81",
        "password2": "Tangerine-Walrus-81",
    })
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new@example.com")
    assert user.check_password("Tangerine-Walrus-81")
    assert user.name == "New"


def test_add_user_refuses_mismatched_passwords_and_taken_emails(admin_client, user):
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": "other@example.com", "password1": "Tangerine-Walrus-81", "password2": "Tangerine-Walrus-82"})
    assert response.status_code == 200
    response = admin_client.post("/admin/accounts/user/add/", {
        "email": "ALICE@example.com", "password1": "Tangerine-Walrus-81", "password2": "Tangerine-Walrus-81"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 2  # alice and the superuser


def test_change_form_saves_and_keeps_emails_unique(admin_client, user, user_factory):
    # given
    user_factory(email="taken@example.com")
    form = {"email": "alice@example.com", "name": "Alice L.", "is_active": "on", "email_verified": "on"}
    # when
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", form)
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert (user.name, user.email_verified) == ("Alice L.", True)
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", {**form, "email": "Taken@example.com"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email == "alice@example.com"


def test_change_page_never_shows_the_totp_secret(admin_client, two_factor_user):
    response = admin_client.get(f"/admin/accounts/user/{two_factor_user.pk}/change/")
    assert response.status_code == 200
    assert two_factor_user.secret not in response.content.decode()
    assert 'name="totp_secret"' not in response.content.decode()


def test_admin_action_turns_two_factor_off(admin_client, two_factor_user):
    response = admin_client.post("/admin/accounts/user/", {
        "action": "two_factor_turn_off", "_selected_action": [two_factor_user.pk]})
    assert response.status_code == 302
    two_factor_user.refresh_from_db()
    assert (two_factor_user.two_factor_enabled, two_factor_user.totp_secret) == (False, "")


def test_a_store_owner_cannot_manage_users(client, store):
    client.force_login(store.owner)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
