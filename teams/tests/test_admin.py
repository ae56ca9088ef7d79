import pytest
from django.test import Client

from stores.models import Store
from teams.models import ApiKey, Membership
from teams.services import token_hash


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("admin", True), ("staff", True), ("viewer", False)])
def test_admin_login_by_email_for_admin_site_roles(store, member_factory, password, role, allowed):
    member = member_factory(store, role)
    assert not member.is_staff
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": member.email, "password": password})
    if allowed:
        assert response.status_code == 302 and response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200
    else:
        assert response.status_code == 200
        assert "store team account" in response.content.decode()
        assert client.get("/admin/").status_code == 302  # back to the login page


def test_admin_login_refuses_customers_and_wrong_passwords(store, user_factory, password):
    customer = user_factory()
    client = Client()
    assert client.post("/admin/login/", {"username": customer.email, "password": password}).status_code == 200
    assert client.post("/admin/login/", {"username": store.owner.email, "password": "wrong"}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_member_sees_only_their_stores_members(admin_login, store, other_store):
    response = admin_login(store.owner).get("/admin/teams/membership/")
    assert response.status_code == 200
    shown = {row.store_id for row in response.context["cl"].result_list}
    assert shown == {store.pk}
    # the store filter in the sidebar lists their stores only
    assert "Beta" not in response.content.decode()


def test_staff_reads_members_but_cannot_manage_them(admin_login, store, member_factory):
    staff = member_factory(store, "staff")
    client = admin_login(staff)
    assert client.get("/admin/teams/membership/").status_code == 200
    assert client.get("/admin/teams/membership/add/").status_code == 403
    membership = Membership.objects.get(store=store, user=staff)
    response = client.post(f"/admin/teams/membership/{membership.pk}/change/", {"role": "owner"})
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == "staff"


def test_staff_cannot_edit_store_settings(admin_login, store, member_factory):
    client = admin_login(member_factory(store, "staff"))
    assert client.get(f"/admin/stores/store/{store.pk}/change/").status_code == 200  # view only
    response = client.post(f"/admin/stores/store/{store.pk}/change/", {"name": "Hacked", "currency": "USD"})
    assert response.status_code == 403
    store.refresh_from_db()
    assert store.name == "Alpha"


def test_owner_edits_store_settings_but_not_slug(admin_login, store):
    response = admin_login(store.owner).post(
        f"/admin/stores/store/{store.pk}/change/",
        {"name": "Alpha Two", "slug": "hijack", "description": "", "currency": "EUR", "contact_email": "",
         "tax_rate": "1.00", "low_stock_threshold": "4", "timezone": "UTC"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    store.refresh_from_db()
    assert (store.name, store.slug, store.currency) == ("Alpha Two", "alpha", "EUR")


def test_admin_refuses_a_currency_the_prices_do_not_fit(admin_login, store):
    from decimal import Decimal

    from tests.factories import ProductFactory, VariantFactory

    VariantFactory(product=ProductFactory(store=store), price=Decimal("9.99"))
    response = admin_login(store.owner).post(
        f"/admin/stores/store/{store.pk}/change/",
        {"name": store.name, "description": "", "currency": "JPY", "contact_email": "", "tax_rate": "0",
         "low_stock_threshold": "5"},
    )
    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.currency == "USD"


def test_only_superusers_add_stores(admin_login, store, user_factory):
    assert admin_login(store.owner).get("/admin/stores/store/add/").status_code == 403
    root = user_factory(is_superuser=True, is_staff=True)
    owner = user_factory()
    response = admin_login(root).post(
        "/admin/stores/store/add/",
        {"name": "Gamma", "slug": "gamma", "description": "", "currency": "USD", "contact_email": "",
         "tax_rate": "0", "low_stock_threshold": "5", "timezone": "Africa/Tripoli", "is_active": "on",
         "owner": owner.pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Membership.objects.get(store__slug="gamma", user=owner).role == "owner"


def test_admin_adds_member_by_email_and_cannot_make_owners(admin_login, store, member_factory, user_factory):
    admin = member_factory(store, "admin")
    bob = user_factory(email="bob@example.com")
    client = admin_login(admin)
    form = client.get("/admin/teams/membership/add/").context["adminform"].form
    assert "user" not in form.fields  # never a list of every user of the platform
    response = client.post("/admin/teams/membership/add/", {"email": "bob@example.com", "store": store.pk,
                                                             "role": "owner"})
    assert response.status_code == 200 and "role" in response.context["adminform"].form.errors
    response = client.post("/admin/teams/membership/add/", {"email": "bob@example.com", "store": store.pk,
                                                             "role": "staff"})
    assert response.status_code == 302
    assert Membership.objects.get(store=store, user=bob).role == "staff"


def test_a_member_added_meanwhile_is_a_form_error_not_a_500(
    admin_login, store, member_factory, user_factory, monkeypatch
):
    # given: the form passes, then someone else adds bob before member_add runs
    from auditlog.models import AuditLog
    from teams import admin as teams_admin

    admin = member_factory(store, "admin")
    bob = user_factory(email="bob@example.com")
    real_member_add = teams_admin.member_add

    def member_add_after_someone_else(**kwargs):
        Membership.objects.create(store=kwargs["store"], user=bob, role="viewer")
        return real_member_add(**kwargs)

    monkeypatch.setattr(teams_admin, "member_add", member_add_after_someone_else)
    # when
    response = admin_login(admin).post("/admin/teams/membership/add/",
                                        {"email": "bob@example.com", "store": store.pk, "role": "staff"})
    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["email"] == ["This user is already a member of the store."]
    assert not Membership.objects.filter(store=store, user=bob, role="staff").exists()
    assert not AuditLog.objects.filter(action="member.added").exists()


def test_an_owner_demoted_meanwhile_is_a_form_error_not_a_500(admin_login, store, member_factory, monkeypatch):
    # given: two owners; the form passes, then the other one is demoted before the change is saved
    from teams import admin as teams_admin

    second = member_factory(store, "owner")
    membership = Membership.objects.get(store=store, user=store.owner)
    real_role_change = teams_admin.member_role_change

    def role_change_after_someone_else(**kwargs):
        Membership.objects.filter(store=store, user=second).update(role="viewer")
        return real_role_change(**kwargs)

    monkeypatch.setattr(teams_admin, "member_role_change", role_change_after_someone_else)
    # when
    response = admin_login(store.owner).post(f"/admin/teams/membership/{membership.pk}/change/", {"role": "admin"})
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role"] == ["The last owner cannot be demoted."]
    membership.refresh_from_db()
    assert membership.role == "owner"


def test_last_owner_cannot_be_deleted_in_admin(admin_login, store):
    membership = Membership.objects.get(store=store, user=store.owner)
    assert admin_login(store.owner).post(f"/admin/teams/membership/{membership.pk}/delete/",
                                          {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_cannot_demote_owner_in_admin(admin_login, store, member_factory):
    admin = member_factory(store, "admin")
    membership = Membership.objects.get(store=store, user=store.owner)
    response = admin_login(admin).post(f"/admin/teams/membership/{membership.pk}/change/", {"role": "viewer"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert membership.role == "owner"


def test_api_key_created_in_admin_is_shown_once(admin_login, store):
    client = admin_login(store.owner)
    response = client.post("/admin/teams/apikey/add/", {"name": "ERP", "store": store.pk,
                                                         "scopes": ["catalog.write"]}, follow=True)
    assert response.status_code == 200
    api_key = ApiKey.objects.get()
    message = next(str(m) for m in response.context["messages"] if api_key.prefix in str(m))
    key = message.split(" is ")[1].split(" ")[0]
    assert api_key.hashed_key == token_hash(key)
    page = client.get(f"/admin/teams/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.hashed_key not in page and key not in page and api_key.prefix in page


def test_autocomplete_goes_through_the_scoped_admin(admin_login, store, other_store):
    response = admin_login(store.owner).get(
        "/admin/autocomplete/", {"app_label": "teams", "model_name": "membership", "field_name": "store", "term": ""}
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(store.pk)]


def test_search_and_actions_stay_in_scope(admin_login, store, other_store):
    from teams.services import api_key_create

    other_key, _ = api_key_create(store=other_store, name="beta key", scopes=[])
    client = admin_login(store.owner)
    response = client.get("/admin/teams/apikey/", {"q": "beta"})
    assert list(response.context["cl"].result_list) == []
    client.post("/admin/teams/apikey/", {"action": "revoke", "_selected_action": [other_key.pk]})
    other_key.refresh_from_db()
    assert other_key.revoked_at is None
    assert Store.objects.get(pk=other_store.pk).is_active


def test_user_choices_are_members_of_the_admins_stores_only(rf, store, other_store, member_factory, user_factory):
    from django.contrib import admin as django_admin

    from teams.admin_base import StoreScopedAdmin
    from teams.models import Invitation

    # given: a generic store-scoped admin of a model with a foreign key to the User model
    colleague = member_factory(store, "viewer")
    outsider_member = member_factory(other_store, "staff")
    stranger = user_factory()
    request = rf.get("/admin/")
    request.user = store.owner
    model_admin = StoreScopedAdmin(Invitation, django_admin.site)
    # when
    field = model_admin.formfield_for_foreignkey(Invitation._meta.get_field("invited_by"), request)
    # then
    choices = set(field.queryset)
    assert {store.owner, colleague} <= choices
    assert outsider_member not in choices and stranger not in choices and other_store.owner not in choices


def test_store_choices_follow_the_write_permission(admin_login, store, other_store, member_factory):
    # given: owner of one store, staff of another
    Membership.objects.create(store=other_store, user=store.owner, role="staff")
    client = admin_login(store.owner)
    # when
    form = client.get("/admin/teams/apikey/add/").context["adminform"].form
    # then: keys (team.manage) only for the store they own; both stores are listed for reading
    assert list(form.fields["store"].queryset) == [store]
    shown = {row.store_id for row in client.get("/admin/teams/membership/").context["cl"].result_list}
    assert shown == {store.pk, other_store.pk}
    their_membership = Membership.objects.get(store=other_store, user=other_store.owner)
    assert client.post(f"/admin/teams/membership/{their_membership.pk}/change/",
                       {"role": "viewer"}).status_code == 403


def test_keys_and_invitations_are_shown_to_team_managers_only(admin_login, store, member_factory):
    # given a key and an invitation in the store
    from datetime import timedelta

    from django.utils import timezone

    from teams.models import Invitation
    from teams.services import api_key_create

    api_key, _ = api_key_create(store=store, name="ERP", scopes=[])
    invitation = Invitation.objects.create(store=store, email="new@example.com", role="staff", token_hash="0" * 64,
                                           expires_at=timezone.now() + timedelta(days=1))
    staff, owner = admin_login(member_factory(store, "staff")), admin_login(store.owner)
    # then staff (no team.manage, as in the API) reach neither list nor row, and the index hides them
    for path in ["/admin/teams/apikey/", f"/admin/teams/apikey/{api_key.pk}/change/",
                 "/admin/teams/invitation/", f"/admin/teams/invitation/{invitation.pk}/change/"]:
        assert staff.get(path).status_code in {302, 403}, path
    index = staff.get("/admin/").content.decode()
    assert "/admin/teams/apikey/" not in index and "/admin/teams/invitation/" not in index
    assert "/admin/teams/membership/" in index
    # while the owner sees both
    assert [row.pk for row in owner.get("/admin/teams/apikey/").context["cl"].result_list] == [api_key.pk]
    assert [row.pk for row in owner.get("/admin/teams/invitation/").context["cl"].result_list] == [invitation.pk]


def test_a_superusers_slug_is_unique_whatever_its_case(admin_login, store, user_factory):
    # given the store "alpha"
    root = admin_login(user_factory(is_superuser=True, is_staff=True))
    fields = {"name": "Gamma", "description": "", "currency": "USD", "contact_email": "", "tax_rate": "0",
              "low_stock_threshold": "5", "timezone": "UTC", "is_active": "on", "owner": store.owner.pk}
    # when a superuser adds "ALPHA", then "Gamma"
    taken = root.post("/admin/stores/store/add/", {**fields, "slug": "ALPHA"})
    created = root.post("/admin/stores/store/add/", {**fields, "slug": "Gamma"})
    # then "ALPHA" is refused on the form (no second alpha, no error page) and "Gamma" is stored lower-cased
    assert taken.status_code == 200 and "slug" in taken.context["adminform"].form.errors
    assert created.status_code == 302, created.context["adminform"].form.errors
    assert sorted(Store.objects.values_list("slug", flat=True)) == ["alpha", "gamma"]


def test_view_site_opens_the_api_docs_and_the_admin_is_unfolds(store, admin_login):
    """The header's "View site" link points at /api/docs/ (this backend has no storefront page of its own), in
    django-unfold's admin (its stylesheet on the page)."""
    page = admin_login(store.owner).get("/admin/")
    text = page.content.decode()
    assert page.status_code == 200 and page.context["site_url"] == "/api/docs/"
    assert 'href="/api/docs/"' in text and "/static/unfold/" in text
    assert admin_login(store.owner).get("/api/docs/").status_code == 200


def _filter_titles(response) -> list[str]:
    return [str(spec.title) for spec in response.context["cl"].filter_specs]


def test_the_store_filter_shows_only_to_members_of_several_stores(store, product_factory, admin_login):
    """A merchant with one store is not offered a store filter (a related filter with one choice is not shown)
    nor the stores list a currency filter (30 currencies for one store)."""
    owner = admin_login(store.owner)
    product_factory(store=store)
    assert "store" not in _filter_titles(owner.get("/admin/catalog/product/"))
    assert "currency" not in _filter_titles(owner.get("/admin/stores/store/"))
    other = Store.objects.create(name="Second", slug="second", owner=store.owner, currency="USD")
    Membership.objects.get_or_create(user=store.owner, store=other, defaults={"role": "owner"})
    product_factory(store=other)
    assert "store" in _filter_titles(owner.get("/admin/catalog/product/"))
