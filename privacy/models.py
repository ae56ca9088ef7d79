"""Data rights' own records: a person's data exports, the erasures made (without the erased data) and the retention
job's runs. The consent record is accounts.Consent (consent is asked below this layer)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class DataExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


OPEN_STATUSES = [DataExportStatus.PENDING, DataExportStatus.RUNNING]


class DataExport(models.Model):
    """A ZIP of everything the platform holds about one person (POST /me/data-export), written by a worker to the
    private exports storage; the person gets a link valid 24 hours by email. One open (pending or running) per
    person, which the database enforces too."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=DataExportStatus.choices, default=DataExportStatus.PENDING)
    # the site the link points at: PUBLIC_BASE_URL, else the host the export was asked from
    base_url = models.CharField(max_length=255, blank=True)
    file = models.CharField(max_length=255, blank=True, help_text="The file's name in the exports storage.")
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(status__in=OPEN_STATUSES),
                                    name="data_export_one_open_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"], name="data_export_created")]

    def __str__(self) -> str:
        return f"data export #{self.pk}"


class ErasureKind(models.TextChoices):
    ACCOUNT = "account", "Account deleted"
    GUEST = "guest", "Guest erased by a store"
    GUEST_RETENTION = "guest_retention", "Guest orders past retention"


class Erasure(models.Model):
    """That an erasure happened, who asked and how much it touched: never what was erased (no name, email or
    address). The stores concerned also get an audit entry (`customer.erased`)."""

    kind = models.CharField(max_length=16, choices=ErasureKind.choices)
    subject = models.CharField(max_length=64, help_text="user:<id> for an account; empty for a guest.")
    store = models.ForeignKey("stores.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The store that erased a guest's data.")
    actor_label = models.CharField(max_length=255, blank=True, help_text="Who asked: the customer, a member, system.")
    counts = models.JSONField(default=dict, blank=True, help_text="Rows changed per table.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class RetentionRun(models.Model):
    """One run of the retention rules (the periodic job, `manage.py enforce_retention`): rows removed (or, dry, that
    would be) per kind."""

    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    results = models.JSONField(default=dict, help_text="kind → rows removed (or due, on a dry run)")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"retention {'dry run' if self.dry_run else 'run'} {self.started_at:%Y-%m-%d %H:%M}"
