"""Gateways' notifications end to end, through the signed test gateway: POST payments/webhooks/{gateway}/{store}
verifies, stores once and answers in the gateway's form; the worker (eager here) applies the event once, whatever
the order and number of deliveries."""

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from config.api.errors import ValidationFailed
from config.money import money_str
from notifications.models import Notification
from orders.models import CouponUse, Order, OrderEvent
from orders.services import coupon_create, order_cancel, order_hold, order_hold_release, orders_expire
from payments import services
from payments.models import Payment, Refund, WebhookEvent

from .conftest import SECRET
from .signed_gateway import HEADER, NAME, event_body, sign

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture
def place(store, signed_gateway, make_variant, cart_with):
    """An order checked out with the signed gateway: answers (order, payment, variant)."""
    signed_gateway.configure(store)

    def make(*, at=store, price="10.00", stock=5, quantity=1, coupon=None):
        variant = make_variant(store=at, price=price, stock=stock)
        cart = cart_with((variant, quantity), store=at)
        if coupon:
            from orders.services import cart_coupon_apply

            cart_coupon_apply(cart=cart, code=coupon)
        order, payment = services.checkout_complete(store=at, cart=cart, email="buyer@example.com",
                                                    shipping_address=ADDRESS, payment_method=NAME)
        return order, payment, variant

    return make


@pytest.fixture
def deliver(api, store, django_capture_on_commit_callbacks):
    """Posts a gateway event to the store's webhook URL, signed with ``secret``, and runs what it enqueued."""

    def send(body: bytes, *, at=store, secret=SECRET, signature=None, gateway=NAME, content_type="application/json"):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(f"/api/v1/payments/webhooks/{gateway}/{at.slug}", data=body, content_type=content_type,
                            **{f"HTTP_{HEADER.upper().replace('-', '_')}": signature or sign(secret, body)})

    return send


def paid_body(payment, event_id="evt_paid", *, amount=None, currency=None, **extra) -> bytes:
    return event_body(event_id, "payment.succeeded", order=payment.order.number, reference=payment.reference,
                      amount=money_str(payment.amount, payment.currency) if amount is None else amount,
                      currency=currency or payment.currency, **extra)


def failed_body(payment, event_id="evt_failed", message="Card declined") -> bytes:
    return event_body(event_id, "payment.failed", order=payment.order.number, reference=payment.reference,
                      amount=money_str(payment.amount, payment.currency), currency=payment.currency, message=message,
                      card="fp_123")


def state(order, payment) -> tuple[str, str, str]:
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status, order.payment_status, payment.status


# --- receiving --------------------------------------------------------------------------------------------------
def test_a_signed_success_pays_the_order_once_and_answers_in_the_gateways_form(store, place, deliver):
    # given a card order waiting for the gateway
    order, payment, variant = place()
    assert state(order, payment) == ("pending", "unpaid", "pending")
    # when the gateway says it succeeded
    response = deliver(paid_body(payment, card="fp_visa"))
    # then the answer is the gateway's own, not the envelope
    assert response.status_code == 200
    assert response.json() == {"received": "yes"}
    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.paid_at is not None and payment.card_fingerprint == "fp_visa"
    event = WebhookEvent.objects.get()
    assert (event.store, event.gateway, event.event_id, event.event_type) == (store, NAME, "evt_paid",
                                                                           "payment.succeeded")
    assert (event.status, event.attempts, event.payment, event.error) == ("processed", 1, payment, "")
    assert event.payload["body"]["id"] == "evt_paid"
    assert event.payload["notification"]["amount"] == "10.00"
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.filter(action="payment.paid", object_id=str(payment.pk)).count() == 1
    assert Notification.objects.filter(user=store.owner, event_type="order.paid").count() == 1
    variant.refresh_from_db()
    assert variant.reserved == 1  # the order keeps its stock


