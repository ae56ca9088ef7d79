import functools
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from config.money import CURRENCY_CHOICES


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_known(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this system knows ("Africa/Tripoli", "UTC")."""
    return isinstance(name, str) and name in _time_zones()


def validate_time_zone(value: str) -> None:
    if not time_zone_known(value):
        raise ValidationError("Not a time zone name (IANA, e.g. Africa/Tripoli).", code="invalid")


class StoreQuerySet(models.QuerySet):
    def active(self) -> "StoreQuerySet":
        return self.filter(is_active=True)


class Store(models.Model):
    """A merchant's shop. Every merchant-owned row points here."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    logo = models.ImageField(upload_to="stores/logos/", blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    contact_email = models.EmailField(blank=True)
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent added to taxable totals.",
    )
    prices_include_tax = models.BooleanField(
        default=False, help_text="Catalog prices already contain the tax (the total does not add it again).",
    )
    low_stock_threshold = models.PositiveIntegerField(default=5)
    # The store's days (the dashboard's "today", revenue by day, exports' dates) are this zone's days.
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone],
                                help_text="IANA time zone name, e.g. Africa/Tripoli. The store's days are its days.")
    # Customers' emails (order confirmation, status changes) come from this address when the store's plan includes
    # the custom email sender (plans.models.FEATURES); otherwise, or when empty, from the platform's DEFAULT_FROM_EMAIL.
    email_sender = models.EmailField(blank=True, help_text="The address customers' emails come from (plans with a "
                                     "custom email sender; the domain must let the platform's mail server send).")
    # The plan the platform sells the store (plans.services); null: the PLAN_DEFAULT plan. Only platform superusers
    # and the billing webhooks move it (plans.services.store_plan_set).
    plan = models.ForeignKey("plans.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="stores",
                             help_text="Empty: the default plan (PLAN_DEFAULT).")
    is_active = models.BooleanField(default=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_stores")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The store's time zone (UTC for a name this system does not know)."""
        return zoneinfo.ZoneInfo(self.timezone if time_zone_known(self.timezone) else "UTC")
