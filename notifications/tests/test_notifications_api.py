import pytest
from django.utils import timezone

from notifications import events
from notifications.models import Notification, NotificationPreference
from notifications.services import members_notify

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notifications"


def notify(user, store=None, **fields):
    fields.setdefault("event_type", "order.created")
    fields.setdefault("title", "New order #1")
    return Notification.objects.create(user=user, store=store, **fields)


def test_lists_only_my_notifications_newest_first(user, user_factory, store, auth_api):
    older = notify(user, store, title="first")
    newer = notify(user, store, title="second")
    notify(user_factory(), store, title="someone else's")
    body = auth_api.get(BASE).json()
    assert [row["id"] for row in body["data"]] == [newer.pk, older.pk]
    assert body["data"][0]["store"] == store.slug and body["data"][0]["read"] is False
    assert body["pagination"]["total"] == 2


def test_unread_filter(user, auth_api):
    notify(user, title="unread")
    notify(user, title="read", read_at=timezone.now())
    assert [row["title"] for row in auth_api.get(f"{BASE}?unread=true").json()["data"]] == ["unread"]
    assert len(auth_api.get(BASE).json()["data"]) == 2


def test_mark_read_read_all_and_delete(user, user_factory, auth_api):
    first, second, third = notify(user), notify(user), notify(user)
    foreign = notify(user_factory())
    # read one
    response = auth_api.put(f"{BASE}/{first.pk}/read")
    assert response.status_code == 200 and response.json()["data"]["read"] is True
    # read all
    response = auth_api.put(f"{BASE}/read-all/")
    assert response.status_code == 200 and response.json()["data"] == {"updated": 2}
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    # delete
    assert auth_api.delete(f"{BASE}/{third.pk}").status_code == 204
    assert not Notification.objects.filter(pk=third.pk).exists()
    # someone else's is not there
    assert auth_api.put(f"{BASE}/{foreign.pk}/read").status_code == 404
    assert auth_api.delete(f"{BASE}/{foreign.pk}").status_code == 404
    assert Notification.objects.get(pk=foreign.pk).read_at is None
    assert second.pk


def test_anonymous_is_401(api):
    for response in (api.get(BASE), api.put(f"{BASE}/read-all"), api.get(f"{BASE}/preferences")):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_preferences_show_role_defaults(store, client_for):
    body = client_for(store.owner).get(f"{BASE}/preferences").json()["data"]
    assert set(body) == set(events.NOTIFICATION_EVENT_TYPES)
    assert body["order.created"] == {"in_app": True, "email": True, "default": True}
    assert body["product.updated"] == {"in_app": False, "email": False, "default": True}


def test_set_preferences(store, client_for):
    client = client_for(store.owner)
    response = client.put(f"{BASE}/preferences", {"order.created": {"email": False},
                                                  "product.published": {"in_app": True, "email": True}},
                          format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["order.created"] == {"in_app": True, "email": False, "default": False}
    assert data["product.published"] == {"in_app": True, "email": True, "default": False}
    assert NotificationPreference.objects.filter(user=store.owner).count() == 2


@pytest.mark.parametrize("body", [{"order.exploded": {"email": True}}, {"order.created": {"email": "maybe"}}, {},
                                  ["order.created"]])
def test_bad_preferences_are_400(body, auth_api):
    response = auth_api.put(f"{BASE}/preferences", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not NotificationPreference.objects.exists()


def test_fan_out_follows_preferences_and_skips_the_actor(store, member_factory):
    # given
    admin_member = member_factory(store, "admin")
    staff = member_factory(store, "staff")
    NotificationPreference.objects.create(user=admin_member, event_type="order.created", in_app=False, email=False)
    NotificationPreference.objects.create(user=staff, event_type="order.created", in_app=True, email=True)
    # when
    members_notify(store=store, event_type="order.created", payload={"number": "A-1"}, event_id="e1",
                   exclude_user_id=store.owner_id)
    # then
    assert list(Notification.objects.values_list("user_id", flat=True)) == [staff.pk]
    # and the same event twice notifies once
    members_notify(store=store, event_type="order.created", payload={"number": "A-1"}, event_id="e1")
    assert Notification.objects.filter(user=staff).count() == 1


@pytest.mark.parametrize("path", [f"{BASE}/read-all", f"{BASE}/preferences"])
def test_options_on_a_list_level_put_action_describes_it(user, auth_api, path):
    # given a notification left unread
    unread = notify(user)
    # when a client asks what the route accepts
    response = auth_api.options(path)
    # then it is described in the envelope, not answered 500, and nothing is marked read
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
    assert "PUT" in response.json()["data"]["actions"]
    unread.refresh_from_db()
    assert unread.read_at is None


def test_a_page_far_past_the_end_is_empty_not_500(user, auth_api):
    # given one notification
    notify(user)
    # when a client asks for a page whose offset would overflow a 64-bit integer
    response = auth_api.get(f"{BASE}?page=99999999999999999999&limit=100")
    # then it gets an empty page with the real total
    assert response.status_code == 200, response.content
    assert response.json()["data"] == []
    assert response.json()["pagination"]["total"] == 1
