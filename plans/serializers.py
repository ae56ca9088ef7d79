from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.money import money_str

from .models import FEATURES, LIMITS, Plan

Limits = type(
    "PlanLimits",
    (serializers.Serializer,),
    {name: serializers.IntegerField(allow_null=True, help_text="null: unlimited") for name in LIMITS},
)
Usage = type("PlanUsage", (serializers.Serializer,), {name: serializers.IntegerField() for name in LIMITS})


class PlanOutput(serializers.ModelSerializer):
    """A plan as merchants choose it (GET /api/v1/plans)."""

    price = serializers.SerializerMethodField(help_text="A decimal string in the plan's currency, per interval.")
    limits = serializers.SerializerMethodField()
    features = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["code", "name", "price", "currency", "interval", "limits", "features", "analytics_retention_days"]

    def get_price(self, plan: Plan) -> str:
        return money_str(plan.price, plan.currency)

    @extend_schema_field(Limits)
    def get_limits(self, plan: Plan) -> dict:
        return {name: plan.limit(name) for name in LIMITS}

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=FEATURES)))
    def get_features(self, plan: Plan) -> list[str]:
        return plan.features
