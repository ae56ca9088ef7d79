from config.api.routers import Router

from . import views

router = Router()
router.register("stores", views.StoreViewSet, basename="store")
router.register("stores", views.StoreDetailViewSet, basename="store-detail")

urlpatterns = router.urls
