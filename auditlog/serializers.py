from rest_framework import serializers

from .models import AuditLog, SecurityEvent, SecurityKind


class AuditLogOutput(serializers.ModelSerializer):
    actor_user = serializers.IntegerField(source="actor_user_id", allow_null=True, read_only=True)

    class Meta:
        model = AuditLog
        fields = [
            "id", "actor_user", "actor_label", "actor_id", "action", "object_type", "object_id", "changes",
            "ip", "user_agent", "request_id", "created_at",
        ]
        read_only_fields = fields


class SecurityEventOutput(serializers.ModelSerializer):
    """One event of the security log. type: what happened; actor: the person's email (as the account reads now: an
    erased one is deleted-<id>@deleted.invalid), else apikey:<id>, else null (an anonymous caller, a gateway)."""

    type = serializers.ChoiceField(source="kind", choices=SecurityKind.choices, read_only=True)
    actor = serializers.SerializerMethodField()
    user = serializers.IntegerField(source="user_id", allow_null=True, read_only=True)
    api_key = serializers.IntegerField(source="api_key_id", allow_null=True, read_only=True)

    class Meta:
        model = SecurityEvent
        fields = ["id", "type", "actor", "user", "api_key", "ip", "details", "created_at"]
        read_only_fields = fields

    def get_actor(self, event: SecurityEvent) -> str | None:
        if event.user_id is not None and event.user is not None:
            return event.user.email
        if event.api_key_id is not None:
            return f"apikey:{event.api_key_id}"
        return None
