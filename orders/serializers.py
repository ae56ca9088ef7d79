"""Input serializers validate and output serializers shape; the rules live in orders.services.

Outputs are built as plain dicts (``*_dict``) from the service results: money as decimal strings with the
currency's places (the order's own currency for orders). The serializer classes declare the same shapes for
the OpenAPI document and are what views call.
"""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import INTEGER_MAX, json_text_problem
from config.money import MoneyField, money_str
from features.flags import is_enabled

from .models import Coupon, CouponKind, OrderEvent, OrderStatus, PaymentStatus, ShippingMethod
from .selectors import order_line_details, order_payments
from .services import MAX_CART_LINES, MAX_LINE_QUANTITY, CartView

MAX_BIGINT = 2**63 - 1
MONEY = OpenApiTypes.STR  # a decimal string with the currency's places


def _json_checked(value):
    if problem := json_text_problem(value):
        raise serializers.ValidationError(problem)
    return value


# --- carts ---------------------------------------------------------------------
class CartItemInput(serializers.Serializer):
    variant = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT, help_text="A variant id of this store.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartCreateInput(serializers.Serializer):
    items = CartItemInput(many=True, required=False, max_length=MAX_CART_LINES,
                          help_text="Lines to put in the cart in the same call (all of them, or none and no cart).")


class CartItemUpdateInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CouponCodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text="Case-insensitive.")
    email = serializers.EmailField(required=False, help_text="A guest's email, for coupons limited per customer.")


class CartLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    variant = serializers.IntegerField(allow_null=True, help_text="Null for a custom line (a print quote).")
    product = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    sku = serializers.CharField(help_text="A custom line: its reference.")
    options = serializers.DictField()
    reference = serializers.CharField(allow_null=True, help_text="A custom line's reference (\"quote:<id>\"); "
                                                                 "null for catalog lines.")
    unit_price = serializers.CharField(help_text="From the catalog, now (a custom line: its fixed price).")
    quantity = serializers.IntegerField()
    line_total = serializers.CharField()
    available = serializers.IntegerField(allow_null=True, help_text="Units that can be bought; null: not limited.")


class CartCouponOutput(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.ChoiceField(choices=CouponKind.choices)
    value = serializers.CharField(help_text="A percent, or an amount in the store currency.")


def coupon_value_str(coupon: Coupon, currency: str) -> str:
    if coupon.kind == CouponKind.PERCENT:
        return f"{Decimal(coupon.value).quantize(Decimal('0.01'))}"
    return money_str(coupon.value, currency)


def cart_dict(view: CartView) -> dict:
    """The cart as API.md answers it; ``coupon`` is absent while the store takes no coupons (features.registry)."""
    currency, totals, cart = view.currency, view.totals, view.cart
    answer = {
        "id": str(cart.pk),
        "store": cart.store.slug,
        "lines": [
            {"id": line.line.pk, "variant": line.variant.pk, "product": line.variant.product_id, "name": line.name,
             "sku": line.variant.sku, "options": line.variant.options or {}, "reference": None,
             "unit_price": money_str(line.unit_price, currency), "quantity": line.quantity,
             "line_total": money_str(line.line_total, currency), "available": line.available}
            if line.variant is not None else
            {"id": line.line.pk, "variant": None, "product": None, "name": line.name, "sku": line.line.reference,
             "options": {}, "reference": line.line.reference, "unit_price": money_str(line.unit_price, currency),
             "quantity": line.quantity, "line_total": money_str(line.line_total, currency), "available": None}
            for line in view.lines
        ],
        "coupon": ({"code": view.coupon.code, "kind": view.coupon.kind,
                    "value": coupon_value_str(view.coupon, currency)} if view.coupon is not None else None),
        "subtotal": money_str(totals.subtotal, currency),
        "discount": money_str(totals.discount, currency),
        "tax": money_str(totals.tax, currency),
        "tax_included": totals.tax_included,
        "total": money_str(totals.total, currency),
        "currency": currency,
        "messages": list(view.messages),
        "updated_at": cart.updated_at,
    }
    if not is_enabled("coupons", store=cart.store_id):
        del answer["coupon"]
    return answer


class CartOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The cart's bearer token: whoever holds it may use an anonymous cart.")
    store = serializers.CharField(help_text="The store's slug.")
    lines = CartLineOutput(many=True)
    coupon = CartCouponOutput(allow_null=True, required=False,
                              help_text="Absent while the store takes no coupons (GET …/features).")
    subtotal = serializers.CharField()
    discount = serializers.CharField()
    tax = serializers.CharField()
    tax_included = serializers.BooleanField(help_text="Prices contain the tax (it is not added to the total).")
    total = serializers.CharField(help_text="Before shipping, chosen at checkout.")
    currency = serializers.CharField()
    messages = serializers.ListField(child=serializers.CharField(),
                                     help_text="What changed since the last look: lines or a coupon dropped, "
                                               "short stock.")
    updated_at = serializers.DateTimeField()

    def to_representation(self, instance: CartView):
        return cart_dict(instance)


# --- shipping methods ------------------------------------------------------------
class ShippingMethodInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    price = MoneyField()
    free_above = MoneyField(required=False, allow_null=True, help_text="Free when the discounted subtotal "
                                                                       "reaches this.")
    is_active = serializers.BooleanField(required=False)
    position = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)


