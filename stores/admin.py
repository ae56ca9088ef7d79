from django import forms
from django.contrib import admin, messages

from config.api.actor import request_actor
from config.api.errors import DomainError
from plans.services import plan_feature_check, store_plan_set
from teams.admin_base import StoreScopedAdmin
from teams.permissions import STORE_MANAGE

from .models import Store
from .services import store_create, store_currency_check, store_deactivate, store_slug_check, store_update

CREATE_ARGUMENTS = ("owner", "name", "currency", "slug")


class StoreForm(forms.ModelForm):
    """A superuser's slug (the only one who sets it here) follows the API's rules: lower case, and
    taken in any case ("Shop" takes "shop")."""

    class Meta:
        model = Store
        fields = "__all__"

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        try:
            store_slug_check(slug=slug, store=self.instance if self.instance.pk else None)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return slug

    def clean(self):
        cleaned = super().clean()
        sender = cleaned.get("email_sender")
        if sender and sender != self.instance.email_sender:
            # the plan chosen on this same form counts (a superuser upgrading and setting the sender at once)
            plan = cleaned["plan"] if "plan" in cleaned else self.instance.plan
            try:
                plan_feature_check(store=Store(pk=self.instance.pk, plan=plan), feature="custom_email_sender")
            except DomainError as exc:
                self.add_error("email_sender", exc.message)
        return cleaned

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if self.instance.pk:
            try:
                store_currency_check(store=self.instance, currency=currency)
            except DomainError as exc:
                raise forms.ValidationError(exc.details.get("currency") or exc.message) from None
        return currency


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    """Members see their stores; store.manage edits the settings and deactivates. Only platform
    superusers add stores here (merchants create theirs through POST /api/v1/stores), move a slug or
    an owner, or switch a store back on. Stores are never deleted: their audit log stays.

    Every save goes through stores.services, which audits it (``store.created``, ``store.updated``,
    ``store.deactivated``)."""

    audited_by_services = True
    form = StoreForm
    store_field = "pk"
    write_permission = STORE_MANAGE
    list_display = ["name", "slug", "currency", "plan", "is_active", "created_at"]
    list_filter = ["is_active", "plan"]
    search_fields = ["name", "slug", "contact_email"]
    raw_id_fields = ["owner"]
    actions = ["deactivate_selected"]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ["created_at", "updated_at"]
        # The slug is in every URL, the owner field records the creator, and a deactivated store
        # is switched back on by the platform: none of them moves here.
        return ["slug", "owner", "is_active", "plan", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivated instead (the action, or is_active for superusers)

    def save_model(self, request, obj, form, change):
        data = {name: ("" if name == "logo" and value is False else value)  # a cleared logo
                for name, value in form.cleaned_data.items()}
        if change:
            if request.user.is_superuser and "plan" in form.changed_data:
                # the platform assigns plans by hand (without billing, or to override it)
                store_plan_set(store=Store.objects.get(pk=obj.pk), plan=data["plan"], actor=request_actor(request))
            saved = store_update(
                store=Store.objects.get(pk=obj.pk), actor=request_actor(request),
                platform=request.user.is_superuser,
                **{name: data[name] for name in form.changed_data if name in data and name != "plan"},
            )
        else:
            saved = store_create(
                **{name: data.get(name) for name in CREATE_ARGUMENTS}, actor=request_actor(request),
                **{name: value for name, value in data.items() if name not in CREATE_ARGUMENTS},
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Deactivate selected stores", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        store_ids = self.writable_store_ids(request)
        if store_ids is not None:
            queryset = queryset.filter(pk__in=store_ids)
        done = 0
        for store in queryset.filter(is_active=True):
            store_deactivate(store=store, actor=request_actor(request))
            done += 1
        self.message_user(request, f"{done} store(s) deactivated.", messages.SUCCESS)
