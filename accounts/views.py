"""/api/v1/auth/: thin views. Validate the input, call a service, shape the answer."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.headers import no_store
from config.api.parsers import JSONParser
from config.api.renderers import ok
from config.api.throttles import SCOPED_THROTTLES

from . import serializers as io
from . import services

TAGS = ["auth"]


def _errors(**described: str) -> dict:
    return {status: OpenApiResponse(description=text) for status, text in described.items()}


RATE_LIMITED = "RATE_LIMITED (with Retry-After)"
INVALID_INPUT = "VALIDATION_ERROR; `details` maps each field to its messages"


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class JSONView(APIView):
    parser_classes = [JSONParser]  # JSON in: a form or XML body answers 415


class PublicView(JSONView):
    # These endpoints take their credential in the body. A stale Authorization header is
    # ignored, so an expired access token never blocks a refresh, a login or a logout.
    authentication_classes: list = []
    permission_classes = [AllowAny]


class PublicAuthView(PublicView):
    # Throttled by the `auth` scope on top of the general limits.
    throttle_scope = "auth"
    throttle_classes = SCOPED_THROTTLES


class UserView(JSONView):
    permission_classes = [IsAuthenticated]


class RegisterView(PublicAuthView):
    """Django's password validators apply. A verification link is emailed. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Create an account", request=io.RegisterInput,
        responses={201: io.AuthOutput, **_errors(**{"400": INVALID_INPUT + " (weak password: details.password)",
                                                    "409": "ALREADY_EXISTS", "429": RATE_LIMITED})},
    )
    @no_store
    def post(self, request):
        result = services.user_register(**_validated(io.RegisterInput, request))
        return ok(io.AuthOutput(result).data, status=201, message="Account created; check your inbox to verify it.")


class LoginView(PublicAuthView):
    """Wrong passwords and wrong codes are counted per email: after LOGIN_MAX_FAILURES of them the
    email is locked for LOGIN_LOCKOUT_SECONDS (429 ACCOUNT_LOCKED with Retry-After), even for the
    right password; a success resets the count. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Log in with email and password (and a TOTP code when 2FA is on)",
        request=io.LoginInput,
        responses={200: io.AuthOutput, **_errors(**{
            "400": INVALID_INPUT, "401": "INVALID_CREDENTIALS, OTP_REQUIRED or INVALID_OTP",
            "429": "ACCOUNT_LOCKED or RATE_LIMITED (with Retry-After)"})},
    )
    @no_store
    def post(self, request):
        result = services.user_login(**_validated(io.LoginInput, request))
        return Response(io.AuthOutput(result).data)


class RefreshView(PublicAuthView):
    """The refresh token is single use: it is blacklisted as the new pair is issued. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Exchange a refresh token for a new pair (the old one stops working)",
        request=io.RefreshInput,
        responses={200: io.TokenPairOutput, **_errors(**{"401": "INVALID_TOKEN", "429": RATE_LIMITED})},
    )
    @no_store
    def post(self, request):
        pair = services.token_refresh(**_validated(io.RefreshInput, request))
        return Response(io.TokenPairOutput(pair).data)


class LogoutView(PublicView):
    """Blacklists the refresh token. Access tokens already issued live until they expire (minutes)."""

    @extend_schema(
        tags=TAGS, summary="Revoke a refresh token", request=io.RefreshInput,
        responses={204: None, **_errors(**{"401": "INVALID_TOKEN"})},
    )
    def post(self, request):
        services.token_revoke(**_validated(io.RefreshInput, request))
        return Response(status=204)


class MeView(UserView):
    @extend_schema(tags=TAGS, summary="The current user", responses={200: io.UserOutput})
    def get(self, request):
        return Response(io.UserOutput(request.user).data)

    @extend_schema(
        tags=TAGS, summary="Change the current user's name (the email cannot be changed here)",
        request=io.MeUpdateInput, responses={200: io.UserOutput, **_errors(**{"400": INVALID_INPUT})},
    )
    def patch(self, request):
        user = services.user_update(user=request.user, **_validated(io.MeUpdateInput, request))
        return Response(io.UserOutput(user).data)


