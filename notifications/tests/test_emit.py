import pytest
from django.core import mail
from django.db import transaction

from notifications import events
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from notifications.services import emit

pytestmark = pytest.mark.django_db

ORDER = {"id": 1, "number": "A-1001", "status": "pending", "email": "buyer@example.com", "total": "19.99",
         "currency": "USD", "lines": [{"sku": "TS-M", "name": "T-shirt", "quantity": 1, "total": "19.99"}]}


def test_nothing_happens_before_commit_and_fan_out_after(store, member_factory, django_capture_on_commit_callbacks):
    # given
    staff = member_factory(store, "staff")
    viewer = member_factory(store, "viewer")
    endpoint = WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/x", events=["order.paid"])
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        emit(events.ORDER_CREATED, store, ORDER)
        assert not Notification.objects.exists()
    # then: nothing ran yet, and the endpoint is not subscribed to order.created
    assert len(callbacks) == 1
    assert not WebhookDelivery.objects.filter(endpoint=endpoint).exists()
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    recipients = set(Notification.objects.values_list("user_id", flat=True))
    assert recipients == {store.owner_id, staff.pk}  # the viewer's default is off
    assert viewer.pk not in recipients
    assert sorted(m.to[0] for m in mail.outbox) == sorted([store.owner.email, "buyer@example.com"])


def test_rollback_leaves_nothing(store, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/x", events=["order.created"])
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            emit(events.ORDER_CREATED, store, ORDER)
            raise RuntimeError
    assert callbacks == []
    assert not WebhookDelivery.objects.exists() and not Notification.objects.exists()


def test_unknown_event_is_a_programming_error(store):
    with pytest.raises(ValueError):
        emit("order.exploded", store, {})
