from django.conf import settings
from django.db import models

from .permissions import ROLE_CHOICES, role_permissions


class Membership(models.Model):
    """A user's role in one store."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_id", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="membership_unique_user_store")]

    def __str__(self) -> str:
        return f"{self.user} · {self.store} ({self.role})"

    @property
    def permissions(self) -> frozenset[str]:
        return role_permissions(self.role)
