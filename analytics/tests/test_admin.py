"""Exports in the admin: asked for through the same service as POST exports, scoped to the member's stores."""

import pytest

from analytics.models import Export
from notifications.models import Notification

pytestmark = pytest.mark.django_db

LIST = "/admin/analytics/export/"


def test_a_member_asks_for_an_export_and_downloads_it(store, member_factory, admin_login,
                                                      django_capture_on_commit_callbacks):
    staff = member_factory(store, "staff")
    client = admin_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{LIST}add/", {"store": store.pk, "type": "orders", "format": "csv"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    export = Export.objects.get()
    assert (export.store, export.type, export.status, export.requested_by) == (store, "orders", "done", staff)
    assert Notification.objects.filter(user=staff, event_type="export.ready").exists()
    page = client.get(LIST).content.decode()
    assert f"/api/v1/stores/alpha/exports/{export.pk}/download?token=" in page
    # asked again from the list: a new export with fresh data
    with django_capture_on_commit_callbacks(execute=True):
        client.post(LIST, {"action": "export_again", "_selected_action": [export.pk]})
    assert Export.objects.filter(store=store, type="orders", status="done").count() == 2


def test_members_see_only_their_stores_exports(store, other_store, admin_login,
                                               django_capture_on_commit_callbacks):
    from analytics.services import export_request

    with django_capture_on_commit_callbacks(execute=True):
        theirs = export_request(store=other_store, type="customers", actor=other_store.owner)
    client = admin_login(store.owner)
    assert f"/{theirs.pk}/" not in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code == 302  # "doesn't exist": back to the list
    response = client.post(f"{LIST}add/", {"store": other_store.pk, "type": "products", "format": "csv"})
    assert response.status_code == 200 and "store" in response.context["adminform"].form.errors
    assert Export.objects.count() == 1
