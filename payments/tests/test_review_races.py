"""Races a held order's review must win on PostgreSQL: real threads, each on its own connection."""

from decimal import Decimal

import pytest

from config.api.errors import DomainError
from orders.models import Order
from payments import services
from payments.models import Payment
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}


@pytest.fixture
def held(store, make_variant, cart_with, card_gateway):
    services.fraud_setting_update(store=store, amount_ceiling=Decimal("5.00"))
    variant = make_variant(price="10.00", stock=100)

    def make() -> tuple[Order, Payment]:
        order, payment = services.checkout_complete(store=store, cart=cart_with((variant, 1)), email="b@example.com",
                                                    shipping_address=ADDRESS, payment_method="testcard")
        assert order.hold_reason
        return order, payment

    make.variant = variant
    return make


def test_approve_and_reject_at_once_make_one_decision(store, held, card_gateway):
    for _ in range(4):
        order, payment = held()

        results = race(lambda order=order: services.order_approve(order=order, actor=store.owner),
                       lambda order=order: services.order_reject(order=order, actor=store.owner))

        won = [result for result in results if not isinstance(result, Exception)]
        lost = [result for result in results if isinstance(result, Exception)]
        assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], DomainError), results
        order.refresh_from_db()
        payment.refresh_from_db()
        assert order.hold_reason == ""
        if isinstance(won[0], Order):  # approved: the payment started once, the order waits for it
            assert (order.status, payment.failure_reason) == ("pending", "")
            assert card_gateway.started.count(order.number) == 1
        else:  # rejected: cancelled, nothing started
            assert (order.status, payment.status) == ("cancelled", "cancelled")
            assert order.number not in card_gateway.started


def test_two_approvals_at_once_start_the_payment_once(store, held, card_gateway):
    order, payment = held()

    results = race(*(lambda: services.order_approve(order=order, actor=store.owner) for _ in range(4)))

    assert sum(isinstance(result, Order) for result in results) == 1, results
    assert card_gateway.started == [order.number]
    assert Payment.objects.filter(order=order).count() == 1
    held.variant.refresh_from_db()
    assert held.variant.reserved == 1
