import django_filters
from django.db.models import Q

from .models import AuditLog

MAX_ID = 2**63 - 1


class AuditLogFilter(django_filters.FilterSet):
    """``actor`` is a user id, an email or a label such as ``apikey:3``; ``since``/``until`` are ISO datetimes."""

    actor = django_filters.CharFilter(method="filter_actor")
    action = django_filters.CharFilter(method="filter_action", help_text="exact, or a prefix ending in '.' or '*'")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields = ["actor", "action", "object_type", "object_id", "since", "until"]

    def filter_actor(self, queryset, name, value):
        # isdigit() alone also passes "²" (int() refuses it) and ids past 64 bits (the database does)
        if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
            return queryset.filter(Q(actor_user_id=int(value)) | Q(actor_label=value))
        return queryset.filter(actor_label__iexact=value)

    def filter_action(self, queryset, name, value):
        if value.endswith("*") or value.endswith("."):
            return queryset.filter(action__startswith=value.rstrip("*"))
        return queryset.filter(action=value)


def audit_log_list(*, store):
    return AuditLog.objects.filter(store=store).select_related("actor_user")
