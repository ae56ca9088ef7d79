"""Payments' test fixtures: a test-only card gateway whose refunds succeed, are declined or fail as a test says,
paid orders to refund, and a signed gateway whose notifications the webhook pipeline verifies (signed_gateway.py)."""

import json
import threading
from decimal import Decimal

import pytest

from payments.gateways import REGISTRY
from payments.gateways.base import Gateway, GatewayFailed, RefundResult
from payments.models import GatewaySetting
from payments.tests.card import card_gateway  # noqa: F401 - a fixture for every payments test

from .signed_gateway import NAME as SIGNED
from .signed_gateway import SignedGateway

ADDRESS = {"line1": "1 Main St", "city": "Tripoli"}
SECRET = "test-secret-for-alpha"


class RefundTestGateway(Gateway):
    """A card gateway that answers refunds without a network: each refund is recorded in ``calls``. A refund whose
    reason starts with "decline" is declined, "fail" raises GatewayFailed, "crash" raises RuntimeError (an outcome
    the service cannot know); ``gate`` (an Event) holds every refund until it is set; ``started`` is set when one
    is held."""

    name = "testpay"
    label = "Test card"

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.lock = threading.Lock()

    def refund(self, *, payment, refund, setting) -> RefundResult:
        with self.lock:
            self.calls.append({"payment": payment.pk, "refund": refund.pk, "amount": refund.amount,
                               "currency": refund.currency, "enabled": setting.enabled})
        if self.gate is not None:
            self.started.set()
            assert self.gate.wait(timeout=30), "the test never opened the gate"
        if refund.reason.startswith("decline"):
            return RefundResult(succeeded=False, message="Declined by the test gateway.")
        if refund.reason.startswith("fail"):
            raise GatewayFailed("The test gateway could not be reached.")
        if refund.reason.startswith("crash"):
            raise RuntimeError("the test gateway crashed")
        return RefundResult(reference=f"tr_{refund.pk}")


@pytest.fixture
def testpay(monkeypatch) -> RefundTestGateway:
    """The test gateway, in the registry as ``testpay`` for this test (offered by every store: enabled by
    default, nothing required)."""
    gateway = RefundTestGateway()
    monkeypatch.setitem(REGISTRY, gateway.name, gateway)
    return gateway


@pytest.fixture
def paid(store, make_variant, cart_with):
    """``paid(method, ...)`` → (order, payment): an order of ``quantity`` × ``price`` checked out with ``method`` and
    paid (cod and bank transfer by mark-paid; testpay as its gateway's success would: the payment paid, then the
    order through orders.services.order_mark_paid). ``completed``: the order then completed (its stock sold)."""
    from orders.services import order_mark_paid, order_transition
    from payments import services
    from payments.models import Payment

    def make(method="bank_transfer", *, at=store, price="10.00", quantity=2, stock=10, completed=False):
        variant = make_variant(store=at, price=price, stock=stock)
        order, payment = services.checkout_complete(store=at, cart=cart_with((variant, quantity), store=at),
                                                    email="buyer@example.com", shipping_address=ADDRESS,
                                                    payment_method=method)
        if REGISTRY[method].offline:
            services.payment_mark_paid(payment=payment)
        else:
            Payment.objects.filter(pk=payment.pk).update(status="paid")
            order_mark_paid(order=order)
        if completed:
            order_transition(order=order, status="completed")
        order.refresh_from_db()
        payment.refresh_from_db()
        assert payment.amount == Decimal(price) * quantity
        return order, payment

    return make


@pytest.fixture
def signed_gateway(monkeypatch):
    """The signed test gateway in REGISTRY (until the test ends); ``configure(store, secret)`` sets a store's
    credentials for it."""
    gateway = SignedGateway()
    monkeypatch.setitem(REGISTRY, SIGNED, gateway)

    def configure(store, secret: str = SECRET) -> GatewaySetting:
        setting, _ = GatewaySetting.objects.update_or_create(
            store=store, gateway=SIGNED, defaults={"enabled": True, "secrets": json.dumps({"secret": secret})})
        return setting

    gateway.configure = configure
    return gateway
