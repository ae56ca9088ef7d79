"""/api/v1/auth/social/ (config.urls): this API's social login routes and, of allauth's, only the providers'
callbacks (their names are the ones allauth reverses for the redirect_uri). allauth's own pages, forms and headless
API are not mounted: they would be a second way to log in, past this API's lock and 2FA."""

from django.urls import re_path

from . import views

PROVIDER_ID = r"(?P<provider_id>[A-Za-z0-9_-]{1,64})"

urlpatterns = [
    re_path(r"^providers/?$", views.ProvidersView.as_view(), name="social-providers"),
    re_path(r"^complete/?$", views.CompleteView.as_view(), name="social-complete"),
    re_path(r"^exchange/?$", views.CodeExchangeView.as_view(), name="social-exchange"),
    # the providers' callbacks, by the names allauth reverses for the redirect URI to register at the provider
    re_path(r"^google/login/callback/?$", views.CallbackView.as_view(), {"provider_id": "google"},
            name="google_callback"),
    re_path(r"^github/login/callback/?$", views.CallbackView.as_view(), {"provider_id": "github"},
            name="github_callback"),
    re_path(rf"^oidc/{PROVIDER_ID}/login/callback/?$", views.CallbackView.as_view(), name="openid_connect_callback"),
    re_path(rf"^{PROVIDER_ID}/login/?$", views.LoginView.as_view(), name="social-login"),
    re_path(rf"^{PROVIDER_ID}/token/?$", views.ProviderTokenView.as_view(), name="social-token"),
]
