"""Gateways' notifications in the admin (read-only, per store, "Replay processing" for a failed one) and the
payments health endpoint (platform staff)."""

import pytest

from auditlog.models import AuditLog
from orders.models import Order
from payments import services
from payments.models import Payment, WebhookEvent

from .signed_gateway import NAME

pytestmark = pytest.mark.django_db

EVENTS = "/admin/payments/webhookevent/"
ADDRESS = {"city": "Tripoli"}


@pytest.fixture
def placed(signed_gateway, make_variant, cart_with):
    """An order of ``store`` checked out with the signed gateway, and its payment."""

    def make(store):
        signed_gateway.configure(store)
        cart = cart_with((make_variant(store=store, stock=5), 1), store=store)
        return services.checkout_complete(store=store, cart=cart, email="buyer@example.com",
                                          shipping_address=ADDRESS, payment_method=NAME)

    return make


def event_for(payment, event_id: str, *, status="pending", outcome="paid") -> WebhookEvent:
    return WebhookEvent.objects.create(
        store=payment.store, gateway=NAME, event_id=event_id, event_type="payment.succeeded", status=status,
        payload={"body": {"id": event_id}, "notification": {
            "event_id": event_id, "event_type": "payment.succeeded", "outcome": outcome,
            "order_number": payment.order.number, "reference": payment.reference, "amount": str(payment.amount),
            "currency": payment.currency}})


def messages_of(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_members_see_their_stores_events_read_only(store, other_store, placed, admin_login, member_factory):
    _, payment = placed(store)
    _, theirs = placed(other_store)
    mine = event_for(payment, "evt_mine", status="processed")
    other = event_for(theirs, "evt_theirs", status="failed")
    client = admin_login(member_factory(store, "staff"))

    listed = client.get(EVENTS)
    page = client.get(f"{EVENTS}{mine.pk}/change/")

    assert [row.pk for row in listed.context["cl"].result_list] == [mine.pk]
    assert page.status_code == 200
    assert "evt_mine" in page.content.decode() and "<pre>" in page.content.decode()
    assert client.get(f"{EVENTS}{other.pk}/change/").status_code == 302  # "doesn't exist", back to the list
    assert client.get(f"{EVENTS}add/").status_code == 403
    assert client.post(f"{EVENTS}{mine.pk}/delete/").status_code == 403


def test_replay_processes_a_failed_event_through_the_service(store, other_store, placed, admin_login):
    # given a failed event (the order could not be paid then) and an event that was processed
    order, payment = placed(store)
    failed = event_for(payment, "evt_failed", status="failed")
    processed = event_for(payment, "evt_done", status="processed")
    _, theirs = placed(other_store)
    their_failed = event_for(theirs, "evt_their_failed", status="failed")
    client = admin_login(store.owner)
    # when the owner replays them
    response = client.post(EVENTS, {"action": "replay", "_selected_action": [failed.pk, processed.pk]}, follow=True)
    # then the failed one is applied once, the other refused with its reason
    text = messages_of(response)
    assert "1 event(s) replayed." in text
    assert "evt_done: Only a failed event is replayed; this one is processed." in text
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.payment_id) == ("processed", 1, payment.pk)
    assert Payment.objects.get(pk=payment.pk).status == "paid"
    assert Order.objects.get(pk=order.pk).status == "processing"
    replayed = AuditLog.objects.get(action="payment_webhook.replayed")
    assert replayed.actor_user == store.owner and replayed.changes["status"] == "processed"
    # and another store's event cannot be replayed from here
    client.post(EVENTS, {"action": "replay", "_selected_action": [their_failed.pk]})
    their_failed.refresh_from_db()
    assert their_failed.status == "failed"


def test_a_viewer_cannot_replay(store, placed, admin_login, member_factory):
    _, payment = placed(store)
    failed = event_for(payment, "evt_failed", status="failed")
    viewer = admin_login(member_factory(store, "viewer"))

    viewer.post(EVENTS, {"action": "replay", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    assert failed.status == "failed"


# --- health ---------------------------------------------------------------------------------------------------
def test_payments_health_is_for_platform_staff(api, store, other_store, placed, client_for, user_factory,
                                               django_capture_on_commit_callbacks):
    # given: the signed gateway configured in both stores, one payment paid, one failed, events pending and failed
    _, paid = placed(store)
    _, declined = placed(other_store)
    Payment.objects.filter(pk=declined.pk).update(status="failed")
    event_for(paid, "evt_waiting")
    event_for(paid, "evt_broken", status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_process(event_id=event_for(paid, "evt_paid").pk)
    staff = client_for(user_factory(is_staff=True))

    response = staff.get("/api/v1/payments/health")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data[NAME] == {"configured_stores": 2, "succeeded_last_hour": 1, "failed_last_hour": 1,
                          "webhooks_pending": 1, "webhooks_failed": 1}
    assert data["cod"]["configured_stores"] == 2  # on by default
    assert api.get("/api/v1/payments/health").status_code == 401
    assert client_for(store.owner).get("/api/v1/payments/health").status_code == 403
