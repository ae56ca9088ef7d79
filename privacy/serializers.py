"""Input and output shapes of the data-rights endpoints (API.md "Customers' data rights")."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from accounts.consents import ConsentState, consent_purposes


class ConsentOutput(serializers.Serializer):
    granted = serializers.BooleanField()
    version = serializers.CharField(allow_null=True, help_text="The wording's version answered; null: never asked.")
    updated_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text="api, checkout or admin; null: never asked.")


def consents_output(states: dict[str, ConsentState]) -> dict:
    return {purpose: ConsentOutput(state).data for purpose, state in states.items()}


# one field per purpose the platform defines (settings.CONSENT_PURPOSES), for the OpenAPI document
CONSENTS_SCHEMA = inline_serializer("Consents", {purpose: ConsentOutput() for purpose in consent_purposes()})
CONSENTS_INPUT_SCHEMA = inline_serializer(
    "ConsentsInput", {purpose: serializers.BooleanField(required=False) for purpose in consent_purposes()})


class DataExportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="When done: the ZIP, valid 24 hours from this answer.")

    def get_url(self, export) -> str | None:
        from .services import data_export_url

        return data_export_url(export=export)


class AccountDeleteInput(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"},
                                     required=False, allow_blank=True, default="")
    social_code = serializers.CharField(max_length=128, required=False, allow_blank=True, default="",
                                        help_text="Instead of the password (an account made by social login has "
                                                  "none): the one-time code of a fresh social login "
                                                  "(README \"Social login\"), not exchanged.")
    otp = serializers.CharField(max_length=16, required=False, allow_blank=True, allow_null=True, default=None,
                                help_text="The current TOTP code, when two-factor authentication is on.")

    def validate(self, attrs):
        if not attrs.get("password") and not attrs.get("social_code"):
            raise serializers.ValidationError({"password": ["Give your password, or a social login's code."]})
        return attrs


class GuestEraseInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ErasureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows changed per table.")
    created_at = serializers.DateTimeField()
