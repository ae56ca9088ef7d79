"""Platform staff's view of data rights: the retention report (the rules, what is due now, the runs) and the record of
erasures. Rows only the services write: read-only."""

from django.contrib import admin
from django.utils import timezone
from unfold.admin import ModelAdmin

from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import AUDIT_READ

from .models import Erasure, RetentionRun
from .services import retention_kinds


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    """The retention report: each kind's rule and what it would remove now (counted live, as `enforce_retention
    --dry-run` does), above the runs of the job and the command."""

    change_list_template = "admin/privacy/retentionrun/change_list.html"
    list_display = ["started_at", "dry_run", "removed", "summary"]
    list_filter = ["dry_run"]
    readonly_fields = ["dry_run", "started_at", "finished_at", "results"]

    @admin.display(description="Rows")
    def removed(self, run: RetentionRun) -> int:
        return sum(run.results.values())

    @admin.display(description="Per kind")
    def summary(self, run: RetentionRun) -> str:
        return ", ".join(f"{kind} {count}" for kind, count in run.results.items() if count) or "nothing"

    def changelist_view(self, request, extra_context=None):
        now = timezone.now()
        policy = [
            {"name": kind.name, "what": kind.what,
             "kept": f"{kind.kept_for} {kind.unit}" if kind.kept_for else "for ever",
             "due": kind.enforce(now=now, dry_run=True)}
            for kind in retention_kinds()
        ]
        return super().changelist_view(request, extra_context={**(extra_context or {}), "policy": policy})


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Every erasure: what kind, who asked, how many rows per table; never the erased data. Members with audit.read
    see their store's guest erasures; platform staff see all (accounts have no store)."""

    list_display = ["created_at", "kind", "subject", "store", "actor_label", "counts"]
    list_filter = ["kind"]
    list_select_related = ["store"]
    view_permission = AUDIT_READ

    def get_actions(self, request):
        return {}
