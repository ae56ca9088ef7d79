from contextvars import ContextVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditLogImmutable(Exception):
    """An audit entry was about to be changed or deleted: the log is append-only."""


# True only inside auditlog.services.audit_maintenance: a person's erasure and the retention rule, nothing else.
maintenance_var: ContextVar[bool] = ContextVar("auditlog_maintenance", default=False)


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # Deleting a user nulls their entries' actor_user (actor_label keeps who it was).
        if maintenance_var.get() or (
                set(kwargs) <= {"actor_user", "actor_user_id"} and all(value is None for value in kwargs.values())):
            return super().update(**kwargs)
        raise AuditLogImmutable("Audit log entries cannot be changed.")

    def delete(self):
        if maintenance_var.get():
            return super().delete()
        raise AuditLogImmutable("Audit log entries cannot be deleted.")


class AuditLog(models.Model):
    """Who did what to which object of a store, when and from where. Append-only.

    The model refuses updates and deletes; on PostgreSQL a trigger refuses them too
    (except nulling ``actor_user`` when that user is deleted: ``actor_label`` keeps who it was).
    Two rules may change it, each through ``auditlog.services.audit_maintenance``: erasing a person
    (``audit_person_erase``) and the retention period (``audit_entries_prune``).
    """

    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="audit_logs")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True, help_text="The user's email, apikey:<id> or system")
    actor_id = models.CharField(max_length=64, blank=True, help_text="The actor's id (user or API key)")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="auditlog_store_created"),
            models.Index(fields=["store", "action", "-created_at"], name="auditlog_store_action"),
            models.Index(fields=["store", "object_type", "object_id"], name="auditlog_store_object"),
            models.Index(fields=["store", "actor_user", "-created_at"], name="auditlog_store_actor_user"),
            models.Index(fields=["store", "actor_label", "-created_at"], name="auditlog_store_actor_label"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or 'system'} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditLogImmutable("Audit log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("Audit log entries cannot be deleted.")


# --- The security log (auditlog.security writes it; docs/SECURITY.md) ---------------------------------------------


class SecurityKind(models.TextChoices):
    LOGIN_FAILED = "login_failed", "Login failed"
    LOCKOUT = "lockout", "Account locked"
    TWO_FACTOR_ENABLED = "2fa_enabled", "2FA enabled"
    TWO_FACTOR_DISABLED = "2fa_disabled", "2FA disabled"
    TWO_FACTOR_FAILED = "2fa_failed", "2FA code refused"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "password_reset_completed", "Password reset completed"
    API_KEY_NEW_ADDRESS = "api_key_new_address", "API key used from a new address"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid", "Forged or invalid webhook signature"
    PERMISSION_DENIED = "permission_denied", "Permission denied"
    THROTTLED = "throttled", "Throttled burst"


class SecurityEvent(models.Model):
    """One security-relevant thing that happened, written only by ``auditlog.security.record_security_event``.

    Tied to a store (``store``: a webhook, a permission refused in it, one of its API keys) and/or to a person
    (``user``: their login, their 2FA); a store's log shows both its own events and its members' (the reading side,
    ``auditlog.security_reports``). Never a password, code, token or key; the email a login tried is kept only as
    a keyed hash (``email_hash``: the failures against one address can be told apart, the address not read back).
    """

    kind = models.CharField(max_length=40, choices=SecurityKind.choices)
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    api_key_id = models.BigIntegerField(null=True, blank=True)
    email_hash = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="security_store_created"),
            models.Index(fields=["user", "-created_at"], name="security_user_created"),
            models.Index(fields=["kind", "-created_at"], name="security_kind_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind}"


class ApiKeyAddress(models.Model):
    """An address an API key has been used from (the security log's ``api_key_new_address``). ``last_seen`` moves
    at most once a day per key and address (the cache remembers the pair in between)."""

    api_key_id = models.BigIntegerField()
    ip = models.GenericIPAddressField()
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key_id", "ip"], name="apikeyaddress_key_ip")]


class SecurityDigest(models.Model):
    """The daily summary mailed to a store's owners: one row per store and day, so a redelivered task sends once."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    events = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="securitydigest_store_day")]
