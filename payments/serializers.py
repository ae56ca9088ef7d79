"""Input serializers validate and output serializers shape; the rules live in payments.services."""

from rest_framework import serializers

from config.api.fields import INTEGER_MAX, json_text_problem
from config.money import MoneyField

from .gateways import gateway_get
from .models import GatewaySetting, Payment


# --- checkout ----------------------------------------------------------------------
def _address(value):
    if problem := json_text_problem(value):
        raise serializers.ValidationError(problem)
    return value


class CheckoutInput(serializers.Serializer):
    cart = serializers.UUIDField()
    email = serializers.EmailField(max_length=254)
    customer_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    shipping_address = serializers.DictField(
        help_text="A flat object of text fields (line1, city, country…): at most 20, each at most 500 characters.")
    billing_address = serializers.DictField(required=False, allow_null=True, default=None,
                                            help_text="As shipping_address; omitted: the same.")
    shipping_method = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, required=False, allow_null=True,
                                               default=None)
    payment_method = serializers.CharField(max_length=32, help_text="cod or bank_transfer, if the store offers it.")

    def validate_shipping_address(self, value):
        return _address(value)

    def validate_billing_address(self, value):
        return _address(value)


# --- payments ------------------------------------------------------------------------
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
