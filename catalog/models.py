"""Catalog: a category tree per store, products with variants, images and reviews.

Money columns are Decimal(14, 3) (DESIGN.md "Money"); the API renders them with
the store currency's places.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q

from config.money import DECIMAL_PLACES, MAX_DIGITS

# A category's materialized path is its ancestors' ids and its own, each a
# fixed-width base-36 segment followed by a dot ("00000a.00002b."), so
# "this category and everything under it" is one indexed `path LIKE 'prefix%'`.
PATH_SEGMENT_WIDTH = 6
PATH_MAX_LENGTH = 255
MAX_CATEGORY_DEPTH = PATH_MAX_LENGTH // (PATH_SEGMENT_WIDTH + 1)


def path_segment(pk: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while pk:
        pk, rest = divmod(pk, 36)
        out = digits[rest] + out
    return out.rjust(PATH_SEGMENT_WIDTH, "0") + "."


class Category(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140)
    description = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    position = models.PositiveIntegerField(default=0)
    # Maintained by catalog.services (create and move); never edited by hand.
    path = models.CharField(max_length=PATH_MAX_LENGTH, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="category_unique_store_slug")]
        indexes = [models.Index(fields=["store", "path"], name="category_store_path")]

    def __str__(self) -> str:
        return self.name


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class ProductQuerySet(models.QuerySet):
    def published(self) -> "ProductQuerySet":
        return self.filter(status=ProductStatus.PUBLISHED)


class Product(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    status = models.CharField(max_length=10, choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    featured = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    # Denormalized from the variants by catalog.services, so lists filter and sort
    # without joining: the lowest variant price and "some variant can be bought".
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True,
                                editable=False)
    in_stock = models.BooleanField(default=False, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # PostgreSQL only: filled by a trigger (migration 0002) from name (A), brand (B)
    # and description (C), with a GIN index; always NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="product_unique_store_slug")]
        indexes = [
            # list sorts: each ends with id, the tie-breaker, so one index scan (forward or backward) serves it
            models.Index(fields=["store", "status", "created_at", "id"], name="product_status_created"),
            # a member's unfiltered list (every status), newest first
            models.Index(fields=["store", "created_at", "id"], name="product_store_created"),
            models.Index(fields=["store", "status", "price", "id"], name="product_status_price"),
            # a category (sub-tree) filter with or without a price range: its total by an index-only count, and
            # the page's ids newest first by an index-only scan and a top-N sort (then 20 rows, not every match)
            models.Index(fields=["store", "status", "category", "price"], include=["created_at", "id"],
                         name="product_category_price_cover"),
            models.Index(fields=["store", "status", "name", "id"], name="product_status_name"),
            models.Index(fields=["store", "brand"], name="product_store_brand"),
            models.Index(fields=["store", "category"], name="product_store_category"),
            models.Index(fields=["store", "featured"], name="product_store_featured"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductCount(models.Model):
    """A store's products by status, kept exact by database triggers (migration 0008) in the transaction of every
    insert, delete and status change of a product, whatever made it (services, the importer, bulk COPY, the
    admin, a store's deletion): the unfiltered list's ``pagination.total`` without COUNT(*). No row: no product
    ever. Read it with catalog.selectors.product_total; never written by Python."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, primary_key=True,
                                 related_name="product_count")
    draft = models.BigIntegerField(default=0)
    published = models.BigIntegerField(default=0)
    archived = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.store_id}: {self.draft}/{self.published}/{self.archived}"


# "A variant can be bought": it does not track stock, takes backorders, or has stock nobody holds.
# The one rule, in its two forms: for a row in memory and for SQL (a product's in_stock).
def variant_purchasable(variant) -> bool:
    """For a Variant or anything with its four fields (catalog.output's plain rows)."""
    return not variant.track_inventory or variant.allow_backorder or variant.stock_quantity - variant.reserved > 0


PURCHASABLE = Q(track_inventory=False) | Q(allow_backorder=True) | Q(stock_quantity__gt=F("reserved"))


