import pytest

from auditlog.models import AuditLog
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_add_endpoint_in_admin_shows_the_secret_once_and_audits(client, store, public_dns):
    client.force_login(store.owner)
    response = client.post("/admin/notifications/webhookendpoint/add/", {
        "store": store.pk, "url": "https://hooks.example.com/in", "description": "ERP",
        "events": ["order.paid", "order.created"], "is_active": "on",
        "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0",
    }, follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["order.paid", "order.created"]
    assert endpoint.secret in response.content.decode()
    assert AuditLog.objects.filter(action="webhook.created", object_id=str(endpoint.pk)).exists()
    change = client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in change and "••••" + endpoint.secret[-4:] in change


def test_admin_refuses_unsafe_urls_and_unknown_events(client, store, public_dns, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    client.force_login(store.owner)
    response = client.post("/admin/notifications/webhookendpoint/add/", {
        "store": store.pk, "url": "http://127.0.0.1/x", "events": ["order.nope"], "is_active": "on",
        "deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200  # the form again, with errors
    assert "non-public" in response.content.decode() and "order.nope is not one of" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_redeliver_admin_action_uses_the_service(client, store, receiver, allow_private,
                                                 django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=["order.paid"])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="order.paid", webhook_id="msg_admin", status="failed",
        payload={"type": "order.paid", "timestamp": "2026-11-23T00:00:00Z", "data": {"number": "A-1"}},
    )
    client.force_login(store.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/notifications/webhookdelivery/",
                               {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 1
    assert AuditLog.objects.filter(action="webhook.redelivered").count() == 1


def test_delivery_admin_is_scoped_to_the_users_stores(client, store, other_store):
    theirs = WebhookEndpoint.objects.create(store=other_store, url="https://b.example.com", events=["order.paid"])
    delivery = WebhookDelivery.objects.create(endpoint=theirs, event_type="order.paid", webhook_id="msg_b",
                                              payload={})
    client.force_login(store.owner)
    assert b"msg_b" not in client.get("/admin/notifications/webhookdelivery/").content
    assert client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/").status_code == 302


def test_notification_admin_shows_members_their_own(client, store, member_factory):
    colleague = member_factory(store, "admin")
    Notification.objects.create(user=store.owner, store=store, event_type="order.paid", title="mine")
    Notification.objects.create(user=colleague, store=store, event_type="order.paid", title="colleague's")
    client.force_login(store.owner)
    page = client.get("/admin/notifications/notification/").content.decode()
    assert "mine" in page and "colleague&#x27;s" not in page


def test_endpoint_page_shows_its_latest_deliveries_and_links_to_all(client, store):
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    other = WebhookEndpoint.objects.create(store=store, url="https://b.example.com", events=["order.paid"])
    for n in range(25):
        WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id=f"msg_a{n:02}",
                                       payload={})
    WebhookDelivery.objects.create(endpoint=other, event_type="order.paid", webhook_id="msg_other", payload={})
    client.force_login(store.owner)
    page = client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "msg_a24" in page and "msg_a04" not in page and "msg_other" not in page
    assert f"endpoint__id__exact={endpoint.pk}" in page
    listed = client.get(f"/admin/notifications/webhookdelivery/?endpoint__id__exact={endpoint.pk}")
    assert listed.status_code == 200 and "msg_a04" in listed.content.decode()
    assert "msg_other" not in listed.content.decode()


def test_staff_without_webhooks_manage_neither_see_nor_send_in_the_admin(client, store, member_factory, receiver,
                                                                          allow_private,
                                                                          django_capture_on_commit_callbacks):
    # given: a staff member (an admin-site role, but no webhooks.manage)
    staff = member_factory(store, "staff")
    endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=["order.paid"])
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="msg_staff",
                                              status="failed", payload={"type": "order.paid", "data": {}})
    client.force_login(staff)
    # when
    pages = [client.get("/admin/notifications/webhookdelivery/"), client.get("/admin/notifications/webhookendpoint/"),
             client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/")]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/notifications/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})
        client.post("/admin/notifications/webhookendpoint/", {"action": "send_test", "_selected_action": [endpoint.pk]})
    # then: nothing shown, nothing sent
    assert all(page.status_code in (302, 403) for page in pages), [page.status_code for page in pages]
    delivery.refresh_from_db()
    assert delivery.status == "failed" and receiver.requests == []
    assert WebhookDelivery.objects.count() == 1 and not AuditLog.objects.exists()


def test_a_member_managing_webhooks_in_one_store_acts_only_there(client, store, other_store, member_factory):
    # given: the owner of store is only staff in other_store
    from teams.models import Membership

    Membership.objects.create(user=store.owner, store=other_store, role="staff")
    mine = WebhookEndpoint.objects.create(store=store, url="https://mine.example.com", events=["order.paid"])
    WebhookEndpoint.objects.create(store=other_store, url="https://theirs.example.com", events=["order.paid"])
    client.force_login(store.owner)
    # when
    page = client.get("/admin/notifications/webhookendpoint/").content.decode()
    # then
    assert "mine.example.com" in page and "theirs.example.com" not in page
    assert client.get(f"/admin/notifications/webhookendpoint/{mine.pk}/change/").status_code == 200
