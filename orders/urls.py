from django.urls import re_path

from config.api.routers import Router

from . import views

STORE = r"stores/(?P<store>[-\w]+)"

router = Router()
router.register(rf"{STORE}/carts", views.CartViewSet, basename="orders-cart")
router.register(rf"{STORE}/carts/(?P<cart_id>[^/]+)/items", views.CartItemViewSet, basename="orders-cart-item")
router.register(rf"{STORE}/shipping-methods", views.ShippingMethodViewSet, basename="orders-shipping-method")
router.register(rf"{STORE}/coupons", views.CouponViewSet, basename="orders-coupon")
router.register(rf"{STORE}/orders", views.OrderViewSet, basename="orders-order")

urlpatterns = [
    re_path(r"^me/orders/?$", views.MyOrderListView.as_view(), name="orders-mine"),
    *router.urls,
]
