"""What goes into the channel, and that a channel that fails never fails the committed work."""

import pytest

from live.channel import channel
from notifications.models import Notification

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


def place(api, store, cart):
    return api.post(f"/api/v1/stores/{store.slug}/checkout", {
        "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": ADDRESS, "payment_method": "cod"},
        format="json")


def test_a_checkout_publishes_the_event_tagged_with_its_audience_and_the_notifications(
        api, store, make_variant, cart_with, settings, django_capture_on_commit_callbacks):
    settings.LIVE_CHANNEL = "database"
    cart = cart_with((make_variant(), 1))
    with django_capture_on_commit_callbacks(execute=True):
        answer = place(api, store, cart)
    assert answer.status_code == 201, answer.json()
    entries = channel().read("0")
    event, *notices = [entry.record for entry in entries]
    assert (event["type"], event["store"], event["order"], event["cart"]) == (
        "order.created", store.pk, answer.json()["data"]["id"], str(cart.pk))
    assert "customer" not in event  # a guest's order
    assert [(notice["type"], notice["user"]) for notice in notices] == [("notification", store.owner_id)]


def test_a_failing_channel_leaves_the_checkout_and_the_notifications_alone(
        api, store, make_variant, cart_with, monkeypatch, django_capture_on_commit_callbacks, caplog):
    def down(records):
        raise ConnectionError("the channel is down")

    monkeypatch.setattr(type(channel()), "publish", lambda self, records: down(records))
    with django_capture_on_commit_callbacks(execute=True):
        answer = place(api, store, cart_with((make_variant(), 1)))
    assert answer.status_code == 201, answer.json()
    assert Notification.objects.filter(user=store.owner, event_type="order.created").count() == 1
    assert "live publish failed" in caplog.text
