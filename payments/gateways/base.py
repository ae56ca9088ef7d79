"""What every gateway is: its settings, the order status it starts from, how a payment starts."""

from dataclasses import dataclass
from typing import ClassVar

from orders.models import OrderStatus


@dataclass(frozen=True)
class PaymentStart:
    """What a gateway adds to a new payment; the checkout answer shows the non-empty parts."""

    instructions: str = ""


class Gateway:
    """One way to pay. A gateway is a subclass in its own module plus one line in ``REGISTRY``.

    ``fields`` are what a store sets for it (``GET/PUT payment-gateways/{name}``), each checked by
    ``payments.services.gateway_setting_check``. Card gateways (issue 12) add their credentials as
    fields stored encrypted on GatewaySetting (config.fields) and a ``start`` that calls the gateway.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ("enabled",)
    enabled_by_default: ClassVar[bool] = True
    # The merchant confirms the money arrived (``mark-paid``); no gateway tells us.
    offline: ClassVar[bool] = False
    # The order's status once checkout has placed it.
    order_status: ClassVar[str] = OrderStatus.PENDING

    def start(self, *, order, setting) -> PaymentStart:
        """What the new payment of ``order`` carries, given the store's ``setting`` for this gateway."""
        return PaymentStart()
