"""Refunds through payments.services: never more than remains, the payment's and the order's status, the gateway's
answer (cod and bank transfer paid out by the merchant; the test gateway's success, decline, failure), restock, and
what the gateway's notifications do with the refunds created here."""

from decimal import Decimal

import pytest

from auditlog.models import AuditLog
from catalog.models import InventoryMovement, Variant
from config.api.errors import ValidationFailed
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders.models import OrderEvent
from orders.services import order_transition
from payments import services
from payments.errors import PaymentNotRefundable, RefundInFlight
from payments.models import Payment, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunded_hook(store):
    """An endpoint of the store subscribed to order.refunded: its deliveries are the events sent."""
    return WebhookEndpoint.objects.create(store=store, url="https://hooks.example.com/r", events=["order.refunded"],
                                          secret="s" * 32)


def refunded_events(endpoint) -> list[dict]:
    return [delivery.payload["data"] for delivery in WebhookDelivery.objects.filter(endpoint=endpoint)]


def state(order, payment) -> tuple:
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status, order.payment_status, payment.status, payment.refunded_amount


# --- the money ---------------------------------------------------------------------------------------------------
def test_a_partial_then_the_rest_refunds_the_order_once(store, paid, refunded_hook):
    # given a bank transfer of 20.00, paid
    order, payment = paid("bank_transfer")
    # when 5.00 goes back, then the 15.00 left
    first = services.payment_refund(payment=payment, amount="5.00", reason="Scratched", actor=store.owner)
    assert state(order, payment) == ("processing", "partially_refunded", "partially_refunded", Decimal("5.00"))
    second = services.payment_refund(payment=payment, amount=Decimal("15.00"), actor=store.owner)
    # then both succeeded (paid out by the merchant: no gateway reference), the payment and order are refunded
    assert [(r.status, r.amount, r.reference, r.currency) for r in (first, second)] == [
        ("succeeded", Decimal("5.00"), "", "USD"), ("succeeded", Decimal("15.00"), "", "USD")]
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))
    # one order.refunded, naming the refund that completed it
    (event,) = refunded_events(refunded_hook)
    assert (event["number"], event["status"], event["previous_status"], event["payment_status"]) == (
        order.number, "refunded", "processing", "refunded")
    assert (event["refund_id"], event["amount"], event["refunded_amount"]) == (second.pk, "15.00", "20.00")
    # the order's history and the audit log say what happened
    assert list(OrderEvent.objects.filter(order=order, kind__in=["refund", "status"])
                .values_list("kind", "from_status", "to_status")) == [
        ("refund", "processing", "processing"), ("status", "processing", "refunded")]
    assert [entry.action for entry in AuditLog.objects.filter(action__startswith="refund.").order_by("pk")] == [
        "refund.created", "refund.succeeded", "refund.created", "refund.succeeded"]
    # a processing order's refund gives its reservation back
    assert InventoryMovement.objects.filter(order=order, reason="release").count() == 1


def test_more_than_remains_is_refused_and_changes_nothing(store, paid):
    order, payment = paid("cod")
    services.payment_refund(payment=payment, amount="12.00")

    with pytest.raises(ValidationFailed) as refused:
        services.payment_refund(payment=payment, amount="8.01")

    assert refused.value.details == {"amount": ["At most 8.00 USD remains to refund."]}
    assert Refund.objects.count() == 1
    assert state(order, payment) == ("processing", "partially_refunded", "partially_refunded", Decimal("12.00"))
    # exactly what remains is fine
    services.payment_refund(payment=payment, amount="8.00")
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))
    with pytest.raises(ValidationFailed, match="More than remains"):
        services.payment_refund(payment=payment, amount="0.01")


