"""GET dashboard: the period's figures from orders, payments and events, in the store's days."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics.figures import local_date
from analytics.models import Event, StoreDay
from analytics.selectors import dashboard, dashboard_period
from analytics.serializers import dashboard_dict
from analytics.services import metrics_rebuild, metrics_refresh, rollup_live_from
from payments.models import Payment
from payments.services import payment_mark_paid

from .conftest import refund, refund_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def tripoli(store):
    store.timezone = "Africa/Tripoli"
    store.save(update_fields=["timezone"])
    return store


@pytest.fixture(autouse=True)
def _uncached(settings):
    settings.ANALYTICS_DASHBOARD_CACHE_SECONDS = 0


def today(store):
    return local_date(timezone.now(), store.zone)


def url(store, query="") -> str:
    return f"/api/v1/stores/{store.slug}/dashboard{query}"


def test_the_dashboard_adds_up_the_periods_orders(tripoli, make_variant, sell, client_for):
    # given paid, partly refunded, unpaid and cancelled orders today and earlier, and a variant running low
    shirt = make_variant(price="20.00", stock=50, product_name="Shirt")
    mug = make_variant(price="5.00", stock=50, product_name="Mug")
    low = make_variant(price="1.00", stock=2, product_name="Pin")
    now = timezone.now()
    sell((shirt, 2), (mug, 1))  # 45.00 paid today
    refund(sell((mug, 2), at=now - timedelta(days=1)), "4.00")  # 10.00 paid yesterday, 4.00 given back
    sell((shirt, 1), paid=False)  # cash on delivery, not paid yet
    sell((mug, 1), paid=False, method="bank_transfer", cancel=True)
    refund_all(sell((shirt, 1), at=now - timedelta(days=2)))  # paid, then all given back: counts nothing
    sell((shirt, 1), at=now - timedelta(days=10))  # the previous 7 days
    # when
    response = client_for(tripoli.owner).get(url(tripoli, "?period=7d"))
    # then
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    day = today(tripoli)
    assert data["period"] == {"since": (day - timedelta(days=6)).isoformat(), "until": day.isoformat()}
    assert (data["currency"], data["timezone"]) == ("USD", "Africa/Tripoli")
    assert (data["revenue"], data["orders"], data["paid_orders"]) == ("51.00", 5, 2)
    assert data["average_order_value"] == "25.50"
    assert data["orders_by_status"] == {"pending": 0, "processing": 3, "completed": 0, "cancelled": 1, "refunded": 1}
    assert [point["date"] for point in data["revenue_by_day"]] == [
        (day - timedelta(days=offset)).isoformat() for offset in range(6, -1, -1)]
    assert data["revenue_by_day"][-1] == {"date": day.isoformat(), "revenue": "45.00", "orders": 3, "sessions": 0}
    assert data["revenue_by_day"][-2]["revenue"] == "6.00"
    assert data["revenue_by_day"][-3] == {"date": (day - timedelta(days=2)).isoformat(), "revenue": "0.00",
                                          "orders": 1, "sessions": 0}
    assert data["top_products"] == [
        {"product": shirt.product_id, "name": "Shirt", "quantity": 2, "revenue": "40.00"},
        {"product": mug.product_id, "name": "Mug", "quantity": 3, "revenue": "15.00"},
    ]
    assert data["low_stock"] == [{"variant": low.pk, "product": low.product_id, "sku": low.sku, "name": "Pin",
                                  "available": 2}]
    assert data["needs_action"] == {"pending_bank_transfers": 0, "held_orders": 0, "low_stock": 1}
    assert data["previous"] == {
        "period": {"since": (day - timedelta(days=13)).isoformat(), "until": (day - timedelta(days=7)).isoformat()},
        "revenue": "20.00", "orders": 1, "paid_orders": 1, "average_order_value": "20.00", "sessions": 0,
        "conversion_rate": 0.0}
    assert (data["sessions"], data["conversion_rate"]) == (0, 0.0)


def test_days_are_the_stores_days(tripoli, make_variant, sell, client_for):
    # given an order at 00:30 in Tripoli today, which is 22:30 UTC the day before
    variant = make_variant(price="7.00", stock=5)
    day = today(tripoli)
    early = datetime.combine(day, time(0, 30), tzinfo=tripoli.zone)
    sell((variant, 1), at=early)
    # when / then: it is today's for the store
    data = client_for(tripoli.owner).get(url(tripoli, "?period=7d")).json()["data"]
    assert [point["revenue"] for point in data["revenue_by_day"][-2:]] == ["0.00", "7.00"]
    assert early.astimezone(UTC).date() == day - timedelta(days=1)


def test_the_money_has_the_currencys_places(store_factory, make_variant, sell, client_for):
    souk = store_factory(name="Souk", slug="souk", currency="LYD", timezone="Africa/Tripoli")
    variant = make_variant(store=souk, price="1.250", stock=5)
    sell((variant, 2), store=souk)
    data = client_for(souk.owner).get(url(souk)).json()["data"]
    assert (data["revenue"], data["average_order_value"], data["currency"]) == ("2.500", "2.500", "LYD")
    assert data["previous"]["revenue"] == "0.000"


def test_sessions_and_conversion_come_from_the_events(store, make_variant, sell, client_for):
    variant = make_variant(price="10.00", stock=5)
    order = sell((variant, 1))
    now = timezone.now()
    for session, kind in [("s1", "page_view"), ("s1", "purchase"), ("s2", "page_view"), ("s3", "search"),
                          ("s4", "page_view")]:
        Event.objects.create(store=store, type=kind, session_id=session, occurred_at=now, received_at=now,
                             order_number=order.number if kind == "purchase" else "")
    data = client_for(store.owner).get(url(store, "?period=7d")).json()["data"]
    assert (data["sessions"], data["conversion_rate"]) == (4, 0.25)
    assert data["revenue_by_day"][-1]["sessions"] == 4


def test_a_period_by_dates(store, make_variant, sell, client_for):
    variant = make_variant(price="3.00", stock=20)
    day = today(store)
    sell((variant, 1), at=timezone.now() - timedelta(days=20))
    query = f"?since={(day - timedelta(days=21)).isoformat()}&until={(day - timedelta(days=19)).isoformat()}"
    data = client_for(store.owner).get(url(store, query)).json()["data"]
    assert [point["revenue"] for point in data["revenue_by_day"]] == ["0.00", "3.00", "0.00"]
    assert data["previous"]["period"] == {"since": (day - timedelta(days=24)).isoformat(),
                                          "until": (day - timedelta(days=22)).isoformat()}


@pytest.mark.parametrize("query, field", [
    ("?period=1y", "period"), ("?since=2026-02-30", "since"), ("?since=2026-03-02&until=2026-03-01", "since"),
    ("?since=2024-01-01&until=2026-01-01", "until"), ("?until=soon", "until"),
])
def test_a_bad_period_is_400_on_the_field(store, client_for, query, field):
    response = client_for(store.owner).get(url(store, query))
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


def test_every_member_reads_it_and_no_one_else(api, store, member_factory, client_for, user_factory):
    from teams.services import api_key_create

    assert client_for(member_factory(store, "viewer")).get(url(store)).status_code == 200
    key = api_key_create(store=store, name="BI", scopes=[])[1]
    assert api.get(url(store), HTTP_X_API_KEY=key).status_code == 200
    assert api.get(url(store)).status_code == 401
    assert client_for(user_factory()).get(url(store)).status_code == 404


def test_answers_are_cached_for_a_minute(settings, store, make_variant, sell, client_for):
    settings.ANALYTICS_DASHBOARD_CACHE_SECONDS = 60
    owner = client_for(store.owner)
    variant = make_variant(price="10.00", stock=5)
    assert owner.get(url(store)).json()["data"]["orders"] == 0
    sell((variant, 1))
    assert owner.get(url(store)).json()["data"]["orders"] == 0  # the cached answer
    assert owner.get(url(store, "?period=7d")).json()["data"]["orders"] == 1  # another period: computed


# --- the rollups ---------------------------------------------------------------------
def test_the_rollups_answer_what_the_orders_say(tripoli, make_variant, sell):
    # given orders over the last weeks, some events, and no rollups yet
    shirt = make_variant(price="20.00", stock=50, product_name="Shirt")
    mug = make_variant(price="5.00", stock=50, product_name="Mug")
    now = timezone.now()
    for days_ago, pairs, paid in [(0, [(shirt, 1)], True), (1, [(mug, 3)], True), (3, [(shirt, 2), (mug, 1)], True),
                                  (3, [(mug, 1)], False), (12, [(shirt, 1)], True), (40, [(mug, 2)], True)]:
        sell(*pairs, paid=paid, at=now - timedelta(days=days_ago))
    Event.objects.create(store=tripoli, type="page_view", session_id="a", occurred_at=now - timedelta(days=3),
                         received_at=now)
    since, until = dashboard_period(store=tripoli, period="30d")
    assert rollup_live_from(store=tripoli) is None
    live = dashboard_dict(dashboard(store=tripoli, since=since, until=until))
    # when
    metrics_rebuild(store=tripoli)
    # then the dashboard reads the past days from the rollups, and answers the same
    assert rollup_live_from(store=tripoli) in {today(tripoli), today(tripoli) - timedelta(days=1)}
    assert StoreDay.objects.filter(store=tripoli).count() == 5
    assert dashboard_dict(dashboard(store=tripoli, since=since, until=until)) == live
    row = StoreDay.objects.get(store=tripoli, date=today(tripoli) - timedelta(days=3))
    assert (row.orders, row.paid_orders, row.revenue, row.sessions) == (2, 1, Decimal("45.00"), 1)
    assert row.statuses == {"processing": 2}
    # and reads them indeed: a rollup row changed by hand shows
    StoreDay.objects.filter(pk=row.pk).update(revenue=Decimal("1000.00"))
    assert dashboard(store=tripoli, since=since, until=until).current.revenue == Decimal("1000.00") + 20 + 15 + 20


def test_rebuilding_twice_writes_the_same_rows(store, make_variant, sell):
    variant = make_variant(price="4.00", stock=50)
    now = timezone.now()
    for days_ago in (0, 2, 2, 5):
        sell((variant, 1), at=now - timedelta(days=days_ago))

    def rows():
        return sorted((row.date, row.orders, row.revenue, row.statuses) for row in StoreDay.objects.filter(store=store))

    metrics_rebuild(store=store)
    first = rows()
    metrics_rebuild(store=store)
    metrics_rebuild(store=store, since=today(store) - timedelta(days=3))
    assert rows() == first and len(first) == 3



def test_the_job_brings_a_late_payment_into_its_day(store, make_variant, sell):
    # given a cash-on-delivery order from three days ago, rolled up unpaid
    variant = make_variant(price="12.00", stock=5)
    order = sell((variant, 1), paid=False, at=timezone.now() - timedelta(days=3))
    metrics_rebuild(store=store)
    since, until = dashboard_period(store=store, period="7d")
    assert dashboard(store=store, since=since, until=until).current.revenue == 0
    # when the cash arrives today
    payment_mark_paid(payment=Payment.objects.get(order=order), actor=store.owner)
    # then that past day shows it once the job has run (the dashboard reads past days from the rollups)
    assert dashboard(store=store, since=since, until=until).current.revenue == 0
    metrics_refresh()
    figures = dashboard(store=store, since=since, until=until)
    assert figures.current.revenue == Decimal("12.00")
    assert figures.by_day[-4].revenue == Decimal("12.00")
    assert StoreDay.objects.get(store=store, date=today(store) - timedelta(days=3)).paid_orders == 1


def test_the_job_rolls_up_a_store_it_never_saw_and_one_whose_time_zone_changed(store, make_variant, sell):
    variant = make_variant(price="2.00", stock=50)
    late = datetime.combine(today(store) - timedelta(days=2), time(23, 30), tzinfo=UTC)
    sell((variant, 1), at=late)
    metrics_refresh()
    assert StoreDay.objects.get(store=store).date == today(store) - timedelta(days=2)
    assert rollup_live_from(store=store) is not None
    # the store moves to Cairo (UTC+2 or +3): its days move, the rollups are not trusted until rebuilt
    store.timezone = "Africa/Cairo"
    store.save(update_fields=["timezone"])
    assert rollup_live_from(store=store) is None
    metrics_refresh()
    assert rollup_live_from(store=store) is not None
    # the sale's day is now its date in Cairo (today - 1, or today - 2 in the hours when Cairo is a day ahead of UTC)
    assert StoreDay.objects.get(store=store, orders=1).date == late.astimezone(ZoneInfo("Africa/Cairo")).date()


def test_a_rebuild_keeps_the_sessions_of_days_whose_events_were_pruned(settings, store, make_variant, sell):
    settings.ANALYTICS_RETENTION_DAYS = 30
    variant = make_variant(price="5.00", stock=5)
    old = today(store) - timedelta(days=45)
    sell((variant, 1), at=datetime.combine(old, time(12), tzinfo=UTC))
    StoreDay.objects.create(store=store, date=old, sessions=40, converted_sessions=2, page_views=90,
                            computed_at=timezone.now())
    metrics_rebuild(store=store)
    row = StoreDay.objects.get(store=store, date=old)
    assert (row.orders, row.revenue, row.sessions, row.converted_sessions, row.page_views) == (
        1, Decimal("5.00"), 40, 2, 90)


def test_the_command_rebuilds_one_store_or_all(store, other_store, make_variant, sell):
    from io import StringIO

    from django.core.management import CommandError, call_command

    variant = make_variant(price="1.00", stock=5)
    for days_ago in (1, 4):
        sell((variant, 1), at=timezone.now() - timedelta(days=days_ago))
    out = StringIO()
    call_command("rebuild_metrics", "--store", store.slug, "--since", (today(store) - timedelta(days=2)).isoformat(),
                 stdout=out)
    assert "alpha: 1 day(s) rewritten" in out.getvalue()
    assert StoreDay.objects.filter(store=store).count() == 1
    assert rollup_live_from(store=store) is None  # a partial rebuild does not vouch for the older days
    call_command("rebuild_metrics", stdout=out)
    assert StoreDay.objects.filter(store=store).count() == 2
    assert rollup_live_from(store=store) is not None and rollup_live_from(store=other_store) is not None
    with pytest.raises(CommandError):
        call_command("rebuild_metrics", "--store", "nope")
    with pytest.raises(CommandError):
        call_command("rebuild_metrics", "--since", "yesterday")


def test_top_products_from_the_rollups_and_today_add_up(store, make_variant, sell):
    # given products sold in the rolled-up days, and today a newcomer and one from outside the rollups' top
    from analytics.selectors import _top_products

    now = timezone.now()
    a, b, c, d = (make_variant(price=price, stock=100, product_name=name)
                  for price, name in [("100.00", "A"), ("90.00", "B"), ("85.00", "C"), ("200.00", "D")])
    for variant in (a, b, c):
        sell((variant, 1), at=now - timedelta(days=3))
    sell((c, 1), (d, 1))  # today: C reaches 170, D 200
    sell((b, 1), paid=False)  # unpaid: not sold yet
    since, until = dashboard_period(store=store, period="7d")
    live = _top_products(store=store, since=since, until=until, live_from=None, limit=2)
    metrics_rebuild(store=store)
    rolled = _top_products(store=store, since=since, until=until, live_from=rollup_live_from(store=store), limit=2)
    assert [(top.name, top.quantity, top.revenue) for top in rolled] == [("D", 1, Decimal("200.00")),
                                                                         ("C", 2, Decimal("170.00"))]
    assert rolled == live
