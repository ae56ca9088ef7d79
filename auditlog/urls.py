from config.api.routers import Router

from .views import AuditLogViewSet

router = Router()
router.register(r"stores/(?P<store>[^/.]+)/audit-logs", AuditLogViewSet, basename="audit-log")

urlpatterns = router.urls
