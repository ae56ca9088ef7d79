from config.api.routers import Router

from . import views

router = Router()
router.register("plans", views.PlanViewSet, basename="plan")

urlpatterns = router.urls
