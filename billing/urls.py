from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^stores/(?P<store>[-\w]+)/subscription/?$", views.SubscriptionView.as_view(), name="subscription"),
    re_path(
        r"^stores/(?P<store>[-\w]+)/subscription/invoices/?$",
        views.InvoiceListView.as_view(),
        name="subscription-invoices",
    ),
    re_path(
        r"^stores/(?P<store>[-\w]+)/subscription/portal/?$", views.PortalView.as_view(), name="subscription-portal"
    ),
    re_path(r"^billing/webhooks/stripe/?$", views.BillingWebhookView.as_view(), name="billing-webhook"),
]
