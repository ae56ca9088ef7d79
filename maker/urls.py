from config.api.routers import Router

from . import views

STORE = r"stores/(?P<store>[-\w]+)"

router = Router()
router.register(rf"{STORE}/uploads", views.UploadViewSet, basename="maker-upload")
router.register(rf"{STORE}/materials", views.MaterialViewSet, basename="maker-material")
router.register(rf"{STORE}/quotes", views.QuoteViewSet, basename="maker-quote")
router.register(rf"{STORE}/carts/(?P<cart_id>[^/]+)", views.CartMakerViewSet, basename="maker-cart")
router.register(rf"{STORE}/service-orders", views.ServiceOrderViewSet, basename="maker-service-order")

urlpatterns = router.urls