def test_the_same_event_ten_times_has_one_effect(store, place, deliver):
    order, payment, _ = place()
    body = paid_body(payment)

    answers = [deliver(body) for _ in range(10)]

    assert [answer.status_code for answer in answers] == [200] * 10
    assert all(answer.json() == {"received": "yes"} for answer in answers)
    assert WebhookEvent.objects.count() == 1
    assert WebhookEvent.objects.get().attempts == 1
    assert state(order, payment) == ("processing", "paid", "paid")
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert AuditLog.objects.filter(action="order.paid").count() == 1
    assert Notification.objects.filter(user=store.owner, event_type="order.paid").count() == 1


def test_a_forged_signature_is_400_stores_nothing_and_logs_a_security_line(store, place, deliver, caplog):
    order, payment, _ = place()
    body = paid_body(payment)

    with caplog.at_level(logging.WARNING, logger="security"):
        forged = deliver(body, secret="not-the-stores-secret")
        unsigned = deliver(body, signature="-")

    for response in (forged, unsigned):
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and "signature" in error["details"]
    assert not WebhookEvent.objects.exists()
    assert state(order, payment) == ("pending", "unpaid", "pending")
    lines = [record for record in caplog.records if record.name == "security"]
    assert len(lines) == 2
    assert (lines[0].store, lines[0].gateway) == (store.slug, NAME)
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in lines)
    assert SECRET not in logged and "evt_paid" not in logged and payment.order.number not in logged
    # and the store's security log has both (auditlog.security)
    from auditlog.models import SecurityEvent

    events = list(SecurityEvent.objects.order_by("pk"))
    assert [(event.kind, event.store_id) for event in events] == [("webhook_signature_invalid", store.pk)] * 2
    assert events[0].details["gateway"] == NAME and events[0].details["source"] == "payment webhook"
    assert SECRET not in str(events[0].details) and events[0].ip == "127.0.0.1"


def test_a_body_changed_after_signing_is_refused(place, deliver):
    _, payment, _ = place()
    body = paid_body(payment)
    tampered = body.replace(b'"10.00"', b'"0.01"')

    response = deliver(tampered, signature=sign(SECRET, body))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_unknown_stores_and_gateways_are_404_and_gateways_without_notifications_400(store, place, deliver, api):
    _, payment, _ = place()
    body = paid_body(payment)

    assert api.post("/api/v1/payments/webhooks/signedpay/no-such-store", data=body,
                    content_type="application/json").status_code == 404
    assert deliver(body, gateway="no-such-gateway").status_code == 404
    assert deliver(body, gateway="cod").status_code == 400
    assert api.get(f"/api/v1/payments/webhooks/{NAME}/{store.slug}").status_code == 405
    assert not WebhookEvent.objects.exists()


def test_any_content_type_is_verified_over_the_raw_body(place, deliver):
    order, payment, _ = place()

    response = deliver(paid_body(payment), content_type="text/plain")

    assert response.status_code == 200
    assert state(order, payment)[2] == "paid"


def test_a_store_without_credentials_refuses_every_notification(store, other_store, signed_gateway, place, deliver):
    _, payment, _ = place()  # configured in ``store`` only

    response = deliver(paid_body(payment), at=other_store)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_stores_secret_moves_only_its_own_orders(store, other_store, signed_gateway, place, deliver):
    # given an order in store A, and store B (say, a malicious merchant) with a secret of its own
    order, payment, _ = place()
    signed_gateway.configure(other_store, secret="b-secret")
    # when B signs a success naming A's order and reference and posts it to B's URL
    response = deliver(paid_body(payment), at=other_store, secret="b-secret")
    # then it is stored for B and matches nothing: A's order is untouched
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.store, event.status, event.payment) == (other_store, "ignored", None)
    assert "No payment of this store matches" in event.error
    assert state(order, payment) == ("pending", "unpaid", "pending")
    # and A's own URL refuses B's signature
    assert deliver(paid_body(payment, "evt_other"), secret="b-secret").status_code == 400


