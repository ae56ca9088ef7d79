"""/admin/live/ticket/: the admin's live notices ask for their stream ticket here (README "Live updates")."""

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("live/ticket/", admin.site.admin_view(views.admin_ticket), name="admin-live-ticket"),
]
