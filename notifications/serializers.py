from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from . import events
from .models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class NotificationOutput(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "store", "event_type", "title", "body", "data", "read", "read_at", "created_at"]
        read_only_fields = fields

    def get_read(self, obj: Notification) -> bool:
        return obj.read_at is not None


class ReadAllOutput(serializers.Serializer):
    updated = serializers.IntegerField()


class PreferenceInput(serializers.Serializer):
    in_app = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class PreferenceOutput(serializers.Serializer):
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()
    default = serializers.BooleanField(help_text="true while no choice was saved: the role's default applies")


def preferences_validate(data) -> dict[str, dict[str, bool]]:
    """``{"order.created": {"in_app": true, "email": false}, ...}`` (any non-empty subset of event types)."""
    if not isinstance(data, dict) or not data:
        raise serializers.ValidationError({"non_field_errors": ["Send an object keyed by event type."]})
    unknown = sorted(set(data) - set(events.NOTIFICATION_EVENT_TYPES))
    if unknown:
        raise serializers.ValidationError({name: ["Unknown event type."] for name in unknown})
    result, errors = {}, {}
    for event_type, choice in data.items():
        item = PreferenceInput(data=choice)
        if item.is_valid():
            result[event_type] = dict(item.validated_data)
        else:
            errors[event_type] = item.errors
    if errors:
        raise serializers.ValidationError(errors)
    return result


PREFERENCES_SCHEMA = inline_serializer(
    "NotificationPreferences", {name: PreferenceOutput() for name in events.NOTIFICATION_EVENT_TYPES}
)
PREFERENCES_INPUT_SCHEMA = inline_serializer(
    "NotificationPreferencesInput",
    {name: PreferenceInput(required=False) for name in events.NOTIFICATION_EVENT_TYPES},
)


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=events.WEBHOOK_EVENT_TYPES), allow_empty=False, max_length=50
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateInput(WebhookEndpointInput):
    is_active = serializers.BooleanField(required=False)


class WebhookEndpointOutput(serializers.ModelSerializer):
    secret = serializers.CharField(source="secret_masked", read_only=True, help_text="masked: ••••last4")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "description", "events", "is_active", "secret", "failure_count", "disabled_at",
            "created_at", "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedOutput(WebhookEndpointOutput):
    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown only in this answer")


class WebhookDeliveryFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.STATUS_CHOICES, required=False, allow_blank=True)


class WebhookAttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["id", "status_code", "duration_ms", "response_excerpt", "error", "succeeded", "created_at"]
        read_only_fields = fields


class WebhookDeliveryOutput(serializers.ModelSerializer):
    attempt_log = WebhookAttemptOutput(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event_type", "webhook_id", "payload", "status", "attempts", "next_attempt_at",
            "last_status_code", "last_error", "created_at", "updated_at", "attempt_log",
        ]
        read_only_fields = fields
