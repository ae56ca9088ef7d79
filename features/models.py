"""A switch set away from the registry's default (features.registry): one row per flag for the platform (store
null) and per flag and store. No row: the default. Written by features.services only; read through
features.flags (cached)."""

from django.db import models
from django.db.models import Q


class FeatureFlag(models.Model):
    name = models.CharField(max_length=50, help_text="A flag of features.registry.")
    store = models.ForeignKey("stores.Store", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="feature_flags", help_text="Empty: the whole platform (superusers).")
    enabled = models.BooleanField()
    updated_by = models.CharField(max_length=255, blank=True, help_text="Who switched it last (email, apikey:<id>).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "store_id"]
        constraints = [
            models.UniqueConstraint(fields=["name", "store"], condition=Q(store__isnull=False),
                                    name="feature_flag_store_unique"),
            models.UniqueConstraint(fields=["name"], condition=Q(store__isnull=True),
                                    name="feature_flag_platform_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {'on' if self.enabled else 'off'} ({self.store_id or 'platform'})"
