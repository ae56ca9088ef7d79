import pytest
from standardwebhooks.webhooks import Webhook

from auditlog.models import AuditLog
from notifications.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def base(store):
    return f"/api/v1/stores/{store.slug}/webhooks"


def test_create_answers_the_secret_once_then_masked(store, client_for, public_dns):
    client = client_for(store.owner)
    # when
    response = client.post(base(store), {"url": "https://hooks.example.com/in", "events": ["order.paid"]},
                           format="json")
    # then
    assert response.status_code == 201, response.json()
    created = response.json()["data"]
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) >= 24
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == secret and endpoint.is_active and endpoint.events == ["order.paid"]
    listed = client.get(base(store)).json()["data"][0]
    assert listed["secret"] == "••••" + secret[-4:]
    assert client.get(f"{base(store)}/{endpoint.pk}").json()["data"]["secret"] == "••••" + secret[-4:]
    assert AuditLog.objects.filter(action="webhook.created", object_id=str(endpoint.pk)).exists()


def test_secret_is_encrypted_at_rest(store):
    from django.db import connection

    endpoint = WebhookEndpoint.objects.create(store=store, url="https://x.example.com", events=["order.paid"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_webhookendpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert "whsec_" not in stored and endpoint.secret.removeprefix("whsec_") not in stored


@pytest.mark.parametrize("body, field", [
    ({"url": "https://hooks.example.com", "events": ["order.exploded"]}, "events"),
    ({"url": "https://hooks.example.com", "events": []}, "events"),
    ({"url": "https://hooks.example.com", "events": ["webhook.test"]}, "events"),
    ({"url": "ftp://hooks.example.com", "events": ["order.paid"]}, "url"),
    ({"url": "http://127.0.0.1:8000/x", "events": ["order.paid"]}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data", "events": ["order.paid"]}, "url"),
    ({"url": "https://internal.example.com", "events": ["order.paid"]}, "url"),
    ({"events": ["order.paid"]}, "url"),
])
def test_bad_input_is_400(body, field, store, client_for, public_dns, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    public_dns["internal.example.com"] = ["10.0.0.8"]
    response = client_for(store.owner).post(base(store), body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["details"]
    assert not WebhookEndpoint.objects.exists()


def test_patch_and_delete(store, client_for, public_dns):
    client = client_for(store.owner)
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"],
                                              is_active=False, failure_count=5)
    response = client.patch(f"{base(store)}/{endpoint.pk}",
                            {"events": ["order.paid", "order.created"], "is_active": True}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["events"] == ["order.paid", "order.created"] and data["is_active"] is True
    assert data["failure_count"] == 0 and data["disabled_at"] is None
    assert client.put(f"{base(store)}/{endpoint.pk}", {}, format="json").status_code == 405
    bad = client.patch(f"{base(store)}/{endpoint.pk}", {"events": ["nope"]}, format="json")
    assert bad.status_code == 400
    assert client.delete(f"{base(store)}/{endpoint.pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert list(AuditLog.objects.filter(store=store).values_list("action", flat=True).order_by("id")) == [
        "webhook.updated", "webhook.deleted",
    ]


@pytest.mark.parametrize("role, status", [("admin", 200), ("staff", 403), ("viewer", 403)])
def test_needs_webhooks_manage(role, status, store, member_factory, client_for):
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    client = client_for(member_factory(store, role))
    assert client.get(base(store)).status_code == status
    assert client.get(f"{base(store)}/{endpoint.pk}/deliveries").status_code == status
    if status == 403:
        assert client.post(base(store), {"url": "https://b.example.com", "events": ["order.paid"]},
                           format="json").status_code == 403
        assert client.post(f"{base(store)}/{endpoint.pk}/test").status_code == 403
        assert client.delete(f"{base(store)}/{endpoint.pk}").status_code == 403


def test_outsiders_and_other_stores_get_404(store, other_store, user_factory, client_for, api):
    endpoint = WebhookEndpoint.objects.create(store=other_store, url="https://a.example.com", events=["order.paid"])
    assert client_for(user_factory()).get(base(store)).status_code == 404
    assert client_for(store.owner).get(f"{base(store)}/{endpoint.pk}").status_code == 404
    assert client_for(store.owner).delete(f"{base(store)}/{endpoint.pk}").status_code == 404
    assert client_for(store.owner).post(f"{base(store)}/{endpoint.pk}/test").status_code == 404
    assert api.get(base(store)).status_code == 401
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_test_ping_deliveries_and_redeliver(store, client_for, receiver, allow_private,
                                            django_capture_on_commit_callbacks):
    # given
    client = client_for(store.owner)
    endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=["order.paid"])
    receiver.answer(404, 200)
    # when: a test ping (the receiver answers 404: final)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base(store)}/{endpoint.pk}/test/")
    assert response.status_code == 202, response.json()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "webhook.test" and delivery.status == "failed"
    assert Webhook(endpoint.secret).verify(receiver.requests[0].body, receiver.requests[0].headers)["type"] == (
        "webhook.test"
    )
    # then: the delivery log shows the attempt
    listed = client.get(f"{base(store)}/{endpoint.pk}/deliveries").json()
    assert listed["pagination"]["total"] == 1
    assert listed["data"][0]["attempt_log"][0]["status_code"] == 404
    # when: redelivered
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base(store)}/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempt_log.count() == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert client.get(f"{base(store)}/{endpoint.pk}/deliveries?status=failed").json()["data"] == []


def test_redeliver_another_endpoints_delivery_is_404_and_inactive_is_409(store, client_for):
    client = client_for(store.owner)
    first = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    second = WebhookEndpoint.objects.create(store=store, url="https://b.example.com", events=["order.paid"],
                                            is_active=False)
    delivery = WebhookDelivery.objects.create(endpoint=second, event_type="order.paid", webhook_id="msg_x",
                                              payload={}, status="failed")
    assert client.post(f"{base(store)}/{first.pk}/deliveries/{delivery.pk}/redeliver").status_code == 404
    response = client.post(f"{base(store)}/{second.pk}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    assert client.post(f"{base(store)}/{second.pk}/test").status_code == 409


@pytest.mark.parametrize("status", ["bogus", "fail\x00ed"])
def test_deliveries_status_filter_outside_its_choices_is_400(status, store, client_for):
    # given an endpoint with one failed delivery
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="msg_x", payload={},
                                   status="failed")
    # when the status filter is no delivery status (a NUL byte was a 500 on PostgreSQL)
    response = client_for(store.owner).get(f"{base(store)}/{endpoint.pk}/deliveries", {"status": status})
    # then it is refused and the delivery is untouched
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "status" in response.json()["error"]["details"]
    assert WebhookDelivery.objects.get().status == "failed"


def test_the_test_ping_is_audited(store, client_for, django_capture_on_commit_callbacks):
    # given
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    # when
    response = client_for(store.owner).post(f"{base(store)}/{endpoint.pk}/test", HTTP_USER_AGENT="dash")
    # then
    assert response.status_code == 202, response.json()
    entry = AuditLog.objects.get(action="webhook.tested")
    assert entry.object_id == str(endpoint.pk) and entry.actor_user == store.owner and entry.user_agent == "dash"
    assert entry.changes["delivery"] == response.json()["data"]["id"]


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", [f"/{HUGE}", f"/{HUGE}/deliveries", f"/{HUGE}/test",
                                  f"/{{pk}}/deliveries/{HUGE}/redeliver"])
def test_ids_past_64_bits_are_404(path, store, client_for):
    # given
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    client = client_for(store.owner)
    url = base(store) + path.format(pk=endpoint.pk)
    # when
    response = client.post(url) if path.endswith(("test", "redeliver")) else client.get(url)
    # then
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"url": "https://hooks.example.com", "events": "order.paid"}, "events"),
    ({"url": "https://hooks.example.com", "events": {"order.paid": True}}, "events"),
    ({"url": "https://hooks.example.com", "events": [["order.paid"]]}, "events"),
    ({"url": "https://hooks.example.com", "events": None}, "events"),
    ({"url": "https://hooks.example.com:99999/", "events": ["order.paid"]}, "url"),
    ({"url": "https://hooks.example.com:0/", "events": ["order.paid"]}, "url"),
    ({"url": "https://hooks.example.com/\x00", "events": ["order.paid"]}, "url"),
    ({"url": 42, "events": ["order.paid"]}, "url"),
])
def test_malformed_fields_are_400_not_500(body, field, store, client_for, public_dns):
    response = client_for(store.owner).post(base(store), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR" and field in response.json()["error"]["details"]
    assert not WebhookEndpoint.objects.exists()


def test_patch_to_a_private_url_is_400_and_changes_nothing(store, client_for, public_dns, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://a.example.com", events=["order.paid"])
    response = client_for(store.owner).patch(f"{base(store)}/{endpoint.pk}", {"url": "http://10.0.0.1/"},
                                             format="json")
    assert response.status_code == 400 and "url" in response.json()["error"]["details"]
    endpoint.refresh_from_db()
    assert endpoint.url == "https://a.example.com" and not AuditLog.objects.exists()
