from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # orders sits below payments: the order answer (orders.serializers.OrderOutput) reads an order's payment
        # through the reader handed down here (docs/ARCHITECTURE.md "Layers")
        from orders.selectors import order_payment_reader_register
        from orders.services import order_cancel_hook_register

        from .selectors import order_payments_read
        from .services import order_payments_cancel

        order_payment_reader_register(order_payments_read)
        # a cancelled order (expiry, buyer, member) cancels its open payments in the same transaction
        order_cancel_hook_register(order_payments_cancel)

        from plans.services import plan_usage_register

        from .gateways import REGISTRY
        from .models import GatewaySetting

        # what the plans' card_gateways limit counts: the card gateways switched on (cash and transfer are free)
        plan_usage_register(
            "card_gateways",
            lambda store: GatewaySetting.objects.filter(
                store=store,
                enabled=True,
                gateway__in=[name for name, gateway in REGISTRY.items() if not gateway.offline],
            ).count(),
        )