@pytest.mark.parametrize("amount, message", [
    ("0", "Must be more than 0."), ("-1", "Must be more than 0."), ("1.001", "Too many decimal places for USD."),
    ("abc", "A decimal number, e.g. \"10.00\"."), ("NaN", "Must be more than 0."),
])
def test_an_amount_that_is_not_money_is_refused(paid, amount, message):
    _, payment = paid("cod")

    with pytest.raises(ValidationFailed) as refused:
        services.refund_create(payment=payment, amount=amount)

    assert refused.value.details == {"amount": [message]}
    assert not Refund.objects.exists()


def test_a_lyd_refund_takes_dirhams(store, paid):
    store.currency = "LYD"
    store.save()
    order, payment = paid("cod", price="1.250", quantity=1)

    services.payment_refund(payment=payment, amount="0.125")

    assert state(order, payment)[2:] == ("partially_refunded", Decimal("0.125"))


def test_sums_that_floats_get_wrong_still_fit_exactly(paid):
    # 19.99 - 9.98 is 10.009999999999998 in floating point: SQLite must still take exactly the rest
    order, payment = paid("cod", price="19.99", quantity=1)

    services.payment_refund(payment=payment, amount="9.98")
    services.payment_refund(payment=payment, amount="10.01")

    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("19.99"))


@pytest.mark.parametrize("status", ["pending", "failed", "cancelled"])
def test_a_payment_that_was_never_paid_cannot_be_refunded(store, make_variant, cart_with, status):
    variant = make_variant()
    order, payment = services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="b@example.com",
                                                shipping_address={"city": "Tripoli"}, payment_method="bank_transfer")
    Payment.objects.filter(pk=payment.pk).update(status=status)

    with pytest.raises(PaymentNotRefundable, match=f"A {status} payment cannot be refunded"):
        services.payment_refund(payment=payment, amount="1.00")

    assert not Refund.objects.exists()


def test_a_long_reason_is_refused(paid):
    _, payment = paid("cod")

    with pytest.raises(ValidationFailed) as refused:
        services.refund_create(payment=payment, amount="1.00", reason="x" * 256)

    assert refused.value.details == {"reason": ["At most 255 characters."]}


# --- the gateway -------------------------------------------------------------------------------------------------
def test_a_card_refund_goes_through_its_gateway_and_keeps_its_reference(store, paid, testpay):
    order, payment = paid("testpay")

    refund = services.payment_refund(payment=payment, amount="20.00", reason="Returned")

    assert testpay.calls == [{"payment": payment.pk, "refund": refund.pk, "amount": Decimal("20.00"),
                              "currency": "USD", "enabled": True}]
    assert (refund.status, refund.reference) == ("succeeded", f"tr_{refund.pk}")
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))


@pytest.mark.parametrize("reason, message", [("decline", "Declined by the test gateway."),
                                             ("fail", "The test gateway could not be reached.")])
def test_a_refund_the_gateway_refuses_fails_and_gives_its_amount_back(store, paid, testpay, refunded_hook, reason,
                                                                     message):
    order, payment = paid("testpay")

    refund = services.payment_refund(payment=payment, amount="15.00", reason=reason)

    assert (refund.status, refund.failure_reason) == ("failed", message)
    assert state(order, payment) == ("processing", "paid", "paid", Decimal("0.00"))
    assert AuditLog.objects.get(action="refund.failed").changes["reason"] == message
    assert not refunded_events(refunded_hook)
    # what it claimed can be refunded again
    again = services.payment_refund(payment=payment, amount="20.00")
    assert again.status == "succeeded"
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))


