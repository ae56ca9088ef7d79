import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory

from auditlog.admin_mixins import AuditedAdminMixin
from auditlog.models import AuditLog
from auditlog.services import audit_record
from config.admin import StoreScopedAdmin
from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


class EndpointForm(forms.ModelForm):
    url = forms.URLField(assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["store", "url", "description", "events", "is_active"]


class AuditedEndpointAdmin(AuditedAdminMixin, StoreScopedAdmin):
    pass


def admin_request(user):
    request = RequestFactory().post("/admin/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="browser")
    request.user = user
    return request


def test_mixin_audits_admin_create_change_and_delete(store):
    model_admin = AuditedEndpointAdmin(WebhookEndpoint, admin.site)
    request = admin_request(store.owner)
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
