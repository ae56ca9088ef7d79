"""seed_demo's history for the dashboard: time zones, 90 days of orders and events, rollups; once."""

from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Event, StoreDay
from analytics.selectors import dashboard, dashboard_period
from analytics.services import rollup_live_from
from catalog.models import InventoryMovement
from orders.models import Order
from payments.models import Payment, Refund
from stores.models import Store

pytestmark = pytest.mark.django_db


def test_the_demo_stores_get_their_time_zone_and_a_lively_dashboard_once(settings):
    settings.DEMO_HISTORY_DAYS = 30
    out = StringIO()
    call_command("seed_demo", stdout=out)
    counts = {store.slug: (Order.objects.filter(store=store).count(), Event.objects.filter(store=store).count())
              for store in Store.objects.all()}
    movements = InventoryMovement.objects.count()
    call_command("seed_demo", stdout=StringIO())
    assert "past orders" in out.getvalue()
    for store in Store.objects.order_by("slug"):
        assert store.timezone == {"alpha": "Africa/Cairo", "beta": "Africa/Tripoli"}[store.slug]
        orders = Order.objects.filter(store=store)
        assert orders.count() == counts[store.slug][0] > 100  # the second run added nothing
        assert Event.objects.filter(store=store).count() == counts[store.slug][1] > 1000
        assert {"completed", "cancelled", "refunded"} <= set(orders.values_list("status", flat=True))
        assert Payment.objects.filter(store=store).count() == orders.count()
        assert Refund.objects.filter(store=store).exists()
        assert rollup_live_from(store=store) is not None and StoreDay.objects.filter(store=store).count() >= 28
        since, until = dashboard_period(store=store, period="30d")
        figures = dashboard(store=store, since=since, until=until)
        assert figures.current.revenue > 0 and figures.current.sessions > 0 and figures.top_products
        assert 0 < figures.current.conversion_rate < 0.2
        assert sum(1 for day in figures.by_day if day.orders) >= 25
    assert InventoryMovement.objects.count() == movements  # history sold before today: no stock moved
