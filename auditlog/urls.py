from config.api.routers import Router

from .views import AuditLogViewSet, SecurityEventViewSet

router = Router()
router.register(r"stores/(?P<store>[^/.]+)/audit-logs", AuditLogViewSet, basename="audit-log")
router.register(r"stores/(?P<store>[^/.]+)/security-events", SecurityEventViewSet, basename="security-event")

urlpatterns = router.urls
