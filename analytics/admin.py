"""Exports in the admin: ask for one (a worker writes it and notifies you with a link, as POST …/exports does),
see how it went, download it for 24 hours. The admin's dashboard figures come from analytics.selectors.dashboard."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html

from config.api.actor import request_actor
from teams.admin_base import StoreScopedAdmin, admin_store_ids_with

from .exports import PERMISSIONS
from .models import Export, ExportType
from .services import export_request, export_url


def _store_ids_allowed(request, export_type: str) -> list[int] | None:
    """The stores where this admin user may export ``export_type`` (None: every store)."""
    return admin_store_ids_with(request, PERMISSIONS[export_type])


class ExportForm(forms.ModelForm):
    class Meta:
        model = Export
        fields = ["store", "type", "format"]

    def clean(self):
        data = super().clean()
        store, export_type = data.get("store"), data.get("type")
        if store is not None and export_type:
            allowed = _store_ids_allowed(self.request, export_type)
            if allowed is not None and store.pk not in allowed:
                self.add_error("type", f"Exporting {export_type} needs the {PERMISSIONS[export_type]} permission "
                                       "in this store.")
        return data


@admin.register(Export)
class ExportAdmin(StoreScopedAdmin):
    """Members see the exports of their stores they could ask for (orders and customers: orders.manage) and ask for
    new ones; nothing is edited or deleted here (files go after EXPORT_RETENTION_DAYS)."""

    audited_by_services = True
    form = ExportForm
    list_display = ["type", "format", "status", "rows", "store", "requested_by_label", "created_at", "download"]
    list_filter = ["type", "format", "status"]
    actions = ["export_again"]

    def get_queryset(self, request):
        exports = super().get_queryset(request)
        limited = [(kind, _store_ids_allowed(request, kind)) for kind in ExportType.values]
        if all(store_ids is None for _, store_ids in limited):
            return exports
        allowed = Q()
        for kind, store_ids in limited:
            allowed |= Q(type=kind) if store_ids is None else Q(type=kind, store_id__in=store_ids)
        return exports.filter(allowed)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        export = export_request(store=obj.store, type=obj.type, format=obj.format, actor=request_actor(request),
                                base_url=request.build_absolute_uri("/").rstrip("/"))
        obj.pk = export.pk
        self.message_user(request, "A worker is writing the export; you will be notified with a link.",
                          messages.SUCCESS)

    @admin.display(description="Download")
    def download(self, export: Export):
        url = export_url(export=export)
        return format_html('<a href="{}">{}</a>', url, "download (24 h)") if url else "—"

    @admin.action(description="Export the selected again (fresh data)", permissions=["add"])
    def export_again(self, request, queryset):
        for export in queryset.select_related("store"):
            export_request(store=export.store, type=export.type, format=export.format, actor=request_actor(request),
                           base_url=request.build_absolute_uri("/").rstrip("/"))
        self.message_user(request, f"{queryset.count()} export(s) asked for; you will be notified with links.",
                          messages.SUCCESS)
