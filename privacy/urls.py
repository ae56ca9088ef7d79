"""/api/v1/me/… (the caller's own data) and /api/v1/stores/{store}/customers/… (a merchant erasing a guest)."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^me/consents/?$", views.ConsentsView.as_view(), name="privacy-consents"),
    re_path(r"^me/data-export/?$", views.DataExportView.as_view(), name="privacy-data-export"),
    re_path(r"^me/data-export/(?P<id>\d+)/?$", views.DataExportDetailView.as_view(), name="privacy-data-export-detail"),
    re_path(r"^me/data-export/(?P<id>\d+)/download/?$", views.DataExportDownloadView.as_view(),
            name="privacy-data-export-download"),
    re_path(r"^me/delete/?$", views.AccountDeleteView.as_view(), name="privacy-account-delete"),
    re_path(r"^stores/(?P<store>[-\w]+)/customers/erase/?$", views.GuestEraseView.as_view(),
            name="privacy-guest-erase"),
]
