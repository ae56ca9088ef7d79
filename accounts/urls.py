"""/api/v1/auth/: paths without a trailing slash; the same path with one is accepted too."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^register/?$", views.RegisterView.as_view(), name="auth-register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(r"^refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^me/?$", views.MeView.as_view(), name="auth-me"),
    re_path(r"^verify-email/?$", views.EmailVerifyView.as_view(), name="auth-verify-email"),
    re_path(r"^verify-email/resend/?$", views.EmailVerifyResendView.as_view(), name="auth-verify-email-resend"),
    re_path(r"^password/reset/?$", views.PasswordResetView.as_view(), name="auth-password-reset"),
    re_path(r"^password/reset/confirm/?$", views.PasswordResetConfirmView.as_view(),
            name="auth-password-reset-confirm"),
    re_path(r"^2fa/setup/?$", views.TotpSetupView.as_view(), name="auth-2fa-setup"),
    re_path(r"^2fa/confirm/?$", views.TotpConfirmView.as_view(), name="auth-2fa-confirm"),
    re_path(r"^2fa/disable/?$", views.TotpDisableView.as_view(), name="auth-2fa-disable"),
]
