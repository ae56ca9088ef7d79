from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from plans.services import plan_usage_register

        from .models import WebhookEndpoint

        # what the plans' webhooks limit counts: the store's endpoints, switched on or off
        plan_usage_register("webhooks", lambda store: WebhookEndpoint.objects.filter(store=store).count())
