"""The platform's default plans (superusers edit them in the admin afterwards). Stores keep no plan of their own:
they are on PLAN_DEFAULT ("free" unless set) until the platform or billing gives them another."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    # code, name, price, position, limits (products, staff, api_keys, webhooks, card_gateways, orders_per_month),
    # custom_email_sender, export_jobs, analytics_retention_days (None: unlimited)
    ("free", "Free", Decimal("0"), 0, (25, 2, 1, 1, 1, 100), False, False, 30),
    ("pro", "Pro", Decimal("29"), 10, (1000, 5, 5, 5, 3, 2000), True, True, 365),
    ("business", "Business", Decimal("99"), 20, (None, None, None, None, None, None), True, True, None),
]
LIMITS = ("products", "staff", "api_keys", "webhooks", "card_gateways", "orders_per_month")


def plans_create(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    for code, name, price, position, limits, sender, exports, retention in DEFAULTS:
        Plan.objects.get_or_create(code=code, defaults={
            "name": name, "price": price, "currency": "USD", "interval": "month", "position": position,
            **dict(zip(LIMITS, limits, strict=True)), "custom_email_sender": sender, "export_jobs": exports,
            "analytics_retention_days": retention,
        })


def plans_remove(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    Plan.objects.filter(code__in=[row[0] for row in DEFAULTS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("plans", "0001_initial"),
    ]

    operations = [migrations.RunPython(plans_create, plans_remove)]
