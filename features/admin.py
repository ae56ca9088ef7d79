"""Feature flags in the admin: platform flags (no store) by platform superusers only, a store's flags by its members
with store.manage. Every save and delete goes through features.services (audited for stores)."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from unfold.widgets import UnfoldAdminSelectWidget

from config.api.actor import request_actor
from config.api.errors import DomainError
from teams.admin_base import StoreScopedAdmin
from teams.permissions import STORE_MANAGE

from .flags import flags_for, flags_preload, is_enabled
from .models import FeatureFlag
from .registry import FLAGS, REGISTRY
from .services import feature_flag_check, feature_flag_reset, feature_flag_set


def _choice(flag) -> tuple[str, str]:
    scope = "platform-wide" if flag.platform_only else "platform and stores"
    return flag.name, f"{flag.name} ({scope}, default {'on' if flag.default else 'off'})"


class FeatureFlagForm(forms.ModelForm):
    name = forms.ChoiceField(widget=UnfoldAdminSelectWidget)

    class Meta:
        model = FeatureFlag
        fields = ["name", "store", "enabled"]

    def __init__(self, *args, superuser: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        flags = FLAGS if superuser else [flag for flag in FLAGS if not flag.platform_only]
        self.fields["name"].choices = [_choice(flag) for flag in flags]
        self.fields["name"].help_text = " ".join(f"{flag.name}: {flag.description}" for flag in flags)
        if "store" in self.fields:
            self.fields["store"].required = not superuser
            if superuser:
                self.fields["store"].help_text = "Empty: the whole platform (its off switches the feature off in " \
                                                 "every store)."
        if self.instance.pk:  # which flag and whose: fixed once saved
            for name in ("name", "store"):
                if name in self.fields:
                    self.fields[name].disabled = True

    def clean(self):
        data = super().clean()
        name, store = data.get("name"), data.get("store")
        if name:
            if not self.instance.pk and FeatureFlag.objects.filter(name=name, store=store).exists():
                self.add_error("name", "This flag is already set here: change that row.")
            try:
                feature_flag_check(name=name, store=store, enabled=bool(data.get("enabled")))
            except DomainError as exc:
                self.add_error("name" if store is None or REGISTRY[name].platform_only else "enabled",
                               (exc.details.get(name) or [exc.message])[0])
        return data


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("platform", "Platform"), ("store", "Stores")]

    def queryset(self, request, queryset):
        if self.value() == "platform":
            return queryset.filter(store__isnull=True)
        if self.value() == "store":
            return queryset.filter(store__isnull=False)
        return queryset


@admin.register(FeatureFlag)
class FeatureFlagAdmin(StoreScopedAdmin):
    """A row is a switch set away from the registry's default (no row: the default; deleting a row goes back to
    it). Members see their stores' rows; superusers the platform's too."""

    audited_by_services = True
    form = FeatureFlagForm
    write_permission = STORE_MANAGE
    list_display = ["name", "scope", "enabled", "in_effect", "updated_by", "updated_at"]
    list_filter = [ScopeFilter, "name", "enabled"]
    search_fields = ["name", "store__name", "store__slug"]
    list_select_related = ["store"]
    readonly_fields = ["updated_by", "updated_at"]
    list_before_template = "features/known_flags.html"

    def changelist_view(self, request, extra_context=None):
        platform = flags_for(None)
        known = [{"name": flag.name, "default": flag.default, "platform_only": flag.platform_only,
                  "description": flag.description, "platform": platform[flag.name]} for flag in FLAGS]
        return super().changelist_view(request, {**(extra_context or {}), "known_flags": known})

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        superuser = request.user.is_superuser

        class Scoped(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, superuser=superuser, **inner)

        return Scoped

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if not request.user.is_superuser:
            rows = rows.filter(~Q(store__isnull=True))
        return rows

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        flags_preload(row.store_id for row in changelist.result_list if row.store_id is not None)  # in effect: once
        return changelist

    @admin.display(description="scope", ordering="store__name")
    def scope(self, row: FeatureFlag) -> str:
        return "Platform" if row.store_id is None else str(row.store)

    @admin.display(description="in effect", boolean=True)
    def in_effect(self, row: FeatureFlag) -> bool:
        return is_enabled(row.name, store=row.store_id) if row.name in REGISTRY else False

    def save_model(self, request, obj, form, change):
        feature_flag_set(name=obj.name, enabled=obj.enabled, store=obj.store, actor=request_actor(request))
        saved = FeatureFlag.objects.filter(name=obj.name, store=obj.store).first()
        if saved is not None:
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        feature_flag_reset(name=obj.name, store=obj.store, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        writable = self.writable_store_ids(request)
        for row in queryset.select_related("store"):
            if writable is None or row.store_id in writable:
                feature_flag_reset(name=row.name, store=row.store, actor=request_actor(request))
