"""Analytics: storefront events, the daily rollups the dashboard reads, and exports.

The rollups (StoreDay, ProductDay) are derived data: ``analytics.services.metrics_days_refresh`` rewrites a
store's days from orders, payments and events, so any of them can be rebuilt at any time
(``manage.py rebuild_metrics``). Days are the store's days (``Store.timezone``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", "Page view"
    PRODUCT_VIEW = "product_view", "Product view"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    CHECKOUT_STARTED = "checkout_started", "Checkout started"
    SEARCH = "search", "Search"
    # the storefront's "thank you" page: the session placed this order (conversion counts these sessions)
    PURCHASE = "purchase", "Purchase"


class Event(models.Model):
    """One storefront event. Append-only; deleted ANALYTICS_RETENTION_DAYS after it was received (the rollups keep
    their figures)."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    type = models.CharField(max_length=20, choices=EventType.choices)
    session_id = models.CharField(max_length=64)
    # an id checked against the store's products when received; no foreign key: events outlive products
    product_id = models.BigIntegerField(null=True, blank=True)
    query = models.CharField(max_length=200, blank=True, default="")
    order_number = models.CharField(max_length=16, blank=True, default="")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "occurred_at"], name="event_store_occurred"),
            # the refresh job's "what arrived since" and the retention prune
            models.Index(fields=["received_at"], name="event_received"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.session_id}"


class StoreDay(models.Model):
    """A store's figures for one of its days: orders placed that day (by status), their revenue (orders whose
    payment is paid, less refunds), and its storefront sessions and events."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    orders = models.PositiveIntegerField(default=0)
    paid_orders = models.PositiveIntegerField(default=0)
    revenue = money_field(default=0)
    statuses = models.JSONField(default=dict, blank=True, help_text="Orders placed that day by their status now.")
    sessions = models.PositiveIntegerField(default=0)
    converted_sessions = models.PositiveIntegerField(default=0, help_text="Sessions with an order (a purchase).")
    page_views = models.PositiveIntegerField(default=0)
    product_views = models.PositiveIntegerField(default=0)
    add_to_cart = models.PositiveIntegerField(default=0)
    checkouts_started = models.PositiveIntegerField(default=0)
    searches = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["store", "date"]
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="store_day_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date}"


class ProductDay(models.Model):
    """What a product sold on one of the store's days: units and line totals of orders whose payment is paid."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    product_id = models.BigIntegerField()
    name = models.CharField(max_length=200, help_text="The product's name on the order lines.")
    quantity = models.PositiveIntegerField(default=0)
    revenue = money_field(default=0)

    class Meta:
        ordering = ["store", "date", "product_id"]
        constraints = [models.UniqueConstraint(fields=["store", "date", "product_id"], name="product_day_unique")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date} {self.product_id}"


class RollupState(models.Model):
    """How far a store's rollups go: every change to its orders and events before ``current_at`` (less the refresh
    job's overlap) is in them, its days counted in ``timezone``. The dashboard reads days before then from the
    rollups and computes the later ones from the orders and events themselves."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, primary_key=True, related_name="+")
    timezone = models.CharField(max_length=64)
    current_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.store_id} @ {self.current_at}"


class ExportType(models.TextChoices):
    PRODUCTS = "products", "Products"
    ORDERS = "orders", "Orders"
    CUSTOMERS = "customers", "Customers"
    INVENTORY = "inventory", "Inventory"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """An export written by a worker to the exports storage; the member who asked is notified with a link."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="exports")
    type = models.CharField(max_length=12, choices=ExportType.choices)
    format = models.CharField(max_length=4, choices=ExportFormat.choices, default=ExportFormat.CSV)
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_by_label = models.CharField(max_length=255, blank=True, help_text="Who asked, as the audit log says.")
    # the site the link points at: PUBLIC_BASE_URL, else the host the export was asked from
    base_url = models.CharField(max_length=255, blank=True)
    file = models.CharField(max_length=255, blank=True, help_text="The file's name in the exports storage.")
    rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "created_at"], name="export_store_created"),
            models.Index(fields=["created_at"], condition=~Q(file=""), name="export_with_file"),
        ]

    def __str__(self) -> str:
        return f"{self.type}.{self.format} #{self.pk}"
