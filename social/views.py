"""/api/v1/auth/social/: the storefront's side of a social login (README "Social login").

Redirect flow, for a browser: open ``GET {provider}/login?callback_url=…``; the provider's pages; its callback
(allauth's view, ``{provider}/login/callback``); ``GET complete`` turns the login into a one-time code and sends the
browser to ``callback_url?code=…`` (or ``?error=…``); the storefront POSTs the code to ``exchange`` and gets the
login's answer, ``{user, access, refresh}`` (OTP_REQUIRED first when 2FA is on, as at a password login).
Token flow, for a native app that signed in with the provider's own SDK: ``POST {provider}/token``.
"""

from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from accounts import serializers as accounts_io
from accounts.views import PublicAuthView, PublicView
from config.api.errors import NotFound
from config.api.headers import no_store

from . import providers, services
from . import serializers as io

TAGS = ["auth"]
RATE_LIMITED = "RATE_LIMITED (with Retry-After)"


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class SocialGate:
    """Every social route answers 404 while the `social_login` feature is off (``providers.social_login_on``)."""

    def initial(self, request, *args, **kwargs):
        if not providers.social_login_on():
            raise NotFound(f"No endpoint at {request.path}.")
        super().initial(request, *args, **kwargs)


class ProvidersView(SocialGate, PublicView):
    @extend_schema(tags=TAGS, summary="The social login providers this deployment offers",
                   responses={200: io.ProviderOutput(many=True)})
    def get(self, request):
        return Response(io.ProviderOutput(providers.providers_offered(request._request), many=True).data)


class LoginView(SocialGate, PublicView):
    """Stashes the flow's state in a session cookie of this API (the provider's callback comes back to it) and
    sends the browser to the provider. ``callback_url`` must be on an allowed storefront origin
    (SOCIAL_LOGIN_CALLBACK_ORIGINS)."""

    @extend_schema(
        tags=TAGS, summary="Start a social login: redirects the browser to the provider",
        parameters=[OpenApiParameter("callback_url", str, required=True,
                                     description="Where the browser comes back with `?code=` or `?error=`.")],
        responses={302: OpenApiResponse(description="To the provider's sign-in page."),
                   400: OpenApiResponse(description="VALIDATION_ERROR (details.callback_url)"),
                   404: OpenApiResponse(description="NOT_FOUND: no such provider here")},
    )
    def get(self, request, provider_id: str):
        found = providers.provider_get(request._request, provider_id)
        callback_url = services.callback_url_check(request.query_params.get("callback_url", ""))
        return providers.login_redirect(request._request, found, callback_url=callback_url)


class CallbackView(SocialGate, PublicView):
    """The address registered at the provider as the redirect URI: allauth's callback view checks the state against
    the session cookie, trades the code for the provider's tokens (PKCE), reads who signed in, finds, links or makes
    the account (social.adapters) and sends the browser on to ``complete``."""

    @extend_schema(
        tags=TAGS, summary="The provider sends the browser back here (register it as the redirect URI)",
        parameters=[OpenApiParameter("code", str), OpenApiParameter("state", str), OpenApiParameter("error", str)],
        responses={302: OpenApiResponse(description="On to …/social/complete (with `?error=` when it failed)."),
                   404: OpenApiResponse(description="NOT_FOUND: no such provider here")},
    )
    def get(self, request, provider_id: str):
        found = providers.provider_get(request._request, provider_id)
        return providers.callback(request._request, found)


class CompleteView(SocialGate, PublicView):
    """Where allauth sends the browser once the provider's callback is done: the login it left in the session
    becomes a one-time code, the session is dropped, and the browser goes on to the storefront."""

    @extend_schema(
        tags=TAGS, summary="The end of a social login's redirects: on to the storefront with a one-time code",
        parameters=[OpenApiParameter("callback_url", str, required=True),
                    OpenApiParameter("error", str, required=False)],
        responses={302: OpenApiResponse(description="To `callback_url?code=…`, or `callback_url?error=…`."),
                   400: OpenApiResponse(description="VALIDATION_ERROR (details.callback_url)")},
    )
    def get(self, request):
        callback_url = services.callback_url_check(request.query_params.get("callback_url", ""))
        return HttpResponseRedirect(providers.login_complete(request._request, callback_url=callback_url,
                                                             error=request.query_params.get("error", "")))


class CodeExchangeView(SocialGate, PublicAuthView):
    """The code from the redirect flow, once, for the login's answer. With 2FA on: 401 OTP_REQUIRED, then the same
    code with `otp`; wrong codes count towards the login lock. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Exchange a social login's one-time code for a token pair",
        request=io.CodeExchangeInput,
        responses={200: accounts_io.AuthOutput, **{status: OpenApiResponse(description=text) for status, text in {
            "400": "VALIDATION_ERROR", "401": "INVALID_TOKEN (unknown, used or expired code), INVALID_CREDENTIALS "
                                              "(account disabled), OTP_REQUIRED or INVALID_OTP",
            "429": "ACCOUNT_LOCKED or RATE_LIMITED (with Retry-After)"}.items()}},
    )
    @no_store
    def post(self, request):
        result = services.login_code_exchange(**_validated(io.CodeExchangeInput, request))
        return Response(accounts_io.AuthOutput(result).data)


class ProviderTokenView(SocialGate, PublicAuthView):
    """For native apps that signed the person in with the provider's own SDK, for this API's client id: the token is
    verified with the provider (an ID token's signature, issuer, audience and expiry; used once), then the same
    account rules and answer as the redirect flow. With 2FA on, OTP_REQUIRED carries a one-time code for the exchange
    (the provider's token cannot be sent again). Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Log in with a provider's token (ID token or access token)",
        request=io.ProviderTokenInput,
        responses={200: accounts_io.AuthOutput, **{status: OpenApiResponse(description=text) for status, text in {
            "400": "VALIDATION_ERROR (details.email: the provider gave no email)",
            "401": "INVALID_TOKEN, INVALID_CREDENTIALS (account disabled), OTP_REQUIRED or INVALID_OTP (both with "
                   "`details.code`: send it to …/social/exchange with the TOTP code)",
            "404": "NOT_FOUND: no such provider here",
            "409": "ALREADY_EXISTS: an account has this email and the provider does not say it is verified",
            "429": "ACCOUNT_LOCKED or RATE_LIMITED (with Retry-After)"}.items()}},
    )
    @no_store
    def post(self, request, provider_id: str):
        data = _validated(io.ProviderTokenInput, request)
        found = providers.provider_get(request._request, provider_id)
        user = providers.token_login(request._request, found, id_token=data["id_token"],
                                     access_token=data["access_token"])
        result = services.token_login_answer(user=user, otp=data["otp"])
        return Response(accounts_io.AuthOutput(result).data)
