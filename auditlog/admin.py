from django.contrib import admin

from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import AUDIT_READ

from .models import AuditLog


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
