"""Plans the platform sells to merchants: limits (a null limit is unlimited) and features. A store is on one
(``stores.Store.plan``; null: the PLAN_DEFAULT plan)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from config.money import CURRENCY_CHOICES

# The counted limits, in the order the API lists them (API.md "Plans"); each is a nullable column of Plan.
LIMITS: tuple[str, ...] = ("products", "staff", "api_keys", "webhooks", "card_gateways", "orders_per_month")
# The features a plan may include; each is a boolean column of Plan.
FEATURES: tuple[str, ...] = ("custom_email_sender", "export_jobs")


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


def _limit(help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(null=True, blank=True, help_text=f"{help_text} Empty: unlimited.")


class Plan(models.Model):
    """Edited by platform superusers in the admin; ``plans.services.plan_save`` is the one writer."""

    code = models.SlugField(max_length=40, unique=True, help_text="What the API and Stripe's metadata call it.")
    name = models.CharField(max_length=80)
    price = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.MONTH)
    position = models.PositiveIntegerField(default=0, help_text="Order in the public list.")
    is_public = models.BooleanField(default=True, help_text="Listed by GET /api/v1/plans and open to merchants.")
    stripe_price_id = models.CharField(
        max_length=120, blank=True, help_text="The Stripe recurring Price (price_…) merchants pay for this plan."
    )

    products = _limit("Products in the store (any status).")
    staff = _limit("Team members, the owners included (staff seats).")
    api_keys = _limit("Active API keys.")
    webhooks = _limit("Webhook endpoints.")
    card_gateways = _limit("Card payment gateways switched on (Stripe, Kashier, Moamalat).")
    orders_per_month = _limit("Orders placed per calendar month (the store's time zone).")

    custom_email_sender = models.BooleanField(
        default=False, help_text="Customers' emails come from the store's own address."
    )
    export_jobs = models.BooleanField(default=False, help_text="Exports written by a worker (POST exports).")
    analytics_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="How far back the dashboard reads, in days. Empty: unlimited."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "price", "id"]

    def __str__(self) -> str:
        return self.name

    def limit(self, name: str) -> int | None:
        return getattr(self, name)

    @property
    def features(self) -> list[str]:
        return [name for name in FEATURES if getattr(self, name)]


class MonthlyOrders(models.Model):
    """Orders a store placed in a calendar month, counted by ``plans.services.order_quota_take`` in each checkout's
    transaction (one conditional UPDATE: concurrent checkouts cannot pass the plan's limit). Only stores whose
    plan limits orders are counted."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="monthly_orders")
    month = models.DateField(help_text="The month's first day, in the store's time zone.")
    placed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "month"], name="monthly_orders_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m}: {self.placed}"
