"""Billing the merchants: a store's Stripe subscription to a plan, and Stripe's billing events as received."""

from django.db import models


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INCOMPLETE = "incomplete", "Incomplete (first payment pending)"
    PAST_DUE = "past_due", "Past due"
    CANCELLED = "cancelled", "Cancelled"


class Subscription(models.Model):
    """A store's Stripe Billing subscription (the platform's Stripe account, not the store's). Written only by
    billing.services, from the store's POST subscription and Stripe's webhooks; the plan the store is on is
    ``Store.plan`` (plans.services.store_plan_set), which follows the status: active and past_due within the grace
    period keep the paid plan; past_due past it, and cancelled once the paid period ends, fall back to the default
    plan."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(
        "plans.Plan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The plan the subscription pays for.",
    )
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    past_due_since = models.DateTimeField(null=True, blank=True)
    # The newest Stripe event applied (its ``created``): an older one arriving late changes nothing.
    last_event_at = models.DateTimeField(null=True, blank=True)
    # A change through Stripe under way (billing.services.subscription_change) claims the row until then: a second
    # change meanwhile is refused 409 instead of making a second customer or subscription. Past it, the claim is
    # stale (a process that died mid-change) and the next change takes it.
    change_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.store_id}: {self.status}"


class BillingEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # verified, but not about a subscription of ours (or older than one applied)
    FAILED = "failed", "Failed"


class BillingEvent(models.Model):
    """A verified Stripe billing event, stored before it is processed; its Stripe id makes a replay a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=BillingEventStatus.choices, default=BillingEventStatus.PENDING)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