def test_another_store_taking_an_event_id_first_does_not_hide_the_genuine_event(store, other_store, signed_gateway,
                                                                               place, deliver):
    # given store B (a malicious merchant) posting, signed with its own secret, an event id A's gateway will use next
    order, payment, _ = place()
    signed_gateway.configure(other_store, secret="b-secret")
    assert deliver(paid_body(payment, "evt_next"), at=other_store, secret="b-secret").status_code == 200
    # when A's genuine event with that id arrives
    response = deliver(paid_body(payment, "evt_next"))
    # then it is stored for A and pays A's order; B's is B's own, matching nothing
    assert response.status_code == 200
    assert state(order, payment) == ("processing", "paid", "paid")
    assert set(WebhookEvent.objects.values_list("store__slug", "status")) == {
        (other_store.slug, "ignored"), (store.slug, "processed")}


# --- converging -------------------------------------------------------------------------------------------------
def test_a_failure_fails_the_payment_and_tells_the_store(store, place, deliver):
    order, payment, _ = place()

    response = deliver(failed_body(payment))

    assert response.status_code == 200
    assert state(order, payment) == ("pending", "unpaid", "failed")
    assert (payment.failure_reason, payment.card_fingerprint) == ("Card declined", "fp_123")
    assert AuditLog.objects.filter(action="payment.failed").count() == 1
    notification = Notification.objects.get(user=store.owner, event_type="payment.failed")
    assert order.number in notification.title + notification.body


def test_a_failure_after_the_success_changes_nothing(place, deliver):
    order, payment, _ = place()
    deliver(paid_body(payment))

    deliver(failed_body(payment))

    assert state(order, payment) == ("processing", "paid", "paid")
    event = WebhookEvent.objects.get(event_id="evt_failed")
    assert event.status == "processed" and "paid already" in event.error
    assert not AuditLog.objects.filter(action="payment.failed").exists()


def test_a_success_after_a_failure_wins(place, deliver):
    order, payment, _ = place()
    deliver(failed_body(payment))

    deliver(paid_body(payment))

    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.failure_reason == ""


def test_processing_then_success_out_of_order(place, deliver):
    order, payment, _ = place()
    deliver(event_body("evt_processing", "payment.processing", order=order.number, reference=payment.reference))
    assert state(order, payment)[2] == "processing"
    deliver(paid_body(payment))
    deliver(event_body("evt_processing_late", "payment.processing", order=order.number,
                       reference=payment.reference))

    assert state(order, payment) == ("processing", "paid", "paid")


def test_a_payment_is_found_by_order_number_when_its_gateway_reference_is_learnt_late(place, deliver):
    # given a payment whose gateway gave no id at start (a hosted page assigns it when the buyer pays)
    order, payment, _ = place()
    Payment.objects.filter(pk=payment.pk).update(reference="")

    deliver(event_body("evt_1", "payment.succeeded", order=order.number.lower().replace("-", ""),
                       amount="10.00", currency="USD", reference="gw-123"))

    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "gw-123"


def test_a_success_of_a_new_transaction_after_a_decline_pays_the_same_payment(place, deliver):
    # given a hosted page whose first card was declined (the gateway's reference names that transaction)
    order, payment, _ = place()
    Payment.objects.filter(pk=payment.pk).update(reference="")
    deliver(event_body("evt_1", "payment.failed", order=order.number, reference="ord:tx1", message="Declined"))
    assert state(order, payment)[2] == "failed" and payment.reference == "ord:tx1"
    # when the buyer's second card, a new transaction, succeeds
    deliver(event_body("evt_2", "payment.succeeded", order=order.number, reference="ord:tx2", amount="10.00",
                       currency="USD"))
    # then the payment is paid, naming the transaction that paid (what a refund needs)
    assert state(order, payment) == ("processing", "paid", "paid")
    assert payment.reference == "ord:tx2"


