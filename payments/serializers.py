"""Input serializers validate and output serializers shape; the rules live in payments.services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import INTEGER_MAX, json_text_problem
from config.money import MoneyField

from . import services
from .gateways import REGISTRY, gateway_get
from .models import FraudSetting, GatewaySetting, Payment, Refund


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
    marketing_consent = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text="A signed-in buyer's answer to marketing email, recorded with the order (GET /api/v1/me/consents); "
                  "true from a guest is 400.")

    def validate_shipping_address(self, value):
        return _address(value)

    def validate_billing_address(self, value):
        return _address(value)


# --- payments ------------------------------------------------------------------------
class PaymentOutput(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)
    refunded_amount = MoneyField(read_only=True, help_text="Refunds that succeeded or are on their way to the gateway.")
    order = serializers.IntegerField(source="order_id", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "order", "order_number", "gateway", "status", "amount", "refunded_amount", "currency",
                  "instructions", "created_at", "paid_at"]

    def to_representation(self, instance):
        self.context["currency"] = instance.currency
        return super().to_representation(instance)


class PaymentCreateInput(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX, help_text="The order's id.")
    gateway = serializers.CharField(max_length=32, help_text="A gateway the store offers (not cod).")
    email = serializers.CharField(required=False, allow_blank=True, max_length=254,
                                  help_text="A guest's email: the order's, which opens it to them.")


class PaymentStartedOutput(PaymentOutput):
    """A new payment, with what the buyer's page needs to pay it (the parts its gateway gave)."""

    held = serializers.SerializerMethodField(help_text="A fraud check held the order for review: nothing started.")
    # each only when the gateway gave it (a missing key is left out of the answer)
    client_secret = serializers.CharField(source="action.client_secret", required=False, read_only=True,
                                          help_text="stripe: for Stripe.js.")
    redirect_url = serializers.CharField(source="action.redirect_url", required=False, read_only=True,
                                         help_text="kashier: the hosted payment page.")
    lightbox = serializers.DictField(source="action.lightbox", required=False, read_only=True,
                                     help_text="moamalat: the Lightbox parameters.")

    class Meta(PaymentOutput.Meta):
        fields = [*PaymentOutput.Meta.fields, "held", "client_secret", "redirect_url", "lightbox"]

    def get_held(self, payment: Payment) -> bool:
        return bool(payment.order.hold_reason)


class PaymentFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Payment._meta.get_field("status").choices, required=False)
    gateway = serializers.CharField(max_length=32, required=False)
    order = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


# --- refunds ---------------------------------------------------------------------------------------------------
class RefundInput(serializers.Serializer):
    amount = MoneyField(help_text="A decimal string with the currency's places; at most what remains to refund.")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    restock = serializers.BooleanField(required=False, default=False,
                                       help_text="Put back the units the order sold (a completed order); a processing "
                                                 "order's reservation goes back with its full refund.")


class RefundOutput(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)
    order = serializers.IntegerField(source="payment.order_id", read_only=True)
    order_number = serializers.CharField(source="payment.order.number", read_only=True)
    gateway = serializers.CharField(source="payment.gateway", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment", "order", "order_number", "gateway", "amount", "currency", "reason", "restock",
                  "status", "reference", "failure_reason", "created_at", "updated_at"]

    def to_representation(self, instance):
        self.context["currency"] = instance.currency
        return super().to_representation(instance)


class RefundFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Refund._meta.get_field("status").choices, required=False)
    payment = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


# --- gateway settings ------------------------------------------------------------------
def _setting_names(gateways) -> dict[str, tuple]:
    """Each setting name the gateways have → (kind, choices): "flag", "choice", "secret" or "text"."""
    names: dict[str, tuple] = {}
    for gateway in gateways:
        for name in gateway.fields:
            if name == "enabled" or name in gateway.flags:
                names.setdefault(name, ("flag", ()))
            elif name in gateway.choices:
                kind, choices = names.get(name, ("choice", ()))
                names[name] = ("choice", tuple(dict.fromkeys((*choices, *gateway.choices[name]))))
            else:
                names.setdefault(name, ("text", ()))
        for name in gateway.secret_fields:
            names[name] = ("secret", ())
    return names


def _gateways(serializer) -> list:
    """The gateway in the serializer's context, else every gateway (the OpenAPI schema describes them all)."""
    gateway = serializer.context.get("gateway")
    return [gateway] if gateway is not None else list(REGISTRY.values())


class GatewaySettingInput(serializers.Serializer):
    """The gateway's settings (API.md): each optional, those left out keep their value. Which names and values a
    gateway takes is checked by payments.services.gateway_setting_check."""

    def get_fields(self):
        fields = {}
        for name, (kind, choices) in _setting_names(_gateways(self)).items():
            if kind == "flag":
                fields[name] = serializers.BooleanField(required=False)
            elif kind == "choice":
                fields[name] = serializers.ChoiceField(choices=choices, required=False)
            elif kind == "secret":
                fields[name] = serializers.CharField(
                    required=False, allow_blank=True, allow_null=True, trim_whitespace=True,
                    max_length=services.MAX_SECRET_LENGTH, style={"input_type": "password"},
                    help_text='A credential: write-only, answered masked ("••••" + last 4); "" or null clears it; '
                              "sending the masked value back keeps it.")
            else:
                limit = services.MAX_INSTRUCTIONS_LENGTH if name == "instructions" else services.MAX_OPTION_LENGTH
                fields[name] = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                                     trim_whitespace=True, max_length=limit)
        return fields

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["No such setting."] for name in unknown})
        return super().to_internal_value(data)


