import base64
import secrets

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from config.fields import EncryptedTextField, mask


class Notification(models.Model):
    """An in-app notification for one user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    store = models.ForeignKey(
        "stores.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event_type = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64, blank=True, help_text="The emitted event (one notification per user)")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event_id"], condition=~models.Q(event_id=""), name="notification_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.title}"


class NotificationPreference(models.Model):
    """A user's choice for one event type; without one, their role's default applies."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event_type = models.CharField(max_length=64)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)

    class Meta:
        ordering = ["user_id", "event_type"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event_type"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.event_type}"


def webhook_secret_generate() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A merchant's URL that receives signed event deliveries."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types this endpoint receives")
    secret = EncryptedTextField(default=webhook_secret_generate, editable=False)
    is_active = models.BooleanField(default=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Consecutive failed deliveries")
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "id"]
        indexes = [models.Index(fields=["store", "is_active"], name="webhook_endpoint_store_active")]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_masked(self) -> str:
        return mask(self.secret)


class WebhookDelivery(models.Model):
    """One event sent to one endpoint, retried until it succeeds or gives up."""

    PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
    STATUS_CHOICES = [(PENDING, "Pending"), (SUCCEEDED, "Succeeded"), (FAILED, "Failed")]

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    webhook_id = models.CharField(max_length=64, help_text="The webhook-id header (msg_…), the same on every retry")
    payload = models.JSONField(encoder=DjangoJSONEncoder, help_text='The body: {"type", "timestamp", "data"}')
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts in the current round (redeliver resets)")
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} ({self.status})"

    @property
    def succeeded(self) -> bool:
        return self.status == self.SUCCEEDED


class WebhookAttempt(models.Model):
    """The log of one HTTP attempt of a delivery."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery_id", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} · {self.status_code or self.error}"
