from django.contrib import admin

from config.admin_mixins import SuperuserOnlyAdminMixin
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import AUDIT_READ

from .models import AuditLog, SecurityEvent


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Read-only: the log is append-only; members see the stores where they hold audit.read."""

    list_display = ["created_at", "store", "actor_label", "action", "object_type", "object_id", "ip"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["action", "actor_label", "object_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["store"]
    readonly_fields = [
        "store", "actor_user", "actor_label", "actor_id", "action", "object_type", "object_id", "changes", "ip",
        "user_agent", "request_id", "created_at",
    ]
    fields = readonly_fields
    show_full_result_count = False
    view_permission = AUDIT_READ

    def get_actions(self, request):
        return {}


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, SuperuserOnlyAdminMixin, StoreScopedAdmin):
    """The platform's security log, every store's events and the store-less ones: superusers only, read-only (a
    store reads its own through GET …/security-events). Store-scoped like every admin of store rows, so the
    tenancy rule still holds should members ever be let in."""

    list_display = ["created_at", "kind", "store", "user", "api_key_id", "ip", "details"]
    list_filter = ["kind", "created_at", "store"]
    search_fields = ["ip", "request_id", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["store", "user"]
    readonly_fields = ["kind", "store", "user", "api_key_id", "email_hash", "ip", "user_agent", "request_id",
                       "details", "created_at"]
    fields = readonly_fields
    show_full_result_count = False
    view_permission = AUDIT_READ

    def get_actions(self, request):
        return {}
