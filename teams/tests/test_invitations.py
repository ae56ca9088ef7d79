import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from auditlog.models import AuditLog
from stores.models import Store
from stores.services import store_deactivate
from teams.models import Invitation, Membership
from teams.services import token_hash


def invite(client, store, email="new@example.com", role="staff", capture=None):
    with capture(execute=True):
        return client.post(f"/api/v1/stores/{store.slug}/invites", {"email": email, "role": role}, format="json")


def token_from_mail() -> str:
    return re.search(r"/invites/([-A-Za-z0-9_]+)", mail.outbox[-1].body).group(1)


def test_invite_emails_a_token_and_stores_only_its_hash(client_for, store, django_capture_on_commit_callbacks):
    # when
    response = invite(client_for(store.owner), store, capture=django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["status"] == "pending" and data["role"] == "staff" and "token" not in data
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert "Alpha" in mail.outbox[0].subject
    token = token_from_mail()
    invitation = Invitation.objects.get()
    assert invitation.token_hash == token_hash(token) and token not in invitation.token_hash
    assert timedelta(days=6) < invitation.expires_at - timezone.now() <= timedelta(days=7)


def test_accept_joins_with_the_role_once(client_for, store, user_factory, django_capture_on_commit_callbacks):
    # given
    invite(client_for(store.owner), store, role="admin", capture=django_capture_on_commit_callbacks)
    token = token_from_mail()
    joiner = user_factory(email="new@example.com")
    # when
    response = client_for(joiner).post(f"/api/v1/invites/{token}/accept")
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["store"]["slug"] == "alpha"
    assert Membership.objects.get(store=store, user=joiner).role == "admin"
    assert Invitation.objects.get().accepted_by == joiner
    # a second use fails, for anyone
    again = client_for(user_factory()).post(f"/api/v1/invites/{token}/accept")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "VALIDATION_ERROR"


def test_accept_expired_is_400(client_for, store, user_factory, django_capture_on_commit_callbacks):
    invite(client_for(store.owner), store, capture=django_capture_on_commit_callbacks)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    joiner = user_factory()
    response = client_for(joiner).post(f"/api/v1/invites/{token_from_mail()}/accept")
    assert response.status_code == 400
    assert not Membership.objects.filter(user=joiner).exists()


def test_accept_for_a_deactivated_store_is_400_and_changes_nothing(
    client_for, store, user_factory, django_capture_on_commit_callbacks
):
    # given
    invite(client_for(store.owner), store, capture=django_capture_on_commit_callbacks)
    token = token_from_mail()
    store_deactivate(store=store)
    joiner = user_factory(email="new@example.com")
    audit_rows = AuditLog.objects.count()
    # when
    response = client_for(joiner).post(f"/api/v1/invites/{token}/accept")
    # then
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Membership.objects.filter(user=joiner).exists()
    invitation = Invitation.objects.get()
    assert invitation.status == "pending" and invitation.accepted_by is None
    assert AuditLog.objects.count() == audit_rows
    # the store switched back on: the invitation still works
    Store.objects.filter(pk=store.pk).update(is_active=True)
    assert client_for(joiner).post(f"/api/v1/invites/{token}/accept").status_code == 200
    assert Membership.objects.get(store=store, user=joiner).role == "staff"


def test_accept_unknown_token_is_400(client_for, user):
    assert client_for(user).post("/api/v1/invites/not-a-token/accept").status_code == 400


def test_accept_needs_login(api, db):
    response = api.post("/api/v1/invites/whatever/accept")
    assert response.status_code == 401


def test_accept_when_already_member_is_409_and_keeps_the_invitation(
    client_for, store, member_factory, django_capture_on_commit_callbacks
):
    viewer = member_factory(store, "viewer")
    invite(client_for(store.owner), store, email="someone@example.com", capture=django_capture_on_commit_callbacks)
    response = client_for(viewer).post(f"/api/v1/invites/{token_from_mail()}/accept")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"
    assert Invitation.objects.get().accepted_at is None
    assert Membership.objects.get(store=store, user=viewer).role == "viewer"


def test_invite_existing_member_is_409(client_for, store, member_factory, django_capture_on_commit_callbacks):
    staff = member_factory(store, "staff")
    response = invite(client_for(store.owner), store, email=staff.email, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert not Invitation.objects.exists() and not mail.outbox


def test_invite_needs_team_manage_and_admin_cannot_invite_owner(
    client_for, store, member_factory, django_capture_on_commit_callbacks
):
    staff = member_factory(store, "staff")
    admin = member_factory(store, "admin")
    capture = django_capture_on_commit_callbacks
    assert invite(client_for(staff), store, capture=capture).status_code == 403
    assert invite(client_for(admin), store, role="owner", capture=capture).status_code == 403
    assert not Invitation.objects.exists() and not mail.outbox
    assert client_for(staff).get(f"/api/v1/stores/{store.slug}/invites").status_code == 403


def test_revoked_invitation_cannot_be_accepted(client_for, store, user_factory, django_capture_on_commit_callbacks):
    invite(client_for(store.owner), store, capture=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    listed = client_for(store.owner).get(f"/api/v1/stores/{store.slug}/invites").json()["data"]
    assert [row["id"] for row in listed] == [invitation.pk]
    assert client_for(store.owner).delete(f"/api/v1/stores/{store.slug}/invites/{invitation.pk}").status_code == 204
    response = client_for(user_factory()).post(f"/api/v1/invites/{token_from_mail()}/accept")
    assert response.status_code == 400
