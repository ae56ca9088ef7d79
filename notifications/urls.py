from config.api.routers import Router

from .views import NotificationViewSet, WebhookEndpointViewSet

router = Router()
router.register(r"notifications", NotificationViewSet, basename="notification")
router.register(r"stores/(?P<store>[^/.]+)/webhooks", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
