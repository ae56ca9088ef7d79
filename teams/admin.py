from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminEmailInputWidget

from config.api.actor import request_actor
from config.api.errors import DomainError, PermissionDenied
from plans.errors import PlanLimitReached
from plans.services import plan_limit_check
from teams.admin_base import StoreScopedAdmin
from teams.selectors import store_access

from .models import ApiKey, Invitation, Membership
from .permissions import ALL_PERMISSIONS, OWNER, TEAM_MANAGE
from .services import (
    OWNER_MANAGERS,
    api_key_create,
    api_key_revoke,
    invitation_create,
    invitation_revoke,
    member_add,
    member_add_check,
    member_change_check,
    member_remove,
    member_remove_check,
    member_role_change,
)


def _access(request, store):
    return store_access(store=store, user=request.user)


def _plan_room(store, limit: str, *, field: str) -> None:
    """The plan's limit, as the service will check it, shown on the form's ``field``."""
    try:
        plan_limit_check(store=store, limit=limit)
    except PlanLimitReached as exc:
        raise ValidationError({field: exc.message}) from None


class SaveRefused(Exception):
    """A service refused a save the form had passed: the team changed in between (someone added the
    same member, demoted the other owner). MembershipAdmin shows the form again with this error."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class MembershipForm(forms.ModelForm):
    admin_request = None

    def clean(self):
        cleaned = super().clean()
        refused = getattr(self.admin_request, "membership_save_refused", None)
        if refused is not None:
            self.add_error(refused.field, refused.message)
        return cleaned


class MembershipAddForm(MembershipForm):
    """Adds an existing user by email: the admin never lists the platform's users."""

    email = forms.EmailField(widget=UnfoldAdminEmailInputWidget)

    class Meta:
        model = Membership
        fields = ["store", "role"]

    def clean(self):
        cleaned = super().clean()
        store, role, email = cleaned.get("store"), cleaned.get("role"), cleaned.get("email")
        if not (store and role and email):
            return cleaned
        try:
            member_add_check(store=store, email=email, role=role, access=_access(self.admin_request, store))
        except DomainError as exc:
            raise ValidationError({"role" if isinstance(exc, PermissionDenied) else "email": exc.message}) from None
        return cleaned