# --- amounts ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("amount", "currency", "said"), [
    ("9.99", "USD", "took 9.99 USD, expected 10.00 USD"),
    ("10.00", "EUR", "took 10.00 EUR, expected 10.00 USD"),
    (None, "", "did not say what it took"),
])
def test_an_amount_or_currency_that_does_not_match_holds_the_order_and_never_pays(place, deliver, amount, currency,
                                                                                  said):
    order, payment, _ = place()
    body = event_body("evt_odd", "payment.succeeded", order=order.number, reference=payment.reference,
                      amount=amount, currency=currency)

    assert deliver(body).status_code == 200

    assert state(order, payment) == ("pending", "unpaid", "pending")
    assert said in order.hold_reason
    event = WebhookEvent.objects.get()
    assert (event.status, event.error) == ("held", order.hold_reason)
    assert OrderEvent.objects.filter(order=order, kind="held").count() == 1
    assert not OrderEvent.objects.filter(order=order, kind="paid").exists()
    # the expiry job leaves the held order alone
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    assert orders_expire() == 0


def test_a_success_for_a_held_order_waits_for_the_review_then_applies(place, deliver):
    # given an order held by a fraud check before the gateway reported
    order, payment, _ = place()
    order_hold(order=order, reason="Velocity: too many failed payments for this card.")
    # when the success arrives
    deliver(paid_body(payment))
    # then it is recorded, not applied
    event = WebhookEvent.objects.get()
    assert event.status == "held" and "held for review" in event.error
    assert state(order, payment) == ("pending", "unpaid", "pending")
    # a second delivery of it does not apply it either
    deliver(paid_body(payment))
    assert state(order, payment) == ("pending", "unpaid", "pending")
    # when a member approves: the hold released, the held success applied
    order_hold_release(order=order, note="Checked with the buyer")
    services.webhook_event_process(event_id=event.pk, review_approved=True)
    assert state(order, payment) == ("processing", "paid", "paid")
    event.refresh_from_db()
    assert event.status == "processed" and event.attempts == 2


# --- after the reservation ran out ------------------------------------------------------------------------------
def _expire(order) -> None:
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    assert orders_expire() == 1


def test_a_success_after_the_reservation_expired_reserves_again(store, place, deliver):
    coupon_create(store=store, code="TEN", kind="percent", value="10", usage_limit=5)
    order, payment, variant = place(quantity=2, coupon="TEN")
    _expire(order)
    assert state(order, payment) == ("cancelled", "unpaid", "cancelled")
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert not CouponUse.objects.filter(order=order).exists()

    deliver(paid_body(payment))

    assert state(order, payment) == ("processing", "paid", "paid")
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (5, 2)
    assert list(InventoryMovement.objects.filter(order=order).order_by("pk").values_list("reason", "reserved_delta")) \
        == [("reserve", 2), ("release", -2), ("reserve", 2)]
    assert list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("kind", "to_status")) == [
        ("created", "pending"), ("status", "cancelled"), ("reinstated", "pending"), ("paid", "processing")]
    assert CouponUse.objects.filter(order=order).count() == 1
    assert order.coupon.used_count == 1
    assert AuditLog.objects.filter(action="order.reinstated").count() == 1


def test_a_success_after_the_reservation_expired_and_the_stock_went_holds_the_order(store, place, deliver,
                                                                                   cart_with):
    order, payment, variant = place(stock=1)
    _expire(order)
    # someone else buys the last unit meanwhile
    services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="other@example.com",
                               shipping_address=ADDRESS, payment_method="bank_transfer")

    deliver(paid_body(payment))

    # never paid with no stock: held, and it says so
    assert state(order, payment) == ("cancelled", "unpaid", "cancelled")
    assert "stock is gone" in order.hold_reason and variant.sku in order.hold_reason
    event = WebhookEvent.objects.get()
    assert (event.status, event.error) == ("held", order.hold_reason)
    variant.refresh_from_db()
    assert variant.reserved == 1  # the other buyer's
    assert InventoryMovement.objects.filter(order=order, reason="reserve").count() == 1  # checkout's only


