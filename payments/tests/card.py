"""A card gateway for the tests of what every card gateway shares (fraud checks, retries, review): it starts a
payment without any network, remembers what it started, and fails when told to."""

from dataclasses import dataclass, field

import pytest

from payments.gateways import REGISTRY
from payments.gateways.base import Gateway, GatewayFailed, PaymentStart


@dataclass
class FakeCard(Gateway):
    name = "testcard"
    label = "Test card"
    started: list = field(default_factory=list)  # the order numbers it started a payment for
    refusal: str = ""  # when set, start raises GatewayFailed with it

    def start(self, *, order, payment, setting) -> PaymentStart:
        if self.refusal:
            raise GatewayFailed(self.refusal)
        self.started.append(order.number)
        return PaymentStart(reference=f"tc_{order.number}_{len(self.started)}",
                            redirect_url=f"https://pay.example/{order.number}")


@pytest.fixture
def card_gateway(monkeypatch) -> FakeCard:
    """The test card gateway, in the registry (on for every store) for this test only."""
    gateway = FakeCard()
    monkeypatch.setitem(REGISTRY, gateway.name, gateway)
    return gateway