class MembershipChangeForm(MembershipForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def clean_role(self):
        role = self.cleaned_data["role"]
        try:
            member_change_check(membership=self.instance, role=role,
                                access=_access(self.admin_request, self.instance.store))
        except DomainError as exc:
            raise ValidationError(exc.message) from None
        return role


@admin.register(Membership)
class MembershipAdmin(StoreScopedAdmin):
    """Team members: everyone in the admin sees them; team.manage adds, changes and removes (through
    teams.services, which audit each change)."""

    audited_by_services = True
    write_permission = TEAM_MANAGE
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store"]
    search_fields = ["user__email", "user__name", "store__name"]
    list_select_related = ["user", "store"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = MembershipChangeForm if obj is not None else MembershipAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        form.admin_request = request
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "store", "role"]
        return ["user", "store", "role", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "store", "created_at"] if obj is not None else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRefused as refused:
            # The view's transaction is rolled back: nothing was saved. The same POST again, now
            # with the service's answer as the form's error, instead of a 500.
            request.membership_save_refused = refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            # the row as stored: the form has already put the new role on ``obj``
            membership = Membership.objects.select_related("store").get(pk=obj.pk)
            try:
                member_role_change(membership=membership, role=form.cleaned_data["role"],
                                   access=_access(request, membership.store), actor=request_actor(request))
            except DomainError as exc:
                raise SaveRefused("role", exc.message) from exc
            return
        store = form.cleaned_data["store"]
        try:
            membership = member_add(store=store, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                                    access=_access(request, store), actor=request_actor(request))
        except DomainError as exc:  # AlreadyExists: someone added this user since the form was checked
            raise SaveRefused("role" if isinstance(exc, PermissionDenied) else "email", exc.message) from exc
        obj.pk, obj.user = membership.pk, membership.user

    def has_delete_permission(self, request, obj=None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True
        try:
            member_remove_check(membership=obj, access=_access(request, obj.store))
        except DomainError:
            return False
        return True

    def delete_model(self, request, obj):
        member_remove(membership=obj, access=_access(request, obj.store), actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("store", "user"):
            if not super().has_delete_permission(request, membership):
                continue
            try:
                member_remove(membership=membership, access=_access(request, membership.store),
                              actor=request_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{membership.user}: {exc.message}", messages.ERROR)


class TeamManageReadsMixin:
    """Rows the API lists to team.manage only (keys, and invitations, which hold people's emails): the
    admin shows them only in the stores where the user holds team.manage, not to every admin-site role."""

    view_permission = TEAM_MANAGE

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email", "store", "role"]

    def clean(self):
        cleaned = super().clean()
        store, role = cleaned.get("store"), cleaned.get("role")
        if store and role == OWNER and _access(self.admin_request, store).role not in OWNER_MANAGERS:
            raise ValidationError({"role": "Only an owner can invite an owner."})
        email = cleaned.get("email")
        if store and email and Membership.objects.filter(store=store, user__email__iexact=email).exists():
            raise ValidationError({"email": "This email already belongs to a member of the store."})
        if store:
            _plan_room(store, "staff", field="store")
        return cleaned


@admin.register(Invitation)
class InvitationAdmin(TeamManageReadsMixin, StoreScopedAdmin):
    """Invitations (team.manage, to see them too): sent from here or the API, revoked by the action, never
    deleted (the row is the record); the token is in the email only (its hash is never shown).
    teams.services audit each change."""

    audited_by_services = True
    write_permission = TEAM_MANAGE
    list_display = ["email", "store", "role", "status", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "store"]
    search_fields = ["email", "store__name"]
    actions = ["revoke"]
    form = InvitationForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.admin_request = request
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "store", "role"]
        return ["email", "store", "role", "status", "invited_by", "created_at", "expires_at", "accepted_at",
                "accepted_by", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an invitation is sent or revoked, never edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted

    def save_model(self, request, obj, form, change):
        store = form.cleaned_data["store"]
        invitation = invitation_create(
            store=store, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
            access=_access(request, store), invited_by=request.user, actor=request_actor(request),
        )
        for field in Invitation._meta.concrete_fields:
            setattr(obj, field.attname, getattr(invitation, field.attname))

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        store_ids = self.writable_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(store_id__in=store_ids)
        for invitation in queryset:
            invitation_revoke(invitation=invitation, actor=request_actor(request))
        self.message_user(request, "Revoked.", messages.SUCCESS)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(name, name) for name in ALL_PERMISSIONS], required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )

    class Meta:
        model = ApiKey
        fields = ["name", "store", "scopes"]

    def clean(self):
        cleaned = super().clean()
        store = cleaned.get("store")
        if store:
            beyond = set(cleaned.get("scopes") or []) - _access(self.admin_request, store).permissions
            if beyond:
                raise ValidationError({"scopes": f"You do not hold: {', '.join(sorted(beyond))}."})
            _plan_room(store, "api_keys", field="store")
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(TeamManageReadsMixin, StoreScopedAdmin):
    """API keys (team.manage, to see them too): created here or by the API, shown once (in a message),
    revoked by the action (through teams.services, which audit each change)."""

    audited_by_services = True
    write_permission = TEAM_MANAGE
    form = ApiKeyForm
    list_display = ["name", "prefix", "store", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.admin_request = request
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "store", "scopes"]
        return ["name", "store", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a key is created or revoked, never edited

    def save_model(self, request, obj, form, change):
        store = form.cleaned_data["store"]
        api_key, key = api_key_create(
            store=store, name=form.cleaned_data["name"], scopes=form.cleaned_data.get("scopes") or [],
            created_by=request.user, access=_access(request, store), actor=request_actor(request),
        )
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(api_key, field.attname))
        self.message_user(
            request, f"The key for “{api_key.name}” is {key} — copy it now: it is stored hashed and never "
            "shown again.", messages.WARNING,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the row stays as the record of what the key was

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        store_ids = self.writable_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(store_id__in=store_ids)
        for api_key in queryset:
            api_key_revoke(api_key=api_key, actor=request_actor(request))
        self.message_user(request, "Revoked.", messages.SUCCESS)
