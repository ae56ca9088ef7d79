from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from datetime import datetime, time

        from plans.services import plan_usage_register, store_month

        from .models import Order

        def orders_this_month(store) -> int:
            since = datetime.combine(store_month(store), time.min, tzinfo=store.zone)
            return Order.objects.filter(store=store, created_at__gte=since).count()

        # what the plans' orders_per_month counts before the month's counter exists: the orders placed this month
        plan_usage_register("orders_per_month", orders_this_month)