class ShippingMethodOutput(serializers.ModelSerializer):
    price = MoneyField(read_only=True)
    free_above = MoneyField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = ShippingMethod
        fields = ["id", "name", "price", "free_above", "currency", "is_active", "position", "created_at"]

    def get_currency(self, obj) -> str:
        return self.context["store"].currency


# --- coupons ---------------------------------------------------------------------
class CouponInput(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text="Case-insensitive; unique per store.")
    kind = serializers.ChoiceField(choices=CouponKind.choices)
    value = MoneyField(currency_places=False,
                       help_text="percent: above 0, at most 100; fixed: an amount with the store currency's places.")
    min_subtotal = MoneyField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    usage_limit = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, required=False, allow_null=True)
    usage_limit_per_customer = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, required=False,
                                                        allow_null=True)
    is_active = serializers.BooleanField(required=False)


class CouponOutput(serializers.ModelSerializer):
    value = serializers.SerializerMethodField()
    min_subtotal = MoneyField(read_only=True, allow_null=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Coupon
        fields = ["id", "code", "kind", "value", "min_subtotal", "currency", "starts_at", "ends_at", "usage_limit",
                  "usage_limit_per_customer", "used_count", "is_active", "created_at"]

    def get_value(self, obj) -> str:
        return coupon_value_str(obj, self.context["store"].currency)

    def get_currency(self, obj) -> str:
        return self.context["store"].currency


# --- orders ----------------------------------------------------------------------
class OrderFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Created at or after (ISO 8601).")
    created_before = serializers.DateTimeField(required=False, help_text="Created before (ISO 8601).")
    q = serializers.CharField(required=False, allow_blank=True, max_length=254,
                              help_text="An order number or the customer's email (exact, any case).")
    held = serializers.BooleanField(required=False, help_text="true: only orders held for review; false: none.")


class OrderLookupInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254,
                                  help_text="A guest's email: with the number, it opens the order.")


class OrderStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate_note(self, value):
        return _json_checked(value)


class OrderCancelInput(OrderLookupInput):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class OrderLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    variant = serializers.IntegerField(allow_null=True, help_text="Null once the variant is deleted.")
    product = serializers.IntegerField(allow_null=True)
    product_name = serializers.CharField()
    variant_name = serializers.CharField()
    sku = serializers.CharField()
    options = serializers.DictField()
    unit_price = serializers.CharField()
    quantity = serializers.IntegerField()
    tax = serializers.CharField()
    total = serializers.CharField()
    reference = serializers.CharField(allow_null=True, help_text="A custom line's reference (\"quote:<id>\"); "
                                                                 "null for catalog lines.")
    service = serializers.DictField(allow_null=True, help_text="A custom line: what its app says of it now (a print "
                                                               "quote: `{id, status, material, quality, quantity, "
                                                               "upload}`); null for catalog lines.")


class OrderShippingMethodOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null once the method is deleted.")
    name = serializers.CharField()


class OrderPaymentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    gateway = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.CharField()
    instructions = serializers.CharField(required=False, help_text="bank_transfer: the store's instructions.")
    client_secret = serializers.CharField(required=False, help_text="stripe, while pending: for Stripe.js.")
    redirect_url = serializers.CharField(required=False, help_text="kashier, while pending: its payment page.")
    lightbox = serializers.DictField(required=False, help_text="moamalat, while pending: Lightbox.Checkout's.")


