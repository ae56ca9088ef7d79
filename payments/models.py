"""Payments: one row per attempt to collect an order's total, and each store's gateway settings.

``gateway`` is a name from the registry (payments.gateways), not a choices field: adding a gateway
needs no migration of these tables.
"""

from django.db import models
from django.db.models import Q

from config.money import DECIMAL_PLACES, MAX_DIGITS


class GatewaySetting(models.Model):
    """A store's choice for one gateway. No row: the gateway's defaults (cod and bank_transfer on)."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="gateway_settings")
    gateway = models.CharField(max_length=32)
    enabled = models.BooleanField(default=True)
    instructions = models.TextField(blank=True, help_text="Shown to the buyer at checkout (bank transfer details).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["gateway"]
        constraints = [models.UniqueConstraint(fields=["store", "gateway"], name="gateway_setting_unique_store")]

    def __str__(self) -> str:
        return self.gateway


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="payments")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    instructions = models.TextField(blank=True, help_text="What the buyer was told to do (bank transfer details).")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative")]
        indexes = [
            models.Index(fields=["store", "created_at"], name="payment_store_created"),
            models.Index(fields=["store", "status", "created_at"], name="payment_store_status"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} #{self.pk}"