class EmailVerifyView(PublicAuthView):
    """The link from the verification email; it works once. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Verify the email address with the link's uid and token", request=io.EmailVerifyInput,
        responses={200: io.UserOutput, **_errors(**{"400": INVALID_INPUT + " (bad or used link: details.token)",
                                                    "429": RATE_LIMITED})},
    )
    def post(self, request):
        user = services.email_verify(**_validated(io.EmailVerifyInput, request))
        return ok(io.UserOutput(user).data, message="Email verified.")


class EmailVerifyResendView(UserView):
    throttle_scope = "auth"
    throttle_classes = SCOPED_THROTTLES

    @extend_schema(
        tags=TAGS, summary="Send a new verification link to the current user", request=None,
        responses={202: io.DetailOutput, **_errors(**{"409": "CONFLICT (already verified)", "429": RATE_LIMITED})},
    )
    def post(self, request):
        services.email_verification_resend(user=request.user)
        return ok({"detail": "Verification email sent."}, status=202)


class PasswordResetView(PublicAuthView):
    """Always 202 with the same body; the lookup and the email happen in a worker. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Email a password reset link (202 whether or not the account exists)",
        request=io.PasswordResetInput,
        responses={202: io.DetailOutput, **_errors(**{"400": INVALID_INPUT, "429": RATE_LIMITED})},
    )
    def post(self, request):
        services.password_reset_request(**_validated(io.PasswordResetInput, request))
        return ok({"detail": "If an account exists for this email, a reset link is on its way."}, status=202)


class PasswordResetConfirmView(PublicAuthView):
    """The link works once. Django's password validators apply. Every refresh token of the user is
    revoked, the email counts as verified and any login lock is lifted. Rate-limited (`auth` scope)."""

    @extend_schema(
        tags=TAGS, summary="Set a new password with the link's uid and token (single use)",
        request=io.PasswordResetConfirmInput,
        responses={200: io.DetailOutput, **_errors(**{
            "400": INVALID_INPUT + " (bad or used link: details.token; weak password: details.password)",
            "429": RATE_LIMITED})},
    )
    def post(self, request):
        services.password_reset_confirm(**_validated(io.PasswordResetConfirmInput, request))
        return ok({"detail": "Your password has been changed."})


class TotpSetupView(UserView):
    @extend_schema(
        tags=TAGS, summary="Start 2FA: a new TOTP secret (2FA stays off until confirmed)", request=None,
        responses={200: io.TotpSetupOutput, **_errors(**{"409": "CONFLICT (2FA is already on)"})},
    )
    @no_store
    def post(self, request):
        return Response(io.TotpSetupOutput(services.totp_setup(user=request.user)).data)


class TotpConfirmView(UserView):
    throttle_scope = "auth"
    throttle_classes = SCOPED_THROTTLES

    @extend_schema(
        tags=TAGS, summary="Turn 2FA on with a code from the new secret", request=io.OtpInput,
        responses={200: io.UserOutput, **_errors(**{"401": "INVALID_OTP", "409": "CONFLICT (on, or no setup)",
                                                    "429": RATE_LIMITED})},
    )
    def post(self, request):
        user = services.totp_confirm(user=request.user, **_validated(io.OtpInput, request))
        return ok(io.UserOutput(user).data, message="Two-factor authentication is on.")


class TotpDisableView(UserView):
    throttle_scope = "auth"
    throttle_classes = SCOPED_THROTTLES

    @extend_schema(
        tags=TAGS, summary="Turn 2FA off with a current code", request=io.OtpInput,
        responses={200: io.UserOutput, **_errors(**{"401": "INVALID_OTP", "409": "CONFLICT (2FA is off)",
                                                    "429": RATE_LIMITED})},
    )
    def post(self, request):
        user = services.totp_disable(user=request.user, **_validated(io.OtpInput, request))
        return ok(io.UserOutput(user).data, message="Two-factor authentication is off.")
