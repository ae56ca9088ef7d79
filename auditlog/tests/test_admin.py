import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory

from auditlog.models import AuditLog
from auditlog.services import audit_record
from notifications.models import WebhookEndpoint
from teams.admin_base import StoreScopedAdmin
from teams.models import Membership

pytestmark = pytest.mark.django_db


class EndpointForm(forms.ModelForm):
    url = forms.URLField(assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["store", "url", "description", "events", "is_active"]


class AuditedEndpointAdmin(StoreScopedAdmin):
    """Saves with the model admin's own save (the real WebhookEndpointAdmin goes through services)."""


def admin_request(user):
    request = RequestFactory().post("/admin/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="browser")
    request.user = user
    return request


def test_mixin_audits_admin_create_change_and_delete(store, served):
    model_admin = AuditedEndpointAdmin(WebhookEndpoint, admin.site)
    request = served(admin_request(store.owner))
    data = {"store": store.pk, "url": "https://a.example.com/h", "description": "", "events": '["order.paid"]',
            "is_active": "on"}
    # when: created
    form = EndpointForm(data=data)
    assert form.is_valid(), form.errors
    endpoint = form.save(commit=False)
    model_admin.save_model(request, endpoint, form, change=False)
    # when: changed
    form = EndpointForm(data={**data, "url": "https://b.example.com/h"}, instance=WebhookEndpoint.objects.get())
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    # when: deleted
    model_admin.delete_model(request, WebhookEndpoint.objects.get())
    # then
    entries = list(AuditLog.objects.filter(store=store).order_by("id"))
    assert [e.action for e in entries] == [
        "admin.webhookendpoint.created", "admin.webhookendpoint.updated", "admin.webhookendpoint.deleted",
    ]
    assert entries[0].changes["url"] == "https://a.example.com/h"
    assert entries[1].changes == {"url": ["https://a.example.com/h", "https://b.example.com/h"]}
    assert all(e.actor_user == store.owner and e.ip == "198.51.100.7" for e in entries)
    assert entries[2].object_id == str(endpoint.pk)


def test_mixin_audits_bulk_deletes_one_entry_per_row(store):
    model_admin = AuditedEndpointAdmin(WebhookEndpoint, admin.site)
    for n in range(3):
        WebhookEndpoint.objects.create(store=store, url=f"https://{n}.example.com", events=["order.paid"])
    model_admin.delete_queryset(admin_request(store.owner), WebhookEndpoint.objects.all())
    assert not WebhookEndpoint.objects.exists()
    assert AuditLog.objects.filter(action="admin.webhookendpoint.deleted").count() == 3


def test_audit_log_admin_is_read_only_and_scoped(client, store, other_store, member_factory):
    mine = audit_record(store=store, action="mine.done")
    audit_record(store=other_store, action="theirs.done")
    client.force_login(store.owner)
    changelist = client.get("/admin/auditlog/auditlog/")
    assert changelist.status_code == 200
    assert b"mine.done" in changelist.content and b"theirs.done" not in changelist.content
    assert client.get("/admin/auditlog/auditlog/add/").status_code == 403
    detail = client.get(f"/admin/auditlog/auditlog/{mine.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert client.post(f"/admin/auditlog/auditlog/{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=mine.pk).exists()


def test_staff_without_audit_read_sees_no_entries(client, store, member_factory):
    audit_record(store=store, action="mine.done")
    staff = member_factory(store, "staff")
    client.force_login(staff)
    response = client.get("/admin/auditlog/auditlog/")
    assert response.status_code == 200 and b"mine.done" not in response.content


# --- admin writes through services: one entry each, never a second from the mixin --------------
def store_settings(store, **changes) -> dict:
    return {"name": store.name, "description": store.description, "currency": store.currency,
            "contact_email": store.contact_email, "tax_rate": str(store.tax_rate),
            "low_stock_threshold": store.low_stock_threshold, "timezone": store.timezone, **changes}


def test_store_admin_change_writes_one_entry(client, store):
    client.force_login(store.owner)
    response = client.post(f"/admin/stores/store/{store.pk}/change/",
                           store_settings(store, name="Alpha Two", tax_rate="2.50"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditLog.objects.get()
    assert entry.action == "store.updated" and entry.store == store and entry.actor_user == store.owner
    assert entry.changes == {"name": ["Alpha", "Alpha Two"], "tax_rate": ["0.00", "2.50"]}
    assert entry.ip == "127.0.0.1"


def test_store_admin_superuser_add_and_deactivate_are_audited(client, store, user_factory):
    from stores.models import Store

    root = user_factory(is_superuser=True, is_staff=True)
    client.force_login(root)
    response = client.post("/admin/stores/store/add/", {
        **store_settings(store, name="Gamma"), "slug": "gamma", "owner": store.owner.pk, "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    gamma = Store.objects.get(slug="gamma")
    response = client.post("/admin/stores/store/", {"action": "deactivate_selected", "_selected_action": [gamma.pk]})
    assert response.status_code == 302
    gamma.refresh_from_db()
    assert gamma.is_active is False
    assert list(AuditLog.objects.filter(store=gamma).order_by("id").values_list("action", "actor_user")) == [
        ("store.created", root.pk), ("store.deactivated", root.pk)]
    # stores are deactivated, never deleted: their log stays
    assert client.post(f"/admin/stores/store/{gamma.pk}/delete/", {"post": "yes"}).status_code == 403


def test_membership_admin_change_writes_one_entry(client, store, member_factory):
    staff = member_factory(store, "staff")
    membership = Membership.objects.get(store=store, user=staff)
    client.force_login(store.owner)
    response = client.post(f"/admin/teams/membership/{membership.pk}/change/", {"role": "admin"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditLog.objects.get()
    assert (entry.action, entry.store, entry.actor_user) == ("member.role_changed", store, store.owner)
    assert entry.changes == {"user": staff.pk, "role": ["staff", "admin"]}


def test_membership_admin_remove_writes_one_entry(client, store, member_factory):
    staff = member_factory(store, "staff")
    membership = Membership.objects.get(store=store, user=staff)
    client.force_login(store.owner)
    response = client.post(f"/admin/teams/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert list(AuditLog.objects.values_list("action", flat=True)) == ["member.removed"]


def test_admin_save_that_changes_nothing_writes_nothing(store):
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com/h", events=["order.paid"])
    form = EndpointForm(data={"store": store.pk, "url": endpoint.url, "description": "",
                              "events": '["order.paid"]', "is_active": "on"}, instance=endpoint)
    assert form.is_valid(), form.errors
    AuditedEndpointAdmin(WebhookEndpoint, admin.site).save_model(admin_request(store.owner), form.save(commit=False),
                                                                 form, change=True)
    assert not AuditLog.objects.exists()


def test_audit_log_admin_is_read_only_for_superusers_too(client, store, user_factory):
    entry = audit_record(store=store, action="mine.done")
    client.force_login(user_factory(is_superuser=True, is_staff=True))
    assert client.get("/admin/auditlog/auditlog/add/").status_code == 403
    assert client.post(f"/admin/auditlog/auditlog/{entry.pk}/change/", {"action": "forged"}).status_code == 403
    assert client.post(f"/admin/auditlog/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post("/admin/auditlog/auditlog/", {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert response.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.action == "mine.done" and AuditLog.objects.count() == 1
