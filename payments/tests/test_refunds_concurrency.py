"""Refunds racing on PostgreSQL, real threads on their own connections: never more than was paid goes back, and no
row stays locked while a gateway is on the line."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from rest_framework.test import APIClient

from config.api.errors import DomainError
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders.models import Order
from payments import services
from payments.models import Payment, Refund
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def succeeded_total(payment) -> Decimal:
    return Refund.objects.filter(payment=payment, status="succeeded").aggregate(total=Sum("amount"))["total"] or 0


def test_refunds_racing_for_the_last_remainder_never_exceed_what_was_paid(store, paid):
    WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/r", events=["order.refunded"],
                                   secret="s" * 32)
    for _ in range(3):  # a few rounds: each race can fall either way
        # given 20.00 paid, 14.00 refunded already: 6.00 remains
        order, payment = paid("cod")
        services.payment_refund(payment=payment, amount="14.00")
        # when 8 refunds race, 4 of 6.00 and 4 of 3.00
        amounts = ["6.00", "3.00"] * 4
        results = race(*(lambda amount=amount, payment=payment: services.payment_refund(payment=payment, amount=amount)
                         for amount in amounts))
        # then what succeeded is at most the remainder, the rest was refused as more than remains
        assert all(isinstance(result, Refund) or getattr(result, "code", "") == "VALIDATION_ERROR"
                   for result in results), results
        won = [result for result in results if isinstance(result, Refund)]
        assert sum(refund.amount for refund in won) in {Decimal("6.00")}, won
        payment.refresh_from_db()
        order.refresh_from_db()
        assert succeeded_total(payment) == payment.refunded_amount == payment.amount == Decimal("20.00")
        assert (payment.status, order.status, order.payment_status) == ("refunded", "refunded", "refunded")
        assert not Refund.objects.filter(payment=payment, status="pending").exists()
    assert WebhookDelivery.objects.count() == 3  # one order.refunded per order


def test_refunds_racing_with_failures_give_back_what_failed(store, paid, testpay):
    for _ in range(3):
        # given 20.00 paid by card
        order, payment = paid("testpay")
        # when 10 refunds of 7.00 race, half of which the gateway declines or cannot send
        reasons = ["ok", "decline", "ok", "fail", "ok", "decline", "ok", "fail", "ok", "ok"]
        results = race(*(lambda reason=reason, payment=payment: services.payment_refund(
            payment=payment, amount="7.00", reason=reason) for reason in reasons))
        # then nothing more than was paid succeeded, every failure gave its claim back, nothing is left pending
        assert all(isinstance(result, Refund | DomainError) for result in results), results
        payment.refresh_from_db()
        total = succeeded_total(payment)
        assert total <= payment.amount
        assert payment.refunded_amount == total
        assert not Refund.objects.filter(payment=payment, status="pending").exists()
        assert all(refund.status == "failed" for refund in Refund.objects.filter(payment=payment)
                   if refund.reason != "ok")
        order.refresh_from_db()
        assert order.payment_status == ("partially_refunded" if total else "paid")


def test_no_row_is_locked_while_the_gateway_is_on_the_line(store, paid, testpay):
    # given a card payment of 20.00 and a gateway that holds its refunds until the test lets them go
    order, payment = paid("testpay")
    testpay.gate = threading.Event()
    outcome = {}

    def refund():
        try:
            outcome["refund"] = services.payment_refund(payment=payment, amount="12.00")
        finally:
            connection.close()

    worker = threading.Thread(target=refund)
    worker.start()
    try:
        assert testpay.started.wait(timeout=10)
        # while it is at the gateway: the payment and the order can be locked at once (NOWAIT would fail otherwise)
        with transaction.atomic():
            Payment.objects.select_for_update(nowait=True).get(pk=payment.pk)
            Order.objects.select_for_update(nowait=True).get(pk=order.pk)
        # its 12.00 is claimed: a refund of more than the 8.00 left is refused, 8.00 goes through (cod-like: no gate)
        payment.refresh_from_db()
        assert payment.refunded_amount == Decimal("12.00")
        with pytest.raises(DomainError, match="More than remains"):
            services.refund_create(payment=payment, amount="8.01")
    finally:
        testpay.gate.set()
        worker.join(timeout=30)
    assert outcome["refund"].status == "succeeded"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("12.00"))


def test_concurrent_api_refunds_with_one_idempotency_key_refund_once(store, paid, testpay):
    # given a card payment of 20.00, and a client that sends its refund 4 times at once with one key
    order, payment = paid("testpay")
    client = APIClient()
    client.force_authenticate(store.owner)
    url = f"/api/v1/stores/{store.slug}/payments/{payment.pk}/refunds"

    def send():
        response = APIClient()
        response.force_authenticate(store.owner)
        answer = response.post(url, {"amount": "5.00", "reason": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="one-key")
        return answer.status_code

    statuses = race(*(send for _ in range(4)))

    # then one refund was made; the others replayed its answer, or were told it is still being processed
    assert Refund.objects.filter(payment=payment).count() == 1
    assert set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) >= 1
    replay = client.post(url, {"amount": "5.00", "reason": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="one-key")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("5.00")
    assert len(testpay.calls) == 1


def test_a_refund_and_a_gateways_refund_notification_at_once_never_deadlock(store, paid, testpay):
    # the webhook pipeline holds the order, then the payment (payments.services.webhooks); a refund settling at the
    # same moment must take them in the same order, or one of the two dies in a deadlock
    for round_number in range(8):
        order, payment = paid("testpay", price="30.00", quantity=1)

        def notified(order=order, payment=payment, number=round_number):  # a refund made at Stripe's dashboard
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                return services.refund_from_gateway(payment=payment, reference=f"re_dash_{number}",
                                                    amount=Decimal("5.00"))

        def refunded(payment=payment):
            return services.payment_refund(payment=payment, amount="10.00")

        results = race(notified, refunded)

        assert all(isinstance(result, Refund) for result in results), results
        payment.refresh_from_db()
        assert (payment.refunded_amount, succeeded_total(payment)) == (Decimal("15.00"), Decimal("15.00"))
        assert Refund.objects.filter(payment=payment, status="succeeded").count() == 2