class Variant(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=120, blank=True)
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    compare_at_price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True,
                                           blank=True)
    options = models.JSONField(default=dict, blank=True)
    # Both counts change only through catalog.services.stock, each change with an InventoryMovement row.
    stock_quantity = models.IntegerField(default=0, help_text="Units on hand.")
    reserved = models.IntegerField(default=0, editable=False, help_text="Units held by open orders.")
    track_inventory = models.BooleanField(default=True)
    allow_backorder = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="variant_unique_store_sku"),
            models.CheckConstraint(condition=Q(stock_quantity__gte=0), name="variant_stock_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="variant_reserved_not_negative"),
            # reserved beyond what is on hand only for variants that take backorders
            models.CheckConstraint(condition=Q(allow_backorder=True) | Q(reserved__lte=F("stock_quantity")),
                                   name="variant_reserved_le_stock"),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}" if self.name else self.sku

    @property
    def available(self) -> int:
        """Units that can still be promised: on hand less what open orders hold."""
        return self.stock_quantity - self.reserved

    @property
    def purchasable(self) -> bool:
        return variant_purchasable(self)


class MovementReason(models.TextChoices):
    RESERVE = "reserve", "Reserve"
    RELEASE = "release", "Release"
    SALE = "sale", "Sale"
    RESTOCK = "restock", "Restock"
    ADJUSTMENT = "adjustment", "Adjustment"
    RETURN = "return", "Return"


class InventoryMovementImmutable(Exception):
    """A movement was about to be changed or deleted: the ledger is append-only."""


class InventoryMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # Deleting a user nulls their movements' actor_user (actor_label keeps who it was).
        if set(kwargs) <= {"actor_user", "actor_user_id"} and all(value is None for value in kwargs.values()):
            return super().update(**kwargs)
        raise InventoryMovementImmutable("Inventory movements cannot be changed.")

    def delete(self):
        raise InventoryMovementImmutable("Inventory movements cannot be deleted.")


class InventoryMovement(models.Model):
    """One change of a variant's stock: why (``reason``), by how much (on hand and reserved), who.

    Written by catalog.services.stock in the transaction of the change, never edited: the sum of a
    variant's ``quantity_delta`` is its ``stock_quantity`` and of ``reserved_delta`` its ``reserved``.
    The variant's deletion takes its movements with it (CASCADE): a variant can only be deleted while no
    order points at it, and PROTECT would make every variant that ever had stock undeletable.
    """

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="inventory_movements")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="movements")
    reason = models.CharField(max_length=12, choices=MovementReason.choices)
    quantity_delta = models.IntegerField(default=0, help_text="Change of the units on hand.")
    reserved_delta = models.IntegerField(default=0, help_text="Change of the units held by open orders.")
    note = models.TextField(blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    actor_label = models.CharField(max_length=255, blank=True, help_text="The user's email, apikey:<id> or system")
    actor_id = models.CharField(max_length=64, blank=True, help_text="The actor's id (user or API key)")
    # The order a reserve, release or sale was for (a string reference: orders sits above catalog).
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="inventory_movements")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InventoryMovementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="movement_store_created"),
            models.Index(fields=["store", "variant", "-created_at"], name="movement_store_variant"),
            models.Index(fields=["store", "reason", "-created_at"], name="movement_store_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.quantity_delta:+d}/{self.reserved_delta:+d} · {self.variant_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise InventoryMovementImmutable("Inventory movements cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise InventoryMovementImmutable("Inventory movements cannot be deleted.")


def product_image_path(instance: "ProductImage", filename: str) -> str:
    """A random name: the uploader's file name never reaches the storage."""
    suffix = PurePosixPath(filename).suffix.lower() or ".jpg"
    return f"catalog/{instance.store_id}/{uuid.uuid4().hex}{suffix}"


class ProductImage(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="product_images")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=product_image_path, max_length=255)
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt or self.image.name


class Review(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="reviews")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    is_hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="review_unique_product_user"),
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"),
        ]
        indexes = [models.Index(fields=["product", "is_hidden", "-created_at"], name="review_product_visible")]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.title}".strip()