def test_an_unknown_outcome_stays_pending_until_the_gateway_says(store, paid, testpay, refunded_hook):
    # given a gateway that fails in a way that does not say whether it refunded
    order, payment = paid("testpay")
    with pytest.raises(RuntimeError):
        services.payment_refund(payment=payment, amount="20.00", reason="crash")
    refund = Refund.objects.get()
    # then the refund is pending and keeps its amount: nothing more can be refunded meanwhile
    assert (refund.status, refund.reference) == ("pending", "")
    assert state(order, payment) == ("processing", "paid", "paid", Decimal("20.00"))
    with pytest.raises(ValidationFailed) as refused:
        services.refund_create(payment=payment, amount="1.00")
    assert refused.value.details == {
        "amount": ["At most 0.00 USD remains to refund (20.00 USD is being refunded now)."]}
    # when the gateway's notification says it refunded
    settled = services.refund_from_gateway(payment=payment, reference="re_42", amount=Decimal("20.00"))
    # then that refund takes its reference and succeeds, once
    assert (settled.pk, settled.status, settled.reference) == (refund.pk, "succeeded", "re_42")
    assert services.refund_from_gateway(payment=payment, reference="re_42", amount=Decimal("20.00")).pk == refund.pk
    assert Refund.objects.count() == 1
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))
    assert len(refunded_events(refunded_hook)) == 1


def test_the_gateways_answer_and_its_notification_converge(paid, testpay):
    order, payment = paid("testpay")
    refund = services.payment_refund(payment=payment, amount="5.00")
    # the notification of a refund made here, after its answer: nothing changes
    assert services.refund_from_gateway(payment=payment, reference=refund.reference, amount="5.00").pk == refund.pk
    # its notification before its answer: the answer changes nothing
    pending = services.refund_create(payment=payment, amount="7.00")
    services.refund_from_gateway(payment=payment, reference=f"tr_{pending.pk}", amount="7.00")
    services.refund_send(refund=pending)
    assert testpay.calls == [testpay.calls[0]]  # a settled refund is not sent again
    assert Refund.objects.filter(status="succeeded").count() == 2
    assert state(order, payment) == ("processing", "partially_refunded", "partially_refunded", Decimal("12.00"))
    # settling it again changes nothing either
    assert services.refund_settle(refund=pending, succeeded=False, message="late").status == "succeeded"
    assert state(order, payment)[3] == Decimal("12.00")


def test_a_refund_made_at_the_gateway_is_recorded_once(store, paid, testpay, refunded_hook):
    order, payment = paid("testpay")

    made = services.refund_from_gateway(payment=payment, reference="re_dash", amount=Decimal("20.00"))
    services.refund_from_gateway(payment=payment, reference="re_dash", amount=Decimal("20.00"))

    assert (made.status, made.reference, made.reason, made.amount) == (
        "succeeded", "re_dash", "Refunded at the gateway.", Decimal("20.00"))
    assert Refund.objects.count() == 1
    assert state(order, payment) == ("refunded", "refunded", "refunded", Decimal("20.00"))
    assert refunded_events(refunded_hook)[0]["refund_id"] == made.pk
    assert testpay.calls == []
    # a failure of a refund never made here changes nothing
    assert services.refund_from_gateway(payment=payment, reference="re_other", amount="1.00", succeeded=False) is None
    # and one beyond what was paid is refused (the pipeline marks its event failed for a person to look at)
    with pytest.raises(ValidationFailed):
        services.refund_from_gateway(payment=payment, reference="re_more", amount=Decimal("1.00"))


def test_a_notification_naming_no_refund_changes_nothing(paid, testpay):
    # Stripe's charge.refunded says how much was refunded in all, not which refund: its refund.* events say that
    order, payment = paid("testpay")
    services.payment_refund(payment=payment, amount="5.00")

    assert services.refund_from_gateway(payment=payment, reference="", amount=Decimal("5.00")) is None

    assert Refund.objects.count() == 1
    assert state(order, payment)[2:] == ("partially_refunded", Decimal("5.00"))


def test_a_notification_while_two_refunds_are_on_their_way_waits(paid, testpay):
    _, payment = paid("testpay")
    first = services.refund_create(payment=payment, amount="5.00")
    services.refund_create(payment=payment, amount="5.00")

    with pytest.raises(RefundInFlight):
        services.refund_from_gateway(payment=payment, reference="re_x", amount="5.00")

    # once their answers are recorded, the same notification finds its refund
    services.refund_send(refund=first)
    assert services.refund_from_gateway(payment=payment, reference=f"tr_{first.pk}", amount="5.00").pk == first.pk


