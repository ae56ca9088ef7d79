"""Cash on delivery: the order goes straight to processing; the courier collects, the merchant marks it paid."""

from orders.models import OrderStatus

from .base import Gateway


class CashOnDelivery(Gateway):
    name = "cod"
    label = "Cash on delivery"
    offline = True
    order_status = OrderStatus.PROCESSING
