from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q

from .models import AuditLog

MAX_ID = 2**63 - 1


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO datetime compared in UTC: Python takes offsets up to ±23:59, PostgreSQL only ±15:59."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # the offset moves it past year 1 or 9999
                raise ValidationError({self.field_name: ["Out of range."]}) from None
        return super().filter(qs, value)


class AuditLogFilter(django_filters.FilterSet):
    """``actor`` is a user id, an email or a label such as ``apikey:3``; ``since``/``until`` are ISO datetimes."""

    actor = django_filters.CharFilter(method="filter_actor")
    action = django_filters.CharFilter(method="filter_action", help_text="exact, or a prefix ending in '.' or '*'")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
