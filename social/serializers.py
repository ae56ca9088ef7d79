"""Input and output shapes of /api/v1/auth/social/."""

from rest_framework import serializers

from accounts.serializers import otp_field


class ProviderOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The provider's id in this API's paths: `google`, `github` or an OpenID "
                                         "Connect provider's own id.")
    name = serializers.CharField()
    kind = serializers.CharField(help_text="`google`, `github` or `openid_connect`.")
    login_url = serializers.CharField(help_text="Open it in the browser, with `?callback_url=<your page>`.")
    token_login = serializers.BooleanField(help_text="Whether POST …/{provider}/token takes this provider's tokens.")


class CodeExchangeInput(serializers.Serializer):
    code = serializers.CharField(max_length=128, help_text="The `code` the login's redirect brought to the "
                                                           "callback_url; valid once, for a short while.")
    otp = otp_field(required=False, allow_blank=True, allow_null=True, default=None)


class ProviderTokenInput(serializers.Serializer):
    id_token = serializers.CharField(max_length=16384, required=False, allow_blank=True, default="",
                                     help_text="An OpenID Connect ID token the app got from the provider for this "
                                               "API's client id (Google, OpenID Connect).")
    access_token = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="",
                                         help_text="An OAuth access token (GitHub).")
    otp = otp_field(required=False, allow_blank=True, allow_null=True, default=None)

    def validate(self, attrs):
        if not attrs.get("id_token") and not attrs.get("access_token"):
            raise serializers.ValidationError({"id_token": ["Give an id_token or an access_token."]})
        return attrs
