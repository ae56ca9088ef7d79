from rest_framework import serializers

from .models import AuditLog


class AuditLogOutput(serializers.ModelSerializer):
    actor_user = serializers.IntegerField(source="actor_user_id", allow_null=True, read_only=True)

    class Meta:
        model = AuditLog
        fields = [
            "id", "actor_user", "actor_label", "actor_id", "action", "object_type", "object_id", "changes",
            "ip", "user_agent", "request_id", "created_at",
        ]
        read_only_fields = fields
