"""Input and output shapes of /api/v1/auth/. Unknown fields in a body are ignored.

Passwords are never trimmed (DRF trims CharFields by default) and capped at 1024
characters so a huge body cannot keep a slow hasher busy.
"""

from rest_framework import serializers

from .models import User

PASSWORD_MAX_LENGTH = 1024


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        trim_whitespace=False, max_length=PASSWORD_MAX_LENGTH, write_only=True, style={"input_type": "password"},
        **kwargs,
    )


def otp_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=16, help_text="The 6-digit code from the authenticator app.", **kwargs)


# --- Outputs ---------------------------------------------------------------------------------


class UserOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "email_verified", "two_factor_enabled", "date_joined"]
        read_only_fields = fields


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Access JWT: `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh JWT: single use, exchanged at /auth/refresh.")


class AuthOutput(TokenPairOutput):
    user = UserOutput()


class TotpSetupOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32 secret, for manual entry.")
    otpauth_uri = serializers.CharField(help_text="otpauth:// URI, for a QR code.")


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()


# --- Inputs ----------------------------------------------------------------------------------


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = password_field()
    otp = otp_field(required=False, allow_blank=True, allow_null=True, default=None)


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class MeUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=150, allow_blank=True, required=False)


class EmailVerifyInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInput(EmailVerifyInput):
    password = password_field()


class OtpInput(serializers.Serializer):
    otp = otp_field()
