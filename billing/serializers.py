from rest_framework import serializers

from plans.serializers import PlanOutput, Usage

from .models import SubscriptionStatus


class SubscriptionInput(serializers.Serializer):
    plan = serializers.CharField(max_length=40, help_text="A plan's code (GET /api/v1/plans).")
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]{1,200}$",
        required=False,
        allow_blank=True,
        help_text="A Stripe PaymentMethod (pm_…) collected by Stripe.js, made the customer's default for invoices.",
    )


class SubscriptionOutput(serializers.Serializer):
    plan = PlanOutput(allow_null=True, help_text="The plan the store is on now (null: no plan, no limits).")
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    grace_until = serializers.DateTimeField(allow_null=True, help_text="past_due: the plan stays until then.")
    usage = Usage()
    billing = serializers.ChoiceField(choices=["stripe", "off"], help_text="off: plans are assigned by the platform.")


class InvoiceOutput(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    amount_due = serializers.CharField()
    amount_paid = serializers.CharField()
    created = serializers.DateTimeField(allow_null=True)
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    hosted_invoice_url = serializers.CharField()
    invoice_pdf = serializers.CharField()


class PortalInput(serializers.Serializer):
    return_url = serializers.URLField(required=False, allow_blank=True, max_length=2000)


class PortalOutput(serializers.Serializer):
    url = serializers.URLField()
