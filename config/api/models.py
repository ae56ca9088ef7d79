from django.db import models


class IdempotencyKey(models.Model):
    """The first answer to a request sent with an Idempotency-Key, kept 24 hours.

    Written in the same transaction as the work it protects (see ``idempotency``): a row with
    ``response_status`` null is a claim only that transaction sees until it stores the answer.
    """

    key = models.CharField(max_length=255)
    owner = models.CharField(max_length=64, help_text="user:<id>, apikey:<id> or anon")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "owner", "method", "path"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
