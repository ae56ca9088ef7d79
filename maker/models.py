"""Maker services: customers' 3D models, the store's print materials, quotes and the print jobs they become.

An Upload is addressed by its UUID (a bearer token, as a cart is); a signed-in customer's upload is theirs only.
A Quote prices an analysed upload in a material and quality for a quantity, fixed until it expires; in a cart it is
a custom line (orders.services.custom, reference "quote:<id>") and at checkout it becomes a ServiceOrder beside
its order line, whose status (queued, printing, shipped) the merchant moves.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Quality(models.TextChoices):
    DRAFT = "draft", "Draft"
    STANDARD = "standard", "Standard"
    FINE = "fine", "Fine"


class Material(models.Model):
    """A print material of the store and what printing in it costs: the material by volume, the machine by the hour
    (how many minutes each cm³ takes at each quality), and a setup fee per quote."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(max_length=120)
    price_per_cm3 = money_field(help_text="Material price per cm³ of model volume, in the store currency.")
    setup_fee = money_field(default=0, help_text="Added once per quote, whatever the quantity.")
    machine_hourly_rate = money_field(default=0, help_text="Machine time price per hour.")
    draft_minutes_per_cm3 = models.DecimalField(max_digits=8, decimal_places=3, default=1)
    standard_minutes_per_cm3 = models.DecimalField(max_digits=8, decimal_places=3, default=2)
    fine_minutes_per_cm3 = models.DecimalField(max_digits=8, decimal_places=3, default=4)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="maker_material_unique_name"),
            models.CheckConstraint(condition=Q(price_per_cm3__gte=0) & Q(setup_fee__gte=0)
                                   & Q(machine_hourly_rate__gte=0) & Q(draft_minutes_per_cm3__gte=0)
                                   & Q(standard_minutes_per_cm3__gte=0) & Q(fine_minutes_per_cm3__gte=0),
                                   name="maker_material_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    def minutes_per_cm3(self, quality: str):
        return getattr(self, f"{quality}_minutes_per_cm3")


class UploadStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the file"
    PROCESSING = "processing", "Being analysed"
    READY = "ready", "Ready to quote"
    REJECTED = "rejected", "Rejected"


class ModelFormat(models.TextChoices):
    STL = "stl", "STL"
    OBJ = "obj", "OBJ"
    THREEMF = "3mf", "3MF"


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="maker_uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    filename = models.CharField(max_length=255, help_text="As the customer named it; the format is read from the "
                                                          "content, never from this.")
    declared_size = models.PositiveBigIntegerField()
    storage_name = models.CharField(max_length=255, editable=False)
    status = models.CharField(max_length=12, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    format = models.CharField(max_length=3, choices=ModelFormat.choices, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # the analysis (millimetres: STL, OBJ and 3MF files are read as millimetres)
    volume_cm3 = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    size_x_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    size_y_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    size_z_mm = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    triangle_count = models.PositiveIntegerField(null=True, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "created_at"], name="maker_upload_store_created")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.pk})"


class Quote(models.Model):
    """A price fixed until ``expires_at``; ``ordered_at`` is set once, by the checkout that bought it."""

    # a UUID: a quote is read by whoever holds its id (as a cart or an upload), so ids must not be guessable
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="maker_quotes")
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="quotes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    material = models.ForeignKey(Material, null=True, on_delete=models.SET_NULL, related_name="quotes")
    material_name = models.CharField(max_length=120)
    quality = models.CharField(max_length=10, choices=Quality.choices)
    quantity = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    volume_cm3 = models.DecimalField(max_digits=14, decimal_places=4)
    machine_hours = models.DecimalField(max_digits=14, decimal_places=4, help_text="Per piece.")
    material_cost = money_field(help_text="Per piece.")
    machine_cost = money_field(help_text="Per piece.")
    unit_price = money_field(help_text="Per piece: material and machine.")
    setup_fee = money_field()
    total = money_field(help_text="unit_price × quantity + setup_fee: what the cart line costs.")
    expires_at = models.DateTimeField()
    ordered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="maker_quote_quantity_positive"),
            models.CheckConstraint(condition=Q(total__gte=0), name="maker_quote_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"quote:{self.pk}"

    @property
    def reference(self) -> str:
        return f"quote:{self.pk}"


class ServiceStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PRINTING = "printing", "Printing"
    SHIPPED = "shipped", "Shipped"


class ServiceOrder(models.Model):
    """The print job of an ordered quote: one per order line, moved queued → printing → shipped by the merchant."""

    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="maker_service_orders")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    order_line = models.OneToOneField("orders.OrderLine", on_delete=models.CASCADE, related_name="+")
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, related_name="service_order")
    status = models.CharField(max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "status", "created_at"], name="maker_service_store_status")]

    def __str__(self) -> str:
        return f"Print job {self.pk} ({self.status})"
