"""The admin base every merchant-owned model admin extends, and the merchant dashboard (the admin site):
who sees and changes which store's rows comes from the one tenancy rule, ``teams.selectors.store_grants``."""

from django import forms
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import models
from django.views.decorators.debug import sensitive_variables
from unfold.admin import ModelAdmin, TabularInline
from unfold.forms import AuthenticationForm as UnfoldAuthenticationForm
from unfold.sites import UnfoldAdminSite
from unfold.widgets import BASE_INPUT_CLASSES

from accounts.errors import AccountLocked, InvalidCredentials, InvalidOtp, OtpRequired
from accounts.services import user_authenticate
from auditlog.admin_mixins import AuditedAdminMixin
from teams.permissions import ADMIN_SITE_ROLES
from teams.selectors import Grant, store_grants, store_ids_with


def user_may_use_admin(user) -> bool:
    """Superusers, and members with an owner, admin or staff role in some store."""
    if not (user.is_active and user.is_authenticated):
        return False
    return user.is_superuser or user.memberships.filter(role__in=ADMIN_SITE_ROLES).exists()


class StoreAdminAuthenticationForm(UnfoldAuthenticationForm):
    """Email and password; lets in team members with an admin-site role, not only ``is_staff``.

    Django's own form refuses anyone without ``is_staff``; ``is_staff`` here means
    platform staff, so merchants are let in by their store role instead.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the email and password of a store team account (owner, admin or "
        "staff) or of a platform administrator. Both fields may be case-sensitive.",
        "locked": "Too many failed logins for this account. Try again in %(seconds)s seconds.",
        "otp": "Two-factor authentication is on for this account: enter the current code from your "
        "authenticator app.",
    }

    otp = forms.CharField(
        label="One-time code", required=False, max_length=16,
        help_text="Only when two-factor authentication is on for your account.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "class": " ".join(BASE_INPUT_CLASSES)}),
    )

    @sensitive_variables("password")
    def clean(self):
        """The API's login rules (accounts.services.user_authenticate): the same lockout after
        repeated failures, and the TOTP code for an account with 2FA on, so neither can be
        bypassed by logging in here instead."""
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = user_authenticate(
                    email=email, password=password, otp=self.cleaned_data.get("otp") or None
                )
            except AccountLocked as exc:
                raise ValidationError(
                    self.error_messages["locked"], code="locked", params={"seconds": exc.retry_after}
                ) from exc
            except (OtpRequired, InvalidOtp) as exc:
                raise ValidationError(self.error_messages["otp"], code="otp") from exc
            except InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)  # refuses inactive users
        if not user_may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class StoreAdminSite(UnfoldAdminSite):
    """The merchant dashboard ("PMS"): one branded site for every app's admin, themed by django-unfold
    (its look, sidebar and site links come from ``settings.UNFOLD``).

    Superusers and members with an owner, admin or staff role sign in; viewers
    and customers cannot (the API serves their read-only needs).
    """

    site_header = "Store Admin"
    site_title = "Store Admin"
    site_url = "/api/docs/"  # "View site": the API's docs (settings.UNFOLD's SITE_URL, which unfold shows)
    index_title = "Dashboard"
    login_form = StoreAdminAuthenticationForm
    login_template = "accounts/admin_login.html"  # Django's login page with the one-time code field

    def has_permission(self, request) -> bool:
        return user_may_use_admin(request.user)


def admin_store_grants(request) -> dict[int, Grant] | None:
    """``teams.selectors.store_grants`` for this admin user's admin-site roles (owner, admin, staff):
    store id → role and permissions; None means every store (superuser). Cached on the request: one
    query per admin page, however many widgets ask."""
    if not hasattr(request, "_admin_store_grants"):
        request._admin_store_grants = store_grants(user=request.user, roles=ADMIN_SITE_ROLES)
    return request._admin_store_grants


def admin_store_ids_with(request, permission: str | None) -> list[int] | None:
    """The stores where this admin user holds ``permission`` (None: any admin-site role); None means
    every store (superuser)."""
    return store_ids_with(admin_store_grants(request), permission)


def object_store_id(obj, store_field: str) -> int | None:
    """The id of the store ``obj`` belongs to, following ``store_field`` ("store", "product__store", "pk")."""
    if store_field == "pk":
        return obj.pk
    *path, last = store_field.split("__")
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def may_write(admin_site, request, permission: str | None, obj, store_field: str) -> bool:
    """Whether the admin user may add (``obj`` None: in some store) or change/delete ``obj``."""
    if not admin_site.has_permission(request):
        return False
    store_ids = admin_store_ids_with(request, permission)
    if store_ids is None:
        return True
    if obj is None:
        return bool(store_ids)
    return object_store_id(obj, store_field) in store_ids


class ReadOnlyAdminMixin:
    """For an admin or inline whose rows are shown and never added, changed or deleted here (they are written by
    their services, or append-only); put it before the admin base class."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StoreScopedAdmin(AuditedAdminMixin, ModelAdmin):
    """Base for every admin of merchant-owned rows: limits what a member sees and may change to their stores.
    An unfold ``ModelAdmin`` (its widgets, changelist and actions).

    ``store_field`` is the lookup from the model to its store ("store", or
    "product__store" for a row that belongs to a store through its product; "pk"
    for Store itself). Changelists, change views, search, actions, list filters,
    foreign-key choices and autocompletes all go through ``get_queryset`` and
    ``formfield_for_foreignkey``.

    Who may do what comes from the one tenancy rule (``teams.selectors.store_grants``, the map in
    ``teams.permissions``), as in the API base (``teams.scoping``):
    ``write_permission`` is what adding, changing and deleting need, checked in the object's own
    store (None lets every admin-site role write); it also limits foreign-key choices and bulk
    deletes to the stores where it is held, and ``writable_store_ids(request)`` names them.
    ``view_permission`` is what seeing a row needs (None: an admin-site role, owner, admin or staff).

    Every save and delete is audited (``AuditedAdminMixin``: ``admin.<model>.<verb>``); an admin
    that writes through services auditing themselves sets ``audited_by_services = True``.
    """

    store_field = "store"
    write_permission: str | None = None
    view_permission: str | None = None

    # --- what may be seen ----------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        store_ids = self.visible_store_ids(request)
        if store_ids is None:
            return queryset
        return queryset.filter(**{f"{self.store_field}__in": store_ids})

    def visible_store_ids(self, request) -> list[int] | None:
        """The stores whose rows this admin user sees here; None means every store (superuser)."""
        return admin_store_ids_with(request, self.view_permission)

    def writable_store_ids(self, request) -> list[int] | None:
        """The stores where this admin user may add, change and delete here; None means every store."""
        return admin_store_ids_with(request, self.write_permission)

    def get_list_filter(self, request):
        # A plain related filter lists every row of the related table (every store's);
        # this one lists only values present in the scoped queryset.
        return [_scoped_filter(self.model, item) for item in super().get_list_filter(request)]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        store_ids = self.writable_store_ids(request)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids, admin_site=self.admin_site)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        store_ids = self.writable_store_ids(request)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids, admin_site=self.admin_site)
        return field

    # --- permissions ---------------------------------------------------------
    def _may_write(self, request, obj=None) -> bool:
        return may_write(self.admin_site, request, self.write_permission, obj, self.store_field)

    def has_module_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        if not self.admin_site.has_permission(request):
            return False
        store_ids = self.visible_store_ids(request)
        return store_ids is None or obj is None or object_store_id(obj, self.store_field) in store_ids

    def has_add_permission(self, request) -> bool:
        return self._may_write(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    def delete_queryset(self, request, queryset):
        # The changelist shows every store the user sees; bulk deletes reach only those they may write.
        store_ids = self.writable_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(**{f"{self.store_field}__in": store_ids})
        super().delete_queryset(request, queryset)


class StoreScopedInline(TabularInline):
    """Inline rows of a store-scoped parent: the same foreign-key limits and write rules as the parent.

    ``obj`` in the permission hooks is the parent object.
    """

    write_permission: str | None = None
    parent_store_field = "store"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        store_ids = admin_store_ids_with(request, self.write_permission)
        if field is not None and store_ids is not None:
            field.queryset = scope_to_stores(field.queryset, store_ids, admin_site=self.admin_site)
        return field

    def _may_write(self, request, obj=None) -> bool:
        return may_write(self.admin_site, request, self.write_permission, obj, self.parent_store_field)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)


