"""Orders: carts, coupons, shipping methods, orders with their lines and events.

Money columns are Decimal(14, 3) (DESIGN.md "Money"); the API renders them with the store
currency's places. Order lines are snapshots: a later catalog change never rewrites an order.
Stock lives on catalog.Variant and is written only by catalog.services.stock.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from config.money import DECIMAL_PLACES, MAX_DIGITS


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class ShippingMethod(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="shipping_methods")
    name = models.CharField(max_length=120)
    price = money_field(default=0)
    free_above = money_field(null=True, blank=True, help_text="Free when the discounted subtotal reaches this.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_price_not_negative"),
            models.CheckConstraint(condition=Q(free_above__isnull=True) | Q(free_above__gte=0),
                                   name="shipping_free_above_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent"
    FIXED = "fixed", "Fixed amount"


class Coupon(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=40, help_text="Case-insensitive; unique per store.")
    kind = models.CharField(max_length=10, choices=CouponKind.choices, default=CouponKind.PERCENT)
    value = money_field(help_text="Percent (0–100) or an amount in the store currency.")
    min_subtotal = money_field(null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True)
    usage_limit_per_customer = models.PositiveIntegerField(null=True, blank=True)
    # Counted by order_place with one conditional UPDATE; never edited by hand.
    used_count = models.IntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(F("store"), Lower("code"), name="coupon_unique_store_code_ci"),
            models.CheckConstraint(condition=Q(used_count__gte=0), name="coupon_used_count_not_negative"),
            models.CheckConstraint(condition=Q(value__gte=0), name="coupon_value_not_negative"),
            models.CheckConstraint(condition=~Q(kind="percent") | Q(value__lte=100), name="coupon_percent_le_100"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="coupon_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.code


class CouponUse(models.Model):
    """One per order that used a coupon: per-customer limits count these (user, else email)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="uses")
    order = models.OneToOneField("Order", on_delete=models.CASCADE, related_name="coupon_use")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["coupon", "user"], name="coupon_use_user"),
            models.Index(F("coupon"), Lower("email"), name="coupon_use_email"),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} · {self.order_id}"


class Cart(models.Model):
    """Anonymous carts are addressed by their UUID (the bearer token); a user has one cart per store."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="carts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="carts")
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # the applied coupon's code, kept so the cart can say so when the coupon is deleted (coupon becomes null)
    coupon_code = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "user"], condition=Q(user__isnull=False),
                                    name="cart_one_per_user_and_store"),
        ]
        indexes = [models.Index(fields=["updated_at"], name="cart_updated_at")]

    def __str__(self) -> str:
        return str(self.id)


class CartLine(models.Model):
    """A catalog line (``variant``, priced from the catalog) or a custom line (``reference`` set, no variant): a
    priced thing from an app above orders, such as a print quote, with its own fixed ``unit_price``; the app that
    made it re-checks it at checkout (orders.services.custom)."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    # null once the variant is deleted: the cart then drops the line and says so, by the name kept below
    variant = models.ForeignKey("catalog.Variant", null=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=300, blank=True, default="",
                            help_text="The product and variant name when added (a custom line: its description).")
    quantity = models.PositiveIntegerField()
    # custom lines only: "<kind>:<id>" (a kind registered with orders.services.custom_line_kind_register)
    reference = models.CharField(max_length=64, blank=True, default="")
    unit_price = money_field(null=True, blank=True, help_text="A custom line's fixed price; null for catalog lines.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.UniqueConstraint(fields=["cart", "reference"], condition=~Q(reference=""),
                                    name="cart_line_unique_reference"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
            models.CheckConstraint(condition=Q(reference="") | (Q(unit_price__isnull=False) & Q(unit_price__gte=0)),
                                   name="cart_line_custom_priced"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    store = models.ForeignKey("stores.Store", on_delete=models.PROTECT, related_name="orders")
    # Random, unique per store (orders.services.checkout.order_number_new): customers address orders by it.
    number = models.CharField(max_length=16, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="orders")
    email = models.EmailField()
    customer_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    currency = models.CharField(max_length=3)
    subtotal = money_field()
    discount = money_field(default=0)
    shipping = money_field(default=0)
    tax = money_field(default=0)
    total = money_field()
    tax_included = models.BooleanField(default=False, help_text="Prices contained the tax (tax not added to total).")
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    coupon_code = models.CharField(max_length=40, blank=True)
    shipping_method = models.ForeignKey(ShippingMethod, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="orders")
    shipping_method_name = models.CharField(max_length=120, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    payment_method = models.CharField(max_length=32)
    reserved_until = models.DateTimeField(null=True, blank=True,
                                          help_text="A pending unpaid order is cancelled after this.")
    # Held for review (a fraud check's hit, a payment whose amount did not match, a payment after the reservation
    # ran out with no stock left): non-empty says why. A held order is not moved on until a member approves or
    # rejects it; the expiry job leaves it alone.
    hold_reason = models.CharField(max_length=255, blank=True, default="")
    held_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="order_unique_store_number"),
            models.CheckConstraint(condition=Q(subtotal__gte=0) & Q(discount__gte=0) & Q(shipping__gte=0)
                                   & Q(tax__gte=0) & Q(total__gte=0), name="order_money_not_negative"),
        ]
        indexes = [
            models.Index(fields=["store", "status", "created_at"], name="order_store_status"),
            models.Index(fields=["store", "payment_status", "created_at"], name="order_store_payment_status"),
            models.Index(fields=["store", "created_at"], name="order_store_created"),
            models.Index(fields=["store", "email"], name="order_store_email"),
            models.Index(fields=["user", "created_at"], name="order_user_created"),
            # the expiry job: pending orders whose reservation ran out
            models.Index(fields=["reserved_until"], condition=Q(status="pending"), name="order_pending_reserved"),
            models.Index(fields=["store", "held_at"], condition=~Q(hold_reason=""), name="order_store_held"),
            # analytics' refresh job: the orders that changed since its last run (every service moves updated_at)
            models.Index(fields=["updated_at"], name="order_updated"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A snapshot of what was bought; the variant may change or disappear later."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    product_id = models.BigIntegerField(null=True, blank=True)
    product_name = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=120, blank=True)
    sku = models.CharField(max_length=64)
    options = models.JSONField(default=dict, blank=True)
    unit_price = money_field()
    quantity = models.PositiveIntegerField()
    tax = money_field(default=0)
    line_total = money_field()
    # a custom line's reference ("<kind>:<id>", see CartLine); empty for catalog lines
    reference = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class OrderEvent(models.Model):
    """The order's history: created, status changes, paid, notes."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"
