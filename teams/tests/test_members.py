import pytest

from teams.models import Membership


def members_url(store, user_id=None):
    return f"/api/v1/stores/{store.slug}/members" + (f"/{user_id}" if user_id else "")


def test_members_list_for_any_member(client_for, store, member_factory):
    viewer = member_factory(store, "viewer", email="v@example.com")
    response = client_for(viewer).get(members_url(store))
    assert response.status_code == 200
    rows = response.json()["data"]
    assert {row["email"]: row["role"] for row in rows} == {store.owner.email: "owner", "v@example.com": "viewer"}
    assert response.json()["pagination"]["total"] == 2


def test_members_list_hidden_from_outsiders(api, client_for, store, user_factory):
    assert client_for(user_factory()).get(members_url(store)).status_code == 404
    assert api.get(members_url(store)).status_code == 401


def test_add_existing_user(client_for, store, user_factory):
    # given
    bob = user_factory(email="bob@example.com")
    # when
    response = client_for(store.owner).post(members_url(store), {"email": "BOB@example.com", "role": "staff"},
                                            format="json")
    # then
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["user_id"] == bob.pk
    assert Membership.objects.get(store=store, user=bob).role == "staff"


def test_add_unknown_email_is_400(client_for, store):
    response = client_for(store.owner).post(members_url(store), {"email": "ghost@example.com", "role": "staff"},
                                            format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "email" in response.json()["error"]["details"]


def test_add_existing_member_is_409(client_for, store, member_factory):
    staff = member_factory(store, "staff")
    response = client_for(store.owner).post(members_url(store), {"email": staff.email, "role": "admin"},
                                            format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"
    assert Membership.objects.get(store=store, user=staff).role == "staff"


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_add_needs_team_manage(client_for, store, member_factory, user_factory, role):
    user_factory(email="new@example.com")
    response = client_for(member_factory(store, role)).post(
        members_url(store), {"email": "new@example.com", "role": "viewer"}, format="json"
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user__email="new@example.com").exists()


def test_admin_cannot_make_an_owner(client_for, store, member_factory, user_factory):
    admin = member_factory(store, "admin")
    user_factory(email="new@example.com")
    staff = member_factory(store, "staff")
    client = client_for(admin)
    assert client.post(members_url(store), {"email": "new@example.com", "role": "owner"},
                       format="json").status_code == 403
    response = client.patch(members_url(store, staff.pk), {"role": "owner"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert Membership.objects.get(store=store, user=staff).role == "staff"


def test_admin_cannot_demote_or_remove_an_owner(client_for, store, member_factory):
    admin = member_factory(store, "admin")
    second_owner = member_factory(store, "owner")
    client = client_for(admin)
    assert client.patch(members_url(store, second_owner.pk), {"role": "staff"}, format="json").status_code == 403
    assert client.delete(members_url(store, second_owner.pk)).status_code == 403
    assert Membership.objects.get(store=store, user=second_owner).role == "owner"


def test_admin_manages_non_owners(client_for, store, member_factory):
    admin = member_factory(store, "admin")
    staff = member_factory(store, "staff")
    client = client_for(admin)
    response = client.patch(members_url(store, staff.pk), {"role": "viewer"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["role"] == "viewer"
    assert client.delete(members_url(store, staff.pk)).status_code == 204
    assert not Membership.objects.filter(store=store, user=staff).exists()


def test_last_owner_cannot_be_demoted_or_removed(client_for, store):
    client = client_for(store.owner)
    response = client.patch(members_url(store, store.owner.pk), {"role": "admin"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert client.delete(members_url(store, store.owner.pk)).status_code == 409
    assert Membership.objects.get(store=store, user=store.owner).role == "owner"


def test_owner_can_step_down_when_another_owner_remains(client_for, store, member_factory):
    member_factory(store, "owner")
    client = client_for(store.owner)
    assert client.patch(members_url(store, store.owner.pk), {"role": "admin"}, format="json").status_code == 200
    assert Membership.objects.get(store=store, user=store.owner).role == "admin"


def test_member_of_another_store_is_404(client_for, store, other_store):
    response = client_for(store.owner).patch(members_url(store, other_store.owner.pk), {"role": "viewer"},
                                             format="json")
    assert response.status_code == 404
    assert client_for(store.owner).delete(members_url(store, other_store.owner.pk)).status_code == 404
    assert Membership.objects.get(store=other_store, user=other_store.owner).role == "owner"


def test_bad_role_is_400(client_for, store, member_factory):
    staff = member_factory(store, "staff")
    response = client_for(store.owner).patch(members_url(store, staff.pk), {"role": "god"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_member_id_past_64_bits_is_404_not_500(method, client_for, store, member_factory):
    # given a store with two members
    member_factory(store, "staff", email="s@example.com")
    # when the owner names a user id no integer column can hold
    response = getattr(client_for(store.owner), method)(
        members_url(store, "9" * 23), {"role": "viewer"}, format="json")
    # then it is an enveloped 404 and the team is unchanged
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert sorted(Membership.objects.filter(store=store).values_list("role", flat=True)) == ["owner", "staff"]