class GatewaySettingOutput(serializers.Serializer):
    """A store's setting for one gateway: its public settings, its credentials masked, whether it is configured
    (every required setting set; checkout offers it when also enabled) and, for a gateway that notifies us, the
    webhook URL to paste into its dashboard."""

    gateway = serializers.CharField()
    label = serializers.CharField()
    configured = serializers.BooleanField()
    webhook_url = serializers.CharField(
        required=False, help_text="Card gateways only (absent for the others): paste it into the gateway's dashboard.")
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        fields = dict(super().get_fields())
        for name, (kind, choices) in _setting_names(_gateways(self)).items():
            if kind == "flag":
                fields[name] = serializers.BooleanField(required=False)
            elif kind == "choice":
                fields[name] = serializers.ChoiceField(choices=choices, required=False)
            else:
                fields[name] = serializers.CharField(
                    required=False, help_text='masked: "••••" + last 4' if kind == "secret" else "")
        return fields

    def to_representation(self, setting: GatewaySetting) -> dict:
        gateway = gateway_get(setting.gateway)
        data = {"gateway": gateway.name, "label": gateway.label, **services.gateway_setting_public(setting),
                "configured": services.gateway_setting_configured(setting)}
        if not gateway.offline:
            data["webhook_url"] = services.gateway_webhook_url(store=setting.store, gateway=gateway.name,
                                                               base_url=self.context.get("base_url", ""))
        data["updated_at"] = serializers.DateTimeField().to_representation(setting.updated_at) \
            if setting.pk is not None else None
        return data


# --- fraud limits --------------------------------------------------------------------------------------------------
_COUNT_HELP = "Failed payments {} in the window from which the next payment is held for review; 0 switches it off."


class FraudSettingInput(serializers.Serializer):
    """Each optional (left out: kept); null puts the platform default back. Checked by
    payments.services.fraud_setting_check."""

    window_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=INTEGER_MAX,
                                              help_text="How far back failed payments count.")
    max_failed_per_email = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                                    max_value=INTEGER_MAX, help_text=_COUNT_HELP.format("per email"))
    max_failed_per_ip = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                                 max_value=INTEGER_MAX, help_text=_COUNT_HELP.format("per IP address"))
    max_failed_per_card = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                                   max_value=INTEGER_MAX, help_text=_COUNT_HELP.format("per card"))
    amount_ceiling = MoneyField(required=False, allow_null=True,
                                help_text="An order total above this (the store's currency) is held for review; "
                                          "null: no ceiling.")

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["No such setting."] for name in unknown})
        return super().to_internal_value(data)


class FraudLimitsOutput(serializers.Serializer):
    window_minutes = serializers.IntegerField()
    max_failed_per_email = serializers.IntegerField()
    max_failed_per_ip = serializers.IntegerField()
    max_failed_per_card = serializers.IntegerField()
    amount_ceiling = MoneyField(allow_null=True)


class FraudSettingOutput(serializers.Serializer):
    """The store's own limits (null: the platform default) and the limits in force."""

    window_minutes = serializers.IntegerField(allow_null=True)
    max_failed_per_email = serializers.IntegerField(allow_null=True)
    max_failed_per_ip = serializers.IntegerField(allow_null=True)
    max_failed_per_card = serializers.IntegerField(allow_null=True)
    amount_ceiling = MoneyField(allow_null=True)
    currency = serializers.CharField(source="store.currency")
    in_force = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(FraudLimitsOutput)
    def get_in_force(self, setting: FraudSetting) -> dict:
        return FraudLimitsOutput(services.fraud_limits(store=setting.store, setting=setting),
                                 context=self.context).data

    def to_representation(self, instance):
        self.context["currency"] = instance.store.currency
        data = super().to_representation(instance)
        if instance.pk is None:
            data["updated_at"] = None
        return data


# --- payments health ---------------------------------------------------------------------
class GatewayHealthOutput(serializers.Serializer):
    configured_stores = serializers.IntegerField(help_text="Active stores offering it: enabled and configured.")
    succeeded_last_hour = serializers.IntegerField(help_text="Its payments paid in the last hour.")
    failed_last_hour = serializers.IntegerField(help_text="Its payments that failed in the last hour.")
    webhooks_pending = serializers.IntegerField(help_text="Its notifications stored and not processed yet.")
    webhooks_failed = serializers.IntegerField(help_text="Its notifications whose processing failed (replay them "
                                                         "from the admin).")


# --- held orders ---------------------------------------------------------------------------------------------------
class OrderReviewInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                 help_text="Why (kept in the order's history and the audit log).")