def test_a_success_after_the_buyer_cancelled_holds_the_order(place, deliver):
    order, payment, variant = place()
    order_cancel(order=order, by_customer=True)

    deliver(paid_body(payment))

    assert state(order, payment) == ("cancelled", "unpaid", "cancelled")
    assert order.hold_reason.startswith("Paid after the order was cancelled")
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_a_second_payment_of_a_paid_order_is_recorded_and_the_order_held(store, place, deliver):
    order, first, _ = place()
    second = Payment.objects.create(store=store, order=order, gateway=NAME, amount=first.amount,
                                    currency=first.currency, reference="sp_second")
    deliver(paid_body(first))

    deliver(paid_body(second, "evt_second"))

    assert state(order, second) == ("processing", "paid", "paid")
    assert order.hold_reason.startswith(f"Paid twice: payment #{second.pk}")
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1


# --- refunds ----------------------------------------------------------------------------------------------------
def refund_body(payment, event_id, refund, amount, kind="refund.succeeded", message="") -> bytes:
    return event_body(event_id, kind, order=payment.order.number, reference=payment.reference, refund=refund,
                      refund_amount=amount, message=message)


def test_a_refund_notification_settles_the_refund_made_here_once(store, place, deliver):
    # given a paid order and a refund of 4.00 of it on its way to the gateway (claimed, no reference yet)
    order, payment, _ = place()
    deliver(paid_body(payment))
    refund = services.refund_create(payment=payment, amount="4.00", reason="Scratched")
    body = refund_body(payment, "evt_refund", "re_1", "4.00")
    # when the gateway confirms it, twice
    deliver(body)
    deliver(body)
    # then the refund is settled once, with the gateway's reference, and the payment partly refunded
    refund.refresh_from_db()
    assert (refund.status, refund.reference) == ("succeeded", "re_1")
    assert state(order, payment) == ("processing", "partially_refunded", "partially_refunded")
    assert AuditLog.objects.filter(action="refund.succeeded").count() == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_refund_made_at_the_gateways_dashboard_is_recorded(place, deliver):
    order, payment, _ = place()
    deliver(paid_body(payment))

    deliver(refund_body(payment, "evt_refund", "re_dashboard", "10.00"))

    refund = Refund.objects.get(payment=payment)
    assert (refund.status, refund.reference, refund.amount) == ("succeeded", "re_dashboard", Decimal("10.00"))
    assert state(order, payment) == ("refunded", "refunded", "refunded")
    payment.refresh_from_db()
    assert payment.refunded_amount == payment.amount


def test_a_refunds_failure_gives_the_amount_back(place, deliver):
    order, payment, _ = place()
    deliver(paid_body(payment))
    refund = services.refund_create(payment=payment, amount="10.00", reason="Return")
    Refund.objects.filter(pk=refund.pk).update(reference="re_2")  # the gateway answered "pending" with its id

    deliver(refund_body(payment, "evt_refund_failed", "re_2", "10.00", kind="payment.failed",
                        message="Insufficient balance"))

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "Insufficient balance")
    assert (payment.status, payment.refunded_amount) == ("paid", Decimal("0"))
    assert state(order, payment) == ("processing", "paid", "paid")


def test_a_refund_that_cannot_be_told_yet_is_retried(place, deliver):
    # given two refunds of ours on their way (no gateway reference yet)
    order, payment, _ = place()
    deliver(paid_body(payment))
    first = services.refund_create(payment=payment, amount="3.00")
    services.refund_create(payment=payment, amount="3.00")
    # when the gateway reports one of them
    deliver(refund_body(payment, "evt_refund", "re_3", "3.00"))
    # then the event waits, saying why
    event = WebhookEvent.objects.get(event_id="evt_refund")
    assert (event.status, event.attempts, event.processed_at) == ("pending", 1, None)
    assert "still being sent" in event.error
    # and once ours has the reference (its gateway call returned), the retry settles it
    Refund.objects.filter(pk=first.pk).update(reference="re_3")
    services.webhook_event_process(event_id=event.pk)
    first.refresh_from_db()
    event.refresh_from_db()
    assert (first.status, event.status) == ("succeeded", "processed")


