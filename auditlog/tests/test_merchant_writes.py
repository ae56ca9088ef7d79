"""Every store and team write through the API leaves exactly one audit entry, written with the change."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from auditlog.models import AuditLog
from stores.models import Store
from teams.models import ApiKey, Invitation, Membership
from teams.services import api_key_create, token_hash

pytestmark = pytest.mark.django_db

STORES = "/api/v1/stores"


@pytest.fixture
def bob(store, member_factory):
    return member_factory(store, "staff", email="bob@example.com")


# Each write arranges what it needs and answers (the request to make, the audited object's type).
def create_store(client, store, bob, joiner):
    return lambda: client.post(STORES, {"name": "Gamma", "currency": "USD"}, format="json"), "stores.store"


def update_store(client, store, bob, joiner):
    return lambda: client.patch(f"{STORES}/{store.slug}", {"name": "Alpha 2"}, format="json"), "stores.store"


def deactivate_store(client, store, bob, joiner):
    return lambda: client.delete(f"{STORES}/{store.slug}"), "stores.store"


def add_member(client, store, bob, joiner):
    url = f"{STORES}/{store.slug}/members"
    return lambda: client.post(url, {"email": joiner.email, "role": "viewer"}, format="json"), "teams.membership"


def change_role(client, store, bob, joiner):
    url = f"{STORES}/{store.slug}/members/{bob.pk}"
    return lambda: client.patch(url, {"role": "admin"}, format="json"), "teams.membership"


def remove_member(client, store, bob, joiner):
    return lambda: client.delete(f"{STORES}/{store.slug}/members/{bob.pk}"), "teams.membership"


def invite(client, store, bob, joiner):
    url = f"{STORES}/{store.slug}/invites"
    return lambda: client.post(url, {"email": "new@example.com", "role": "staff"}, format="json"), "teams.invitation"


def pending_invitation(store, email="new@example.com") -> tuple[Invitation, str]:
    token = "tok-" + email.split("@")[0]
    invitation = Invitation.objects.create(store=store, email=email, role="staff", token_hash=token_hash(token),
                                           expires_at=timezone.now() + timedelta(days=1))
    return invitation, token


def accept_invitation(client, store, bob, joiner):
    _, token = pending_invitation(store, joiner.email)
    joiner_client = APIClient()
    joiner_client.force_authenticate(joiner)
    return lambda: joiner_client.post(f"/api/v1/invites/{token}/accept"), "teams.invitation"


def revoke_invitation(client, store, bob, joiner):
    invitation, _ = pending_invitation(store)
    return lambda: client.delete(f"{STORES}/{store.slug}/invites/{invitation.pk}"), "teams.invitation"


def create_api_key(client, store, bob, joiner):
    url = f"{STORES}/{store.slug}/api-keys"
    return lambda: client.post(url, {"name": "ERP", "scopes": ["catalog.write"]}, format="json"), "teams.apikey"


def revoke_api_key(client, store, bob, joiner):
    api_key, _ = api_key_create(store=store, name="old", scopes=[])
    return lambda: client.delete(f"{STORES}/{store.slug}/api-keys/{api_key.pk}"), "teams.apikey"


@pytest.mark.parametrize(("write", "action"), [
    (create_store, "store.created"),
    (update_store, "store.updated"),
    (deactivate_store, "store.deactivated"),
    (add_member, "member.added"),
    (change_role, "member.role_changed"),
    (remove_member, "member.removed"),
    (invite, "invitation.created"),
    (accept_invitation, "invitation.accepted"),
    (revoke_invitation, "invitation.revoked"),
    (create_api_key, "api_key.created"),
    (revoke_api_key, "api_key.revoked"),
])
def test_each_store_and_team_write_is_audited_once(client_for, store, bob, user_factory, write, action):
    # given
    joiner = user_factory(email="joiner@example.com")
    act, object_type = write(client_for(store.owner), store, bob, joiner)
    before = set(AuditLog.objects.values_list("pk", flat=True))
    # when
    response = act()
    # then
    assert response.status_code < 300, response.json()
    entries = list(AuditLog.objects.exclude(pk__in=before))
    assert [entry.action for entry in entries] == [action]
    entry = entries[0]
    expected_store = Store.objects.get(slug="gamma") if action == "store.created" else store
    expected_actor = joiner if action == "invitation.accepted" else store.owner
    assert entry.store == expected_store
    assert (entry.actor_user, entry.actor_label) == (expected_actor, expected_actor.email)
    assert entry.object_type == object_type and entry.object_id
    assert entry.ip == "127.0.0.1"


def test_settings_change_records_old_and_new_values(client_for, store):
    response = client_for(store.owner).patch(f"{STORES}/{store.slug}", {"name": "Alpha 2", "tax_rate": "7.5",
                                                                        "currency": store.currency}, format="json")
    assert response.status_code == 200, response.json()
    entry = AuditLog.objects.get(action="store.updated")
    assert entry.changes == {"name": ["Alpha", "Alpha 2"], "tax_rate": ["0.00", "7.50"]}


def test_settings_patch_that_changes_nothing_records_nothing(client_for, store):
    response = client_for(store.owner).patch(f"{STORES}/{store.slug}", {"name": "Alpha"}, format="json")
    assert response.status_code == 200
    assert not AuditLog.objects.exists()


def test_api_key_entries_never_hold_the_key_or_its_hash(client_for, store):
    response = client_for(store.owner).post(f"{STORES}/{store.slug}/api-keys", {"name": "ERP", "scopes": []},
                                            format="json")
    key = response.json()["data"]["key"]
    api_key = ApiKey.objects.get()
    client_for(store.owner).delete(f"{STORES}/{store.slug}/api-keys/{api_key.pk}")
    entries = AuditLog.objects.filter(action__startswith="api_key.")
    assert entries.count() == 2
    for entry in entries:
        assert key not in str(entry.changes) and api_key.hashed_key not in str(entry.changes)
        assert entry.changes["prefix"] == api_key.prefix


def test_a_write_made_with_an_api_key_names_the_key(api, store, bob):
    manager, raw = api_key_create(store=store, name="hr", scopes=["team.manage"])
    response = api.patch(f"{STORES}/{store.slug}/members/{bob.pk}", {"role": "viewer"}, format="json",
                         HTTP_X_API_KEY=raw)
    assert response.status_code == 200, response.json()
    entry = AuditLog.objects.get(action="member.role_changed")
    assert entry.actor_user is None and entry.actor_label == f"apikey:{manager.pk}"
    assert entry.changes == {"user": bob.pk, "role": ["staff", "viewer"]}


def test_refused_last_owner_removal_leaves_no_entry(client_for, store):
    response = client_for(store.owner).delete(f"{STORES}/{store.slug}/members/{store.owner.pk}")
    assert response.status_code == 409
    assert Membership.objects.filter(store=store, user=store.owner).exists()
    assert not AuditLog.objects.exists()


def test_refused_writes_leave_no_entry(client_for, store, member_factory, bob):
    admin = member_factory(store, "admin")
    client = client_for(admin)
    owner_membership_user = store.owner.pk
    # an admin may not demote an owner (403), nor invite one (403); the last owner cannot be demoted (409)
    assert client.patch(f"{STORES}/{store.slug}/members/{owner_membership_user}", {"role": "viewer"},
                        format="json").status_code == 403
    assert client.post(f"{STORES}/{store.slug}/invites", {"email": "x@example.com", "role": "owner"},
                       format="json").status_code == 403
    assert client_for(store.owner).patch(f"{STORES}/{store.slug}/members/{store.owner.pk}", {"role": "admin"},
                                         format="json").status_code == 409
    # a taken slug (409) creates no store and no entry
    assert client_for(bob).post(STORES, {"name": "A", "slug": "alpha", "currency": "USD"},
                                format="json").status_code == 409
    assert not AuditLog.objects.exists()


def test_a_catalog_write_records_where_the_request_came_from(client_for, store):
    # given: catalog services are not handed the request
    client = client_for(store.owner)
    # when
    response = client.post(f"{STORES}/{store.slug}/categories", {"name": "Clothing"}, format="json",
                           HTTP_USER_AGENT="merchant-app/2.1", HTTP_X_REQUEST_ID="req-catalog-1",
                           REMOTE_ADDR="203.0.113.20")
    # then: the entry still has the client's IP, user agent and the request id
    assert response.status_code == 201, response.json()
    entry = AuditLog.objects.get(action="category.created")
    assert (entry.ip, entry.user_agent, entry.request_id) == ("203.0.113.20", "merchant-app/2.1", "req-catalog-1")
    assert entry.actor_user == store.owner


def test_an_entry_written_after_the_request_has_no_request_origin(client_for, store):
    # given: a request has been served in this thread
    client_for(store.owner).get(f"{STORES}/{store.slug}", HTTP_USER_AGENT="merchant-app/2.1")
    # when: the system writes an entry outside any request
    from auditlog.services import audit_record

    entry = audit_record(store=store, action="stock.expired")
    # then: nothing of that request leaks into it
    assert (entry.ip, entry.user_agent) == (None, "")
