"""/api/v1/stream (Server-Sent Events; the proxy routes it to the ASGI server) and its ticket."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^stream/?$", views.stream, name="live-stream"),
    re_path(r"^stream/ticket/?$", views.StreamTicketView.as_view(), name="live-stream-ticket"),
]
