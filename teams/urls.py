from django.urls import re_path

from config.api.routers import Router

from . import views

STORE = r"stores/(?P<store>[-a-zA-Z0-9_]+)"

router = Router()
router.register(rf"{STORE}/members", views.MembershipViewSet, basename="store-member")
router.register(rf"{STORE}/invites", views.InvitationViewSet, basename="store-invite")
router.register(rf"{STORE}/api-keys", views.ApiKeyViewSet, basename="store-api-key")
router.register("invites", views.InvitationAcceptViewSet, basename="invite")

urlpatterns = [
    # under /auth/ with the account endpoints; the answer is the teams' permission map
    re_path(r"^auth/permissions/?$", views.PermissionsView.as_view(), name="auth-permissions"),
    *router.urls,
]