def _scoped_filter(model, item):
    if isinstance(item, str) and "__" not in item:
        try:
            field = model._meta.get_field(item)
        except Exception:  # a callable's name or a lookup Django resolves later
            return item
        if field.is_relation:
            return (item, RelatedOnlyFieldListFilter)
    return item


def scope_to_stores(queryset, store_ids: list[int], *, admin_site=None):
    """Limits a queryset of foreign-key choices to ``store_ids``.

    Store: those stores. User: members of those stores (never every user of the
    platform). A model with a ``store`` foreign key, or with a StoreScopedAdmin on
    ``admin_site`` (its ``store_field`` is followed): its rows in those stores.
    Anything else (platform-wide tables) is left as it is.
    """
    model = queryset.model
    if model._meta.label == "stores.Store":
        return queryset.filter(pk__in=store_ids)
    if model is get_user_model():
        return queryset.filter(memberships__store_id__in=store_ids).distinct()
    related_admin = admin_site._registry.get(model) if admin_site is not None else None
    if isinstance(related_admin, StoreScopedAdmin):
        return queryset.filter(**{f"{related_admin.store_field}__in": store_ids})
    field = next((f for f in model._meta.get_fields() if f.name == "store"), None)
    if isinstance(field, models.ForeignKey):
        return queryset.filter(store_id__in=store_ids)
    return queryset