def order_dict(order, payment: dict | None = None, *, for_members: bool = False) -> dict:
    """An order as API.md answers it; ``payment`` is the plain dict payments supplies (or None). Why it is held
    (``hold_reason``: a fraud check's finding, say) is for the store's members (``for_members``); others see
    ``held`` only. ``coupon_code`` is absent while the store takes no coupons (features.registry)."""
    currency = order.currency
    lines = list(order.lines.all())
    details = order_line_details(lines)
    answer = {
        "id": order.pk,
        "number": order.number,
        "store": order.store.slug,
        "status": order.status,
        "payment_status": order.payment_status,
        "held": bool(order.hold_reason),
        "hold_reason": (order.hold_reason or None) if for_members else None,
        "email": order.email,
        "customer_name": order.customer_name,
        "lines": [
            {"id": line.pk, "variant": line.variant_id, "product": line.product_id, "product_name": line.product_name,
             "variant_name": line.variant_name, "sku": line.sku, "options": line.options or {},
             "unit_price": money_str(line.unit_price, currency), "quantity": line.quantity,
             "tax": money_str(line.tax, currency), "total": money_str(line.line_total, currency),
             "reference": line.reference or None, "service": details.get(line.pk)}
            for line in lines
        ],
        "subtotal": money_str(order.subtotal, currency),
        "discount": money_str(order.discount, currency),
        "shipping": money_str(order.shipping, currency),
        "tax": money_str(order.tax, currency),
        "tax_included": order.tax_included,
        "total": money_str(order.total, currency),
        "currency": currency,
        "coupon_code": order.coupon_code or None,
        "shipping_method": ({"id": order.shipping_method_id, "name": order.shipping_method_name}
                            if order.shipping_method_id or order.shipping_method_name else None),
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "payment_method": order.payment_method,
        "payment": payment,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if not is_enabled("coupons", store=order.store_id):
        del answer["coupon_code"]
    return answer


class OrderListOutput(serializers.ListSerializer):
    def to_representation(self, data):
        orders = list(data.all() if hasattr(data, "all") else data)
        payments = self.context.get("payments")
        if payments is None:
            payments = order_payments([order.pk for order in orders])
        for_members = bool(self.context.get("for_members"))
        return [order_dict(order, payments.get(order.pk), for_members=for_members) for order in orders]


class OrderOutput(serializers.Serializer):
    """The order answer (also checkout's). ``payment``: ``context["payments"]`` ({order id: plain dict}) when the
    caller has it (checkout), else what the reader payments registered answers (orders.selectors)."""

    id = serializers.IntegerField()
    number = serializers.CharField(help_text="How customers and gateways name the order.")
    store = serializers.CharField(help_text="The store's slug.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)
    held = serializers.BooleanField(help_text="Held for review by the store (a fraud check, a payment that did not "
                                              "match): it goes no further until a member approves or rejects it.")
    hold_reason = serializers.CharField(allow_null=True, help_text="Why it is held: members only (null otherwise).")
    email = serializers.EmailField()
    customer_name = serializers.CharField()
    lines = OrderLineOutput(many=True)
    subtotal = serializers.CharField()
    discount = serializers.CharField()
    shipping = serializers.CharField()
    tax = serializers.CharField()
    tax_included = serializers.BooleanField()
    total = serializers.CharField(help_text="subtotal − discount + shipping + tax (tax not added when included).")
    currency = serializers.CharField()
    coupon_code = serializers.CharField(allow_null=True, required=False,
                                        help_text="Absent while the store takes no coupons (GET …/features).")
    shipping_method = OrderShippingMethodOutput(allow_null=True)
    shipping_address = serializers.DictField()
    billing_address = serializers.DictField()
    payment_method = serializers.CharField()
    payment = OrderPaymentOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        list_serializer_class = OrderListOutput

    def to_representation(self, instance):
        payments = self.context.get("payments")
        if payments is None:
            payments = order_payments([instance.pk])
        return order_dict(instance, payments.get(instance.pk), for_members=bool(self.context.get("for_members")))


class OrderEventOutput(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(help_text="Who acted (members only; null for customers).")

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "from_status", "to_status", "note", "actor", "created_at"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_actor(self, obj):
        return obj.actor_label if self.context.get("show_actor") else None
