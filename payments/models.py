"""Payments: one row per attempt to collect an order's total, and each store's gateway settings.

``gateway`` is a name from the registry (payments.gateways), not a choices field: adding a gateway
needs no migration of these tables.
"""

import json

from django.db import models
from django.db.models import Q

from config.fields import EncryptedTextField
from config.money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class GatewaySetting(models.Model):
    """A store's choice for one gateway. No row: the gateway's defaults (cod and bank_transfer on)."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="gateway_settings")
    gateway = models.CharField(max_length=32)
    enabled = models.BooleanField(default=True)
    instructions = models.TextField(blank=True, help_text="Shown to the buyer at checkout (bank transfer details).")
    # The gateway's public settings (merchant id, terminal id, mode…): the names its ``fields`` list.
    options = models.JSONField(default=dict, blank=True)
    # Its credentials (API keys, webhook secrets…): a JSON object of the names its ``secret_fields`` list,
    # encrypted as one value; read through ``secrets_dict()``; never answered or logged in clear.
    secrets = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["gateway"]
        constraints = [models.UniqueConstraint(fields=["store", "gateway"], name="gateway_setting_unique_store")]

    def __str__(self) -> str:
        return self.gateway

    def secrets_dict(self) -> dict[str, str]:
        """The decrypted credentials, by name ({} when none are set)."""
        return json.loads(self.secrets) if self.secrets else {}


class FraudSetting(models.Model):
    """A store's fraud-check limits (payments.services.fraud). No row, or an empty field: the platform default
    (settings FRAUD_*). A limit of 0 switches that check off; no amount ceiling: none."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, related_name="fraud_setting")
    # how far back failed payments are counted
    window_minutes = models.PositiveIntegerField(null=True, blank=True)
    # failed payments in the window from which the next payment is held for review
    max_failed_per_email = models.PositiveIntegerField(null=True, blank=True)
    max_failed_per_ip = models.PositiveIntegerField(null=True, blank=True)
    max_failed_per_card = models.PositiveIntegerField(null=True, blank=True)
    # an order total above this (the store's currency) is held for review
    amount_ceiling = money_field(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_ceiling__isnull=True) | Q(amount_ceiling__gte=0),
                                              name="fraud_setting_ceiling_not_negative")]

    def __str__(self) -> str:
        return f"fraud limits of {self.store_id}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"  # the gateway accepted it and has not settled yet (Stripe)
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"  # its order was cancelled before it was paid
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="payments")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    gateway = models.CharField(max_length=32)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = money_field()
    currency = models.CharField(max_length=3)
    refunded_amount = money_field(default=0)
    instructions = models.TextField(blank=True, help_text="What the buyer was told to do (bank transfer details).")
    # The gateway's id for this payment (Stripe PaymentIntent id, Kashier order id, Moamalat system reference).
    reference = models.CharField(max_length=128, blank=True, default="")
    # What the buyer's page needs to pay, as the gateway's ``start`` gave it: client_secret (stripe),
    # redirect_url (kashier), lightbox parameters (moamalat). Shown to the order's buyer only.
    action = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    # For the fraud checks' velocity windows (failed payments per email, IP, card).
    email = models.EmailField(blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    card_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                                   name="payment_refunded_within_amount"),
        ]
        indexes = [
            models.Index(fields=["store", "created_at"], name="payment_store_created"),
            models.Index(fields=["store", "status", "created_at"], name="payment_store_status"),
            models.Index(fields=["gateway", "reference"], name="payment_gateway_reference"),
            models.Index(fields=["status", "created_at"], name="payment_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} #{self.pk}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money given back on a payment: through its gateway, or paid out by the merchant (cod, bank transfer)."""

    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True, default="")
    restock = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reference = models.CharField(max_length=128, blank=True, default="", help_text="The gateway's refund id.")
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["store", "created_at"], name="refund_store_created")]

    def __str__(self) -> str:
        return f"refund #{self.pk}"


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # verified, but nothing for us to do (another event type, unknown payment)
    HELD = "held", "Held for review"  # a success not applied: its order is held (``error`` says why)
    FAILED = "failed", "Failed"  # processing raised; replayed from the admin


class WebhookEvent(models.Model):
    """A gateway's verified notification, stored raw before it is processed; (store, gateway, event_id) makes a replay
    a no-op. Per store: another store's merchant, who signs with keys of its own, must not be able to take an event
    id first (Moamalat's SystemReference is a counter) and so have the genuine event ignored here."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="payment_webhook_events")
    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64, blank=True, default="")
    # {"body": the JSON body as received (or {"text": …} when it is not JSON), "notification": what the gateway read
    # from it (payments.services.webhooks), which processing works from}
    payload = models.JSONField(default=dict)
    # The payment it was matched with, once processed (None: nothing matched, or not processed yet).
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="webhook_events")
    status = models.CharField(max_length=10, choices=WebhookEventStatus.choices, default=WebhookEventStatus.PENDING)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "gateway", "event_id"],
                                               name="webhook_event_unique_store_id")]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_event_status"),
            models.Index(fields=["store", "received_at"], name="webhook_event_store"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id}"
