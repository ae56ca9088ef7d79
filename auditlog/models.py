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