# --- nothing to do, failures, replay ----------------------------------------------------------------------------
def test_other_event_types_and_unknown_orders_are_ignored(place, deliver):
    order, payment, _ = place()

    deliver(event_body("evt_other", "customer.created"))
    deliver(event_body("evt_unknown", "payment.succeeded", order="ZZZZZ-ZZZZZ", amount="10.00", currency="USD"))

    assert dict(WebhookEvent.objects.values_list("event_id", "status")) == {"evt_other": "ignored",
                                                                            "evt_unknown": "ignored"}
    assert state(order, payment) == ("pending", "unpaid", "pending")


def test_a_processing_error_marks_the_event_failed_and_a_replay_applies_it(store, place, deliver):
    # given an order in a state the payment cannot be applied to (its payment status set behind the services)
    order, payment, _ = place()
    Order.objects.filter(pk=order.pk).update(payment_status="failed")
    # when the success arrives
    assert deliver(paid_body(payment)).status_code == 200
    # then the event failed and says why; the payment is rolled back with it
    event = WebhookEvent.objects.get()
    assert event.status == "failed" and "cannot be paid" in event.error and event.attempts == 1
    assert state(order, payment) == ("pending", "failed", "pending")
    # a replay of a failed event, once the data is right, applies it
    Order.objects.filter(pk=order.pk).update(payment_status="unpaid")
    replayed = services.webhook_event_replay(event=event)
    assert (replayed.status, replayed.attempts, replayed.error) == ("processed", 2, "")
    assert state(order, payment) == ("processing", "paid", "paid")
    # a processed event is not replayed
    with pytest.raises(ValidationFailed):
        services.webhook_event_replay(event=replayed)


def test_events_left_pending_are_resumed(store, place, django_capture_on_commit_callbacks):
    # given an event stored whose task never ran (the broker was down)
    order, payment, _ = place()
    event = WebhookEvent.objects.create(store=store, gateway=NAME, event_id="evt_lost", event_type="payment.succeeded",
                                        payload={"notification": json.loads(json.dumps({
                                            "event_id": "evt_lost", "event_type": "payment.succeeded",
                                            "outcome": "paid", "order_number": order.number,
                                            "reference": payment.reference, "amount": "10.00",
                                            "currency": "USD"}))})
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_resume() == 0  # too recent: its task may be on its way
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    # when the periodic job runs
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_resume() == 1
    # then it is processed
    event.refresh_from_db()
    assert event.status == "processed"
    assert state(order, payment) == ("processing", "paid", "paid")


# --- a cancelled order's payment ---------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["expiry", "buyer", "member"])
def test_a_cancelled_orders_open_payment_is_cancelled(store, place, how):
    order, payment, _ = place()

    if how == "expiry":
        _expire(order)
    else:
        order_cancel(order=order, by_customer=how == "buyer", actor=None if how == "buyer" else store.owner)

    assert state(order, payment) == ("cancelled", "unpaid", "cancelled")
    entry = AuditLog.objects.get(action="payment.cancelled")
    assert entry.object_id == str(payment.pk) and entry.changes["status"] == ["pending", "cancelled"]


def test_a_paid_payment_stays_paid_when_its_order_is_cancelled(store, place, deliver):
    order, payment, _ = place()
    deliver(paid_body(payment))

    order_cancel(order=order, actor=store.owner)

    assert state(order, payment) == ("cancelled", "paid", "paid")
    assert not AuditLog.objects.filter(action="payment.cancelled").exists()
