"""Input serializers validate and output serializers shape; the figures come from analytics.selectors.

Outputs are plain dicts (``*_dict``) built from the selector's dataclasses: money as decimal strings with the
store currency's places. The serializer classes declare the same shapes for the OpenAPI document.
"""

from rest_framework import serializers

from config.money import money_str

from .models import EventType, Export, ExportFormat, ExportStatus, ExportType
from .selectors import PERIODS, Dashboard, PeriodTotals
from .services import MAX_BATCH, export_url

MAX_BIGINT = 2**63 - 1


# --- dashboard -----------------------------------------------------------------
class DashboardQueryInput(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(PERIODS), required=False,
                                     help_text="The last 7, 30 or 90 of the store's days, today included (default "
                                               "30d). Ignored when since or until is given.")
    since = serializers.DateField(required=False, help_text="First day (the store's time zone).")
    until = serializers.DateField(required=False, help_text="Last day, included (default today).")


class PeriodOutput(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()


class TotalsOutput(serializers.Serializer):
    period = PeriodOutput()
    revenue = serializers.CharField(help_text="Orders whose payment is paid, less refunds.")
    orders = serializers.IntegerField(help_text="Orders placed, whatever their status.")
    paid_orders = serializers.IntegerField()
    average_order_value = serializers.CharField(help_text="revenue ÷ paid orders.")
    sessions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(help_text="Sessions with an order ÷ sessions (0 when none).")


class DayOutput(serializers.Serializer):
    date = serializers.DateField()
    revenue = serializers.CharField()
    orders = serializers.IntegerField()
    sessions = serializers.IntegerField()


class TopProductOutput(serializers.Serializer):
    product = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    revenue = serializers.CharField(help_text="Line totals of paid orders.")


class LowStockOutput(serializers.Serializer):
    variant = serializers.IntegerField()
    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    available = serializers.IntegerField()


class NeedsActionOutput(serializers.Serializer):
    pending_bank_transfers = serializers.IntegerField()
    held_orders = serializers.IntegerField()
    low_stock = serializers.IntegerField()


class DashboardOutput(serializers.Serializer):
    period = PeriodOutput()
    currency = serializers.CharField()
    timezone = serializers.CharField(help_text="The store's time zone: its days are these days.")
    revenue = serializers.CharField(help_text="Orders whose payment is paid, less refunds (decimal string).")
    orders = serializers.IntegerField(help_text="Orders placed in the period, whatever their status.")
    paid_orders = serializers.IntegerField()
    average_order_value = serializers.CharField(help_text="revenue ÷ paid orders.")
    conversion_rate = serializers.FloatField(help_text="Sessions with an order ÷ sessions (0 when none).")
    sessions = serializers.IntegerField()
    revenue_by_day = DayOutput(many=True, help_text="Every day of the period, oldest first.")
    orders_by_status = serializers.DictField(child=serializers.IntegerField())
    top_products = TopProductOutput(many=True)
    low_stock = LowStockOutput(many=True, help_text="Tracked variants at or below the low-stock threshold, now.")
    needs_action = NeedsActionOutput(help_text="What waits for the merchant now.")
    previous = TotalsOutput(help_text="The same number of days just before.")

    def to_representation(self, instance: Dashboard):
        return dashboard_dict(instance)


def _totals_dict(totals: PeriodTotals, currency: str) -> dict:
    return {"period": {"since": totals.since.isoformat(), "until": totals.until.isoformat()},
            "revenue": money_str(totals.revenue, currency), "orders": totals.orders,
            "paid_orders": totals.paid_orders,
            "average_order_value": money_str(totals.average_order_value, currency),
            "sessions": totals.sessions, "conversion_rate": totals.conversion_rate}


def dashboard_dict(figures: Dashboard) -> dict:
    currency, current = figures.currency, _totals_dict(figures.current, figures.currency)
    return {
        "period": current.pop("period"), "currency": currency, "timezone": figures.timezone, **current,
        "revenue_by_day": [{"date": day.date.isoformat(), "revenue": money_str(day.revenue, currency),
                            "orders": day.orders, "sessions": day.sessions} for day in figures.by_day],
        "orders_by_status": figures.orders_by_status,
        "top_products": [{"product": sold.product, "name": sold.name, "quantity": sold.quantity,
                          "revenue": money_str(sold.revenue, currency)} for sold in figures.top_products],
        "low_stock": [{"variant": low.variant, "product": low.product, "sku": low.sku, "name": low.name,
                       "available": low.available} for low in figures.low_stock],
        "needs_action": {"pending_bank_transfers": figures.needs_action.pending_bank_transfers,
                         "held_orders": figures.needs_action.held_orders,
                         "low_stock": figures.needs_action.low_stock},
        "previous": _totals_dict(figures.previous, currency),
    }


# --- events --------------------------------------------------------------------
class EventInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    session_id = serializers.RegexField(r"^[\x21-\x7e]{1,64}$", max_length=64,
                                        help_text="The storefront's visit id (1–64 printable ASCII characters).")
    product = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_BIGINT,
                                       help_text="A product id of this store: product_view and add_to_cart.")
    query = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="search: the words.")
    order = serializers.CharField(required=False, allow_blank=True, max_length=20,
                                  help_text="purchase: the number of the order the session placed.")
    occurred_at = serializers.DateTimeField(required=False, help_text="Default: when it arrives.")


class EventBatchInput(serializers.Serializer):
    events = EventInput(many=True, allow_empty=False, max_length=MAX_BATCH)


class EventBatchOutput(serializers.Serializer):
    accepted = serializers.IntegerField()


# --- exports -------------------------------------------------------------------
class ExportQueryInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices, required=False, default=ExportFormat.CSV)


class ExportInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=ExportType.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices, required=False, default=ExportFormat.CSV)


class ExportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=ExportType.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    status = serializers.ChoiceField(choices=ExportStatus.choices)
    rows = serializers.IntegerField(allow_null=True, help_text="When done.")
    url = serializers.CharField(allow_null=True, help_text="When done: the file, for 24 hours from this answer.")
    error = serializers.CharField(allow_null=True, help_text="When failed.")
    requested_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Export):
        return export_dict(instance)


_moment = serializers.DateTimeField()


def export_dict(export: Export) -> dict:
    return {"id": export.pk, "type": export.type, "format": export.format, "status": export.status,
            "rows": export.rows, "url": export_url(export=export), "error": export.error or None,
            "requested_by": export.requested_by_label, "created_at": _moment.to_representation(export.created_at),
            "finished_at": _moment.to_representation(export.finished_at) if export.finished_at else None}
