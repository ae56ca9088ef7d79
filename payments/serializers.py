"""Input serializers validate and output serializers shape; the rules live in payments.services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import INTEGER_MAX, json_text_problem
from config.money import MoneyField
from orders.models import Order, OrderLine

from .gateways import gateway_get
from .models import GatewaySetting, Payment
from .selectors import order_payments_read


# --- checkout ----------------------------------------------------------------------
def _address(value):
    if problem := json_text_problem(value):
        raise serializers.ValidationError(problem)
    return value


class CheckoutInput(serializers.Serializer):
    cart = serializers.UUIDField()
    email = serializers.EmailField(max_length=254)
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    shipping_address = serializers.DictField()
    billing_address = serializers.DictField(required=False, allow_null=True, default=None)
    shipping_method = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, required=False, allow_null=True,
                                               default=None)
    payment_method = serializers.CharField(max_length=32, help_text="cod or bank_transfer, if the store offers it.")

    def validate_shipping_address(self, value):
        return _address(value)

    def validate_billing_address(self, value):
        return _address(value)


# --- payments ------------------------------------------------------------------------
class PaymentSummary(serializers.Serializer):
    """The payment inside an order answer (payments.selectors.payment_summary shapes it)."""

    id = serializers.IntegerField()
    gateway = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.CharField()
    instructions = serializers.CharField(required=False, help_text="bank_transfer: the store's instructions.")


class PaymentOutput(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "order", "order_number", "gateway", "status", "amount", "currency", "instructions",
                  "created_at", "paid_at"]

    def to_representation(self, instance):
        self.context["currency"] = instance.currency
        return super().to_representation(instance)


class PaymentFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Payment._meta.get_field("status").choices, required=False)
    gateway = serializers.CharField(max_length=32, required=False)
    order = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


# --- the order answer ------------------------------------------------------------------
# One shape for an order: this is the contract's order answer (I11_SPEC "API answers") until the orders API's
# orders.serializers.OrderOutput lands; then checkout answers with that one.
class OrderLineOutput(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    variant = serializers.IntegerField(source="variant_id", read_only=True, allow_null=True)
    unit_price = MoneyField(read_only=True)
    tax = MoneyField(read_only=True)
    total = MoneyField(source="line_total", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "variant", "product", "product_name", "variant_name", "sku", "options", "unit_price",
                  "quantity", "tax", "total"]


class ShippingMethodSummary(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class OrderOutput(serializers.ModelSerializer):
    lines = OrderLineOutput(many=True, read_only=True)
    subtotal = MoneyField(read_only=True)
    discount = MoneyField(read_only=True)
    shipping = MoneyField(read_only=True)
    tax = MoneyField(read_only=True)
    total = MoneyField(read_only=True)
    shipping_method = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["id", "number", "status", "payment_status", "email", "customer_name", "lines", "subtotal",
                  "discount", "shipping", "tax", "tax_included", "total", "currency", "coupon_code",
                  "shipping_method", "shipping_address", "billing_address", "payment_method", "payment",
                  "created_at", "updated_at"]

    def to_representation(self, instance):
        self.context["currency"] = instance.currency
        return super().to_representation(instance)

    @extend_schema_field(ShippingMethodSummary(allow_null=True))
    def get_shipping_method(self, order: Order):
        if not order.shipping_method_name:
            return None
        return {"id": order.shipping_method_id, "name": order.shipping_method_name}

    @extend_schema_field(PaymentSummary(allow_null=True))
    def get_payment(self, order: Order):
        payments = self.context.get("payments")
        if payments is None:
            payments = order_payments_read([order.pk])
        return payments.get(order.pk)


# --- gateway settings ------------------------------------------------------------------
class GatewaySettingInput(serializers.Serializer):
    """Every gateway's settings; which of them a gateway takes is checked by payments.services."""

    enabled = serializers.BooleanField(required=False)
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=2000, trim_whitespace=True,
                                         help_text="bank_transfer only: shown to the buyer at checkout.")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["No such setting."] for name in unknown})
        return super().to_internal_value(data)


class GatewaySettingOutput(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = GatewaySetting
        fields = ["gateway", "label", "enabled", "instructions", "updated_at"]

    def get_label(self, setting: GatewaySetting) -> str:
        return gateway_get(setting.gateway).label

    def to_representation(self, instance):
        data = super().to_representation(instance)
        gateway = gateway_get(instance.gateway)
        for name in ("instructions",):
            if name not in gateway.fields:
                data.pop(name)
        if instance.pk is None:
            data["updated_at"] = None
        return data
