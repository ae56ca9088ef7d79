from rest_framework import serializers

from config.api.fields import INTEGER_MAX
from config.money import CURRENCY_CHOICES

from .models import Store

TIMEZONE_HELP = "IANA time zone name (default UTC), e.g. Africa/Tripoli: the store's days (dashboard, exports)."


class StoreCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=60, required=False, allow_blank=True)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    # no default="": the schema would show "" as an email; an omitted one is the model's ""
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False)
    prices_include_tax = serializers.BooleanField(required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)
    timezone = serializers.CharField(max_length=64, required=False, help_text=TIMEZONE_HELP)


class StoreUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False)
    prices_include_tax = serializers.BooleanField(required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=INTEGER_MAX, required=False)
    timezone = serializers.CharField(max_length=64, required=False, help_text=TIMEZONE_HELP)
    email_sender = serializers.EmailField(
        required=False, allow_blank=True,
        help_text="The address customers' emails come from; plans with the custom email sender only (403 "
                  "PLAN_LIMIT_REACHED otherwise). Empty: the platform's.")


class StoreOutput(serializers.ModelSerializer):
    """What the public sees of a store."""

    class Meta:
        model = Store
        fields = ["id", "name", "slug", "description", "logo", "currency", "timezone", "contact_email", "created_at"]


class StoreMemberOutput(StoreOutput):
    """What a member (or a key) of the store sees: its settings and the caller's role."""

    role = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta(StoreOutput.Meta):
        fields = [*StoreOutput.Meta.fields, "is_active", "tax_rate", "prices_include_tax", "low_stock_threshold",
                  "email_sender", "updated_at", "role", "permissions"]

    def get_role(self, store) -> str | None:
        access = self.context.get("access")
        return access.role if access else None

    def get_permissions(self, store) -> list[str]:
        access = self.context.get("access")
        return sorted(access.permissions) if access else []
