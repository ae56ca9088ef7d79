"""The social login providers of this deployment (allauth's "social applications") and the accounts linked to them,
for platform superusers only, with unfold's classes. A client secret is written, never shown back (masked as
``config.fields.mask`` shows secrets), and stored encrypted (social.models.SocialAppSecret; allauth's plain column
stays empty); the providers' tokens are not kept (SOCIALACCOUNT_STORE_TOKENS off) and have no
page; allauth's own email-address records have none either (the account's email and its verification are
accounts.User's)."""

from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django import forms
from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from config.admin_mixins import SuperuserOnlyAdminMixin
from config.fields import mask

from . import services
from .providers import KINDS

for _model in (SocialApp, SocialAccount, SocialToken, EmailAddress, EmailConfirmation):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class SocialAppForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=[(kind, kind) for kind in KINDS], widget=UnfoldAdminSelectWidget,
                                 help_text="google, github, or openid_connect for any other OpenID Connect provider.")
    secret = forms.CharField(required=False, strip=False, widget=UnfoldAdminPasswordWidget(render_value=False),
                             help_text="The client secret. Shown masked once saved; leave empty to keep it.")

    class Meta:
        model = SocialApp
        fields = ["provider", "provider_id", "name", "client_id", "secret", "settings"]
        widgets = {"provider_id": UnfoldAdminTextInputWidget, "name": UnfoldAdminTextInputWidget,
                   "client_id": UnfoldAdminTextInputWidget}
        help_texts = {
            "provider_id": "OpenID Connect: its id in the API's paths (letters, digits, - and _), e.g. keycloak.",
            "settings": 'OpenID Connect: {"server_url": "https://issuer.example.com"} (its '
                        "/.well-known/openid-configuration is read).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = services.app_secret(self.instance) if self.instance.pk else ""
        if current:
            self.fields["secret"].help_text = f"Set ({mask(current)}); leave empty to keep it."

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("provider") == "openid_connect":
            if not cleaned.get("provider_id"):
                self.add_error("provider_id", "An OpenID Connect provider needs an id.")
            if not (cleaned.get("settings") or {}).get("server_url"):
                self.add_error("settings", 'An OpenID Connect provider needs {"server_url": …}.')
        return cleaned

    def save(self, commit=True):
        # allauth's column is never written: the secret typed (or, left empty, a plain one found there from before)
        # goes to the encrypted store once the app is saved (SocialAppAdmin.save_model)
        self.new_secret = self.cleaned_data.get("secret") or ""
        if not self.new_secret and self.instance.pk:
            self.new_secret = SocialApp.objects.filter(pk=self.instance.pk).values_list("secret",
                                                                                       flat=True).first() or ""
        self.instance.secret = ""
        app = super().save(commit=commit)
        if commit and self.new_secret:
            services.app_secret_set(app=app, secret=self.new_secret)
        return app


@admin.register(SocialApp)
class SocialAppAdmin(SuperuserOnlyAdminMixin, ModelAdmin):
    """A provider offered at GET /api/v1/auth/social/providers, besides those configured in the environment
    (SOCIAL_GOOGLE_*, SOCIAL_GITHUB_*, SOCIAL_OIDC_*)."""

    form = SocialAppForm
    list_display = ["name", "provider", "provider_id", "client_id", "secret_masked"]
    search_fields = ["name", "provider", "provider_id", "client_id"]
    list_select_related = ["encrypted_secret"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if form.new_secret:
            services.app_secret_set(app=obj, secret=form.new_secret)

    @admin.display(description="secret")
    def secret_masked(self, obj) -> str:
        return mask(services.app_secret(obj))


@admin.register(SocialAccount)
class SocialAccountAdmin(SuperuserOnlyAdminMixin, ModelAdmin):
    """Who is linked to which provider. Read-only; deleting a row unlinks the provider (the account stays)."""

    list_display = ["user", "provider", "uid", "date_joined", "last_login"]
    list_filter = ["provider"]
    search_fields = ["user__email", "uid"]
    fields = ["user", "provider", "uid", "date_joined", "last_login"]
    readonly_fields = fields
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
