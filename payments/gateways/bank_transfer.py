"""Bank transfer: the order waits (pending, stock reserved) until the merchant confirms the money arrived."""

from orders.models import OrderStatus

from .base import Gateway, PaymentStart


class BankTransfer(Gateway):
    name = "bank_transfer"
    label = "Bank transfer"
    fields = ("enabled", "instructions")
    offline = True
    order_status = OrderStatus.PENDING

    def start(self, *, order, payment, setting) -> PaymentStart:
        return PaymentStart(instructions=setting.instructions)
