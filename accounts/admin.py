from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm
from unfold.forms import UserChangeForm as UnfoldUserChangeForm
from unfold.widgets import UnfoldAdminPasswordWidget

from .consents import consent_purposes, consents_set
from .models import Consent, ConsentSource, User
from .services import totp_reset


class UserCreationForm(BaseUserCreationForm):
    """Email, name and the password twice (Django's password validators apply)."""

    class Meta:
        model = User
        fields = ("email", "name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("password1", "password2"):  # unfold's look, as its own UserCreationForm does
            self.fields[name].widget = UnfoldAdminPasswordWidget(attrs={"autocomplete": "new-password"})

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data.get("email", ""))
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email already exists.")
        return email


class UserChangeForm(UnfoldUserChangeForm):
    class Meta:
        model = User
        fields = ("email", "name", "password", "is_active", "is_staff", "is_superuser", "groups",
                  "user_permissions", "email_verified")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data.get("email", ""))
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("A user with this email already exists.")
        return email


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    """Platform users (email login, no username). The TOTP secret is never shown; 2FA is
    turned off only through the "Turn off two-factor authentication" action."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = ["email", "name", "email_verified", "two_factor_enabled", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser", "email_verified", "two_factor_enabled"]
    search_fields = ["email", "name"]
    readonly_fields = ["two_factor_enabled", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Security", {"fields": ("email_verified", "two_factor_enabled")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )
    actions = ["two_factor_turn_off"]

    @admin.action(description="Turn off two-factor authentication")
    def two_factor_turn_off(self, request, queryset):
        users = list(queryset.filter(two_factor_enabled=True))
        for user in users:
            totp_reset(user=user)
        self.message_user(request, f"Two-factor authentication turned off for {len(users)} user(s).", messages.SUCCESS)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin, ModelAdmin):
    """Django's groups admin (platform staff's permissions) in unfold's look."""


class ConsentAdminForm(forms.ModelForm):
    purpose = forms.ChoiceField(choices=[])

    class Meta:
        model = Consent
        fields = ("user", "purpose", "granted")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [(purpose, purpose) for purpose in consent_purposes()]


@admin.register(Consent)
class ConsentAdmin(ModelAdmin):
    """Every answer a person gave, newest first (platform staff). The record is append-only: an answer given on the
    person's behalf (on paper, by phone) is added here and recorded as source admin against the current wording."""

    form = ConsentAdminForm
    list_display = ["user", "purpose", "granted", "version", "source", "created_at"]
    list_filter = ["purpose", "granted", "source"]
    search_fields = ["user__email"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        consents_set(user=obj.user, answers={obj.purpose: obj.granted}, source=ConsentSource.ADMIN)
        newest = Consent.objects.filter(user=obj.user, purpose=obj.purpose).order_by("-id").first()
        obj.pk = newest.pk if newest else None  # the admin's "added" message and redirect name the row on record
