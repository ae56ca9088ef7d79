"""Fraud checks before a card payment starts: a hit places the order, holds it for review with the reason and starts
no charge; the limits are the store's over the platform's defaults."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from auditlog.models import AuditLog
from catalog.models import InventoryMovement
from config.api.errors import ValidationFailed
from orders.models import Order, OrderEvent
from orders.services import orders_expire
from payments import services
from payments.models import FraudSetting, Payment

pytestmark = pytest.mark.django_db

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}
BUYER = "buyer@example.com"
BUYER_IP = "203.0.113.9"


def checkout_url(store) -> str:
    return f"/api/v1/stores/{store.slug}/checkout"


@pytest.fixture
def place(api, store, make_variant, cart_with):
    """POST checkout of one 25.00 line with ``method`` from ``ip``; answers the response."""

    def make(method="testcard", *, email=BUYER, ip=BUYER_IP, at=store, price="25.00"):
        cart = cart_with((make_variant(store=at, price=price, stock=10), 1), store=at)
        return api.post(checkout_url(at), {"cart": str(cart.pk), "email": email, "shipping_address": ADDRESS,
                                           "payment_method": method}, format="json", REMOTE_ADDR=ip)

    return make


@pytest.fixture
def failed(store, make_variant, cart_with):
    """``failed(n, email=, ip=, card=, minutes_ago=)``: n failed card payments in ``store`` (on one cod order)."""
    orders = {}

    def make(count=1, *, email="other@example.com", ip=None, card="", minutes_ago=1, at=store):
        if at.pk not in orders:
            cart = cart_with((make_variant(store=at, stock=5), 1), store=at)
            orders[at.pk], _ = services.checkout_complete(store=at, cart=cart, email="seed@example.com",
                                                          shipping_address=ADDRESS, payment_method="cod")
        rows = [Payment.objects.create(store=at, order=orders[at.pk], gateway="testcard", status="failed",
                                       amount=Decimal("25.00"), currency="USD", email=email, ip=ip,
                                       card_fingerprint=card) for _ in range(count)]
        Payment.objects.filter(pk__in=[row.pk for row in rows]).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago))
        return rows

    return make


def held_checkout(response, card_gateway):
    """The order of a checkout a fraud check held: placed, held, its payment recorded and not started."""
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    order = Order.objects.get(number=data["number"])
    payment = Payment.objects.get(order=order)
    assert order.hold_reason.startswith("Fraud check:") and order.held_at is not None
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    assert (payment.status, payment.reference, payment.action) == ("pending", "", {})
    assert payment.failure_reason == services.NOT_STARTED
    assert order.number not in card_gateway.started
    assert data["held"] is True and data["hold_reason"] is None  # the reason is for the store's members
    assert "held for review" in response.json()["message"]
    return order


# --- a clean checkout -------------------------------------------------------------------------------------------
def test_a_clean_card_checkout_starts_the_payment_and_records_the_buyer(place, card_gateway):
    response = place()

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    order = Order.objects.get(number=data["number"])
    payment = Payment.objects.get(order=order)
    assert card_gateway.started == [order.number]
    assert (order.hold_reason, data["held"]) == ("", False)
    assert (payment.email, payment.ip, payment.failure_reason) == (BUYER, BUYER_IP, "")
    assert payment.reference and payment.action == {"redirect_url": f"https://pay.example/{order.number}"}
    assert response.json().get("message") is None


# --- velocity ---------------------------------------------------------------------------------------------------
def test_failed_payments_from_the_same_email_hold_the_next_order(place, failed, card_gateway):
    # given three failed payments from the buyer's email (any case) in the last hour: the default limit
    failed(3, email="Buyer@Example.com")
    # when they check out with a card
    response = place()
    # then the order is placed, reserved and held, and nothing was charged
    order = held_checkout(response, card_gateway)
    assert order.hold_reason == ("Fraud check: 3 failed payments from buyer@example.com in the last 60 minutes "
                                 "(limit 3).")
    assert InventoryMovement.objects.filter(order=order, reason="reserve").count() == 1
    event = OrderEvent.objects.get(order=order, kind="held")
    assert (event.note, event.actor_label) == (order.hold_reason, "system")
    assert AuditLog.objects.filter(action="order.held", object_id=str(order.pk)).count() == 1
    payment = Payment.objects.get(order=order)
    assert AuditLog.objects.get(action="payment.created", object_id=str(payment.pk)).changes["held"] is True


def test_fewer_failures_than_the_limit_or_older_ones_do_not_hold(place, failed, card_gateway):
    failed(2, email=BUYER)
    failed(5, email=BUYER, minutes_ago=61)

    response = place()

    assert response.status_code == 201
    assert response.json()["data"]["held"] is False
    assert len(card_gateway.started) == 1


def test_failed_payments_from_the_same_ip_hold_the_next_order(place, failed, card_gateway):
    failed(5, ip=BUYER_IP)

    held = place()
    other_ip = place(ip="198.51.100.1")

    order = held_checkout(held, card_gateway)
    assert order.hold_reason == (f"Fraud check: 5 failed payments from the IP address {BUYER_IP} in the last 60 "
                                 "minutes (limit 5).")
    assert other_ip.json()["data"]["held"] is False


def test_a_card_that_failed_elsewhere_holds_the_buyer_who_used_it(place, failed, card_gateway):
    # given a card that failed twice for other buyers and once for this one (under every per-buyer limit)
    failed(2, email="x@example.com", card="fp_stolen")
    failed(1, email=BUYER, card="fp_stolen")
    # when this buyer checks out again
    response = place()
    # then the card's three failures hold the order
    order = held_checkout(response, card_gateway)
    assert order.hold_reason == "Fraud check: 3 failed payments with the same card in the last 60 minutes (limit 3)."


def test_the_card_check_counts_the_cards_it_is_given(store, failed):
    failed(3, email="x@example.com", card="fp_1")

    hit = services.fraud_screen(store=store, amount=Decimal("1"), currency="USD", card_fingerprints=["fp_1"])
    clear = services.fraud_screen(store=store, amount=Decimal("1"), currency="USD", card_fingerprints=["fp_2"])

    assert hit.endswith("with the same card in the last 60 minutes (limit 3).") and clear is None


def test_another_stores_failures_do_not_count(place, failed, other_store, card_gateway):
    failed(10, email=BUYER, ip=BUYER_IP, card="fp_1", at=other_store)

    response = place()

    assert response.json()["data"]["held"] is False


def test_offline_methods_are_not_screened(place, failed, card_gateway):
    failed(10, email=BUYER, ip=BUYER_IP)

    cod = place("cod")
    bank = place("bank_transfer")

    assert [cod.json()["data"]["held"], bank.json()["data"]["held"]] == [False, False]
    assert not Order.objects.exclude(hold_reason="").exists()


# --- the amount ceiling -----------------------------------------------------------------------------------------
def test_a_total_above_the_stores_ceiling_is_held(store, place, card_gateway):
    services.fraud_setting_update(store=store, amount_ceiling=Decimal("20.00"))

    over = place(price="20.01")
    at_ceiling = place(price="20.00")

    order = held_checkout(over, card_gateway)
    assert order.hold_reason == "Fraud check: the total 20.01 USD is above the store's ceiling of 20.00 USD."
    assert at_ceiling.json()["data"]["held"] is False


# --- the limits -------------------------------------------------------------------------------------------------
@override_settings(FRAUD_WINDOW_MINUTES=10, FRAUD_MAX_FAILED_PER_EMAIL=1, FRAUD_MAX_FAILED_PER_IP=0,
                   FRAUD_MAX_FAILED_PER_CARD=7)
def test_a_store_without_limits_of_its_own_has_the_platform_defaults(store):
    assert services.fraud_limits(store=store) == services.FraudLimits(
        window_minutes=10, max_failed_per_email=1, max_failed_per_ip=0, max_failed_per_card=7, amount_ceiling=None)


def test_the_stores_limits_replace_the_defaults_and_zero_switches_a_check_off(store, place, failed, card_gateway):
    services.fraud_setting_update(store=store, max_failed_per_email=0, window_minutes=120)
    failed(9, email=BUYER, minutes_ago=100)

    response = place()

    assert response.json()["data"]["held"] is False
    limits = services.fraud_limits(store=store)
    assert (limits.window_minutes, limits.max_failed_per_email, limits.max_failed_per_ip) == (120, 0, 5)


def test_setting_a_limit_back_to_null_restores_the_default_and_each_change_is_audited(store):
    services.fraud_setting_update(store=store, max_failed_per_ip=2, amount_ceiling=Decimal("100.00"))
    services.fraud_setting_update(store=store, max_failed_per_ip=None)
    services.fraud_setting_update(store=store, max_failed_per_ip=None)  # nothing changes: no audit row

    setting = FraudSetting.objects.get(store=store)
    assert (setting.max_failed_per_ip, setting.amount_ceiling) == (None, Decimal("100.00"))
    assert [row.changes for row in AuditLog.objects.filter(action="fraud_setting.updated").order_by("pk")] == [
        {"max_failed_per_ip": [None, 2], "amount_ceiling": [None, "100.00"]},
        {"max_failed_per_ip": [2, None]},
    ]


@pytest.mark.parametrize("values, field", [
    ({"window_minutes": 0}, "window_minutes"),
    ({"max_failed_per_email": -1}, "max_failed_per_email"),
    ({"max_failed_per_card": True}, "max_failed_per_card"),
    ({"max_failed_per_ip": "3"}, "max_failed_per_ip"),
    ({"amount_ceiling": Decimal("10.001")}, "amount_ceiling"),
    ({"amount_ceiling": Decimal("-1")}, "amount_ceiling"),
    ({"amount_ceiling": Decimal("1e12")}, "amount_ceiling"),
    ({"velocity": 3}, "velocity"),
])
def test_bad_limits_are_refused_naming_the_field_and_nothing_changes(store, values, field):
    with pytest.raises(ValidationFailed) as refused:
        services.fraud_setting_update(store=store, **values)

    assert field in refused.value.details
    assert not FraudSetting.objects.exists() and not AuditLog.objects.filter(action="fraud_setting.updated").exists()


def test_a_held_order_is_left_alone_by_the_expiry_job(place, failed, card_gateway):
    failed(3, email=BUYER)
    order = held_checkout(place(), card_gateway)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))

    orders_expire()

    order.refresh_from_db()
    assert order.status == "pending"


# --- the buyer's address ------------------------------------------------------------------------------------------
def test_the_buyers_address_is_remote_addr_unless_proxies_are_declared(place, card_gateway):
    with override_settings(NUM_PROXIES=None):
        direct = place(ip="198.51.100.7")
    with override_settings(NUM_PROXIES=1):
        proxied = place(ip="10.0.0.2")

    assert Payment.objects.get(order__number=direct.json()["data"]["number"]).ip == "198.51.100.7"
    assert Payment.objects.get(order__number=proxied.json()["data"]["number"]).ip == "10.0.0.2"


def test_with_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(api, store, make_variant, cart_with,
                                                                           card_gateway):
    cart = cart_with((make_variant(), 1))

    with override_settings(NUM_PROXIES=1):
        response = api.post(checkout_url(store), {"cart": str(cart.pk), "email": BUYER, "shipping_address": ADDRESS,
                                                  "payment_method": "testcard"}, format="json",
                            REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.50")

    assert Payment.objects.get(order__number=response.json()["data"]["number"]).ip == "203.0.113.50"