def test_a_notified_failure_of_a_pending_refund_gives_its_amount_back(paid, testpay):
    order, payment = paid("testpay")
    pending = services.refund_create(payment=payment, amount="5.00")

    failed = services.refund_from_gateway(payment=payment, reference="re_f", amount="5.00", succeeded=False,
                                          message="Insufficient balance")

    assert (failed.pk, failed.status, failed.failure_reason) == (pending.pk, "failed", "Insufficient balance")
    assert state(order, payment) == ("processing", "paid", "paid", Decimal("0.00"))


# --- the order -------------------------------------------------------------------------------------------------
def test_a_cancelled_orders_full_refund_keeps_it_cancelled_and_says_refunded(store, paid, refunded_hook):
    order, payment = paid("cod")
    order_transition(order=order, status="cancelled")

    refund = services.payment_refund(payment=payment, amount="20.00")

    assert state(order, payment) == ("cancelled", "refunded", "refunded", Decimal("20.00"))
    (event,) = refunded_events(refunded_hook)
    assert (event["status"], event["previous_status"], event["refund_id"]) == ("cancelled", "cancelled", refund.pk)


# --- restock ---------------------------------------------------------------------------------------------------
def test_restock_puts_a_completed_orders_units_back_once(store, paid):
    # given a completed order of 2 units (sold: 10 on hand → 8)
    order, payment = paid("cod", quantity=2, stock=10, completed=True)
    variant = Variant.objects.get(pk=order.lines.get().variant_id)
    assert (variant.stock_quantity, variant.reserved) == (8, 0)
    # when a partial refund restocks
    services.payment_refund(payment=payment, amount="5.00", restock=True)
    # then both units are back, with return movements naming the order
    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (10, 0)
    assert list(InventoryMovement.objects.filter(order=order, reason="return")
                .values_list("variant_id", "quantity_delta", "reserved_delta")) == [(variant.pk, 2, 0)]
    # a second restock has nothing to put back: refused, nothing refunded
    with pytest.raises(ValidationFailed) as refused:
        services.payment_refund(payment=payment, amount="15.00", restock=True)
    assert "restock" in refused.value.details
    assert state(order, payment) == ("completed", "partially_refunded", "partially_refunded", Decimal("5.00"))
    # without restock the rest is refunded and the order moves on; the stock stays
    services.payment_refund(payment=payment, amount="15.00")
    assert state(order, payment)[:2] == ("refunded", "refunded")
    variant.refresh_from_db()
    assert variant.stock_quantity == 10


def test_a_full_refund_of_a_completed_order_without_restock_leaves_the_stock(paid):
    order, payment = paid("cod", quantity=2, stock=10, completed=True)

    services.payment_refund(payment=payment, amount="20.00")

    variant = Variant.objects.get(pk=order.lines.get().variant_id)
    assert (variant.stock_quantity, variant.reserved) == (8, 0)
    assert not InventoryMovement.objects.filter(order=order, reason__in=["return", "release"]).exists()


def test_restock_of_a_processing_order_is_its_full_refund(paid):
    order, payment = paid("cod", quantity=2, stock=10)
    variant = Variant.objects.get(pk=order.lines.get().variant_id)

    with pytest.raises(ValidationFailed) as refused:
        services.payment_refund(payment=payment, amount="5.00", restock=True)
    assert refused.value.details["restock"][0].startswith("Its units are still reserved")
    services.payment_refund(payment=payment, amount="20.00", restock=True)

    variant.refresh_from_db()
    assert (variant.stock_quantity, variant.reserved) == (10, 0)
    assert state(order, payment)[:2] == ("refunded", "refunded")
    assert list(InventoryMovement.objects.filter(order=order).order_by("pk").values_list("reason", flat=True)) == [
        "reserve", "release"]
