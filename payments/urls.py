from django.urls import re_path

from config.api.routers import Router

from . import views

STORE = r"stores/(?P<store>[-\w]+)"

router = Router()
router.register(rf"{STORE}/payments", views.PaymentViewSet, basename="payments-payment")
router.register(rf"{STORE}/refunds", views.RefundViewSet, basename="payments-refund")

urlpatterns = [
    re_path(r"^payments/webhooks/(?P<gateway>[-\w]+)/(?P<store>[-\w]+)/?$", views.PaymentWebhookView.as_view(),
            name="payments-webhook"),
    re_path(r"^payments/health/?$", views.PaymentsHealthView.as_view(), name="payments-health"),
    re_path(rf"^{STORE}/checkout/?$", views.CheckoutView.as_view(), name="payments-checkout"),
    re_path(rf"^{STORE}/payment-gateways/?$", views.GatewaySettingListView.as_view(),
            name="payments-gateway-settings"),
    re_path(rf"^{STORE}/payment-gateways/(?P<gateway>[-\w]+)/?$", views.GatewaySettingView.as_view(),
            name="payments-gateway-setting"),
    re_path(r"^payments/return/(?P<gateway>[-\w]+)/(?P<store>[-\w]+)/?$", views.GatewayReturnView.as_view(),
            name="payments-gateway-return"),
    re_path(rf"^{STORE}/fraud-settings/?$", views.FraudSettingView.as_view(), name="payments-fraud-settings"),
    re_path(rf"^{STORE}/orders/(?P<number>[^/]+)/approve/?$", views.OrderApproveView.as_view(),
            name="payments-order-approve"),
    re_path(rf"^{STORE}/orders/(?P<number>[^/]+)/reject/?$", views.OrderRejectView.as_view(),
            name="payments-order-reject"),
    *router.urls,
]
