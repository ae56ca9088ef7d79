"""The embedded default's channel (no Redis): the events of the last few minutes, shared by every process through
the database. With REDIS_URL a Redis stream plays this part and the table stays empty (live.channel)."""

from django.db import models
from django.utils import timezone


class LiveEvent(models.Model):
    """One committed event or in-app notification, its audience tags in ``record``; the id is the stream's
    ``id:``. Deleted once older than LIVE_RESUME_SECONDS."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)
    record = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="live_event_created")]

    def __str__(self) -> str:
        return f"{self.pk} {self.record.get('type', '')}"
