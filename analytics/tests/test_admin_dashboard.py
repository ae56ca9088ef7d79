"""The dashboard on the admin index: the figures of a store the member works in, from the selector the API answers
with, a store switcher, a period switch, shortcuts to the lists that need action; another store's never."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone

from analytics.admin_dashboard import admin_dashboard
from catalog import services as catalog_services
from catalog.models import Variant
from orders.models import Order
from teams.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uncached(settings):
    settings.ANALYTICS_DASHBOARD_CACHE_SECONDS = 0


def board_for(user, **query):
    request = RequestFactory().get("/admin/", query)
    request.user = user
    return admin_dashboard(request)


def kpis(board) -> dict[str, tuple[str, str, str]]:
    return {figure.label: (figure.value, figure.previous, figure.change) for figure in board.kpis}


@pytest.fixture
def sales(store, other_store, make_variant, sell):
    """Alpha: 45.00 paid today, 20.00 paid 10 days ago, an unpaid bank transfer, a held order and a variant running
    low; Beta: 999.00 paid today."""
    shirt = make_variant(price="20.00", stock=50, product_name="Shirt")
    mug = make_variant(price="5.00", stock=50, product_name="Mug")
    make_variant(price="1.00", stock=2, product_name="Pin")
    sell((shirt, 2), (mug, 1))
    sell((shirt, 1), at=timezone.now() - timedelta(days=10))
    transfer = sell((mug, 1), paid=False, method="bank_transfer")
    held = sell((mug, 1), paid=False)
    Order.objects.filter(pk=held.pk).update(hold_reason="The amount paid does not match the order.")
    gold = make_variant(store=other_store, price="999.00", stock=5, product_name="Gold")
    sell((gold, 1), store=other_store)
    return {"transfer": transfer, "held": held}


def test_a_merchant_with_one_store_sees_its_period_beside_the_previous_one(store, sales):
    board = board_for(store.owner, period="7d")
    assert (board.store, [option.slug for option in board.stores], board.notice) == (store, ["alpha"], "")
    assert kpis(board) == {
        "Revenue": ("45.00 USD", "20.00 USD", "+125.0%"),
        "Orders": ("3", "1", "+200.0%"),
        "Average order value": ("45.00 USD", "20.00 USD", "+125.0%"),
        "Conversion rate": ("0.00%", "0.00%", "—"),
    }
    assert [(day.revenue, day.orders) for day in board.figures.by_day][-1] == (45, 3)
    assert '"data": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 45.0]' in board.revenue_chart
    assert {row.label: row.value for row in board.statuses} == {
        "Pending": "1", "Processing": "2", "Completed": "0", "Cancelled": "0", "Refunded": "0"}
    assert [(row.label, row.value) for row in board.top_products] == [("Shirt", "40.00 USD"), ("Mug", "5.00 USD")]
    assert [(row.label, row.value) for row in board.low_stock] == [("Pin", "2 left")]
    # one store: the shortcuts do not name it
    assert {row.label: (row.value, row.link) for row in board.actions} == {
        "Pending bank transfers": ("1", "/admin/orders/order/?status__exact=pending&payment_method__exact="
                                        "bank_transfer&payment_status__exact=unpaid"),
        "Held for review": ("1", "/admin/orders/order/?held=yes"),
        "Low stock": ("1", "/admin/catalog/variant/?low_stock=yes"),
    }


def test_the_period_switch(store, sales):
    assert kpis(board_for(store.owner, period="7d"))["Revenue"][0] == "45.00 USD"
    board = board_for(store.owner, period="30d")
    assert (board.period, len(board.figures.by_day), kpis(board)["Revenue"][0]) == ("30d", 30, "65.00 USD")
    assert [item["active"] for item in board.periods] == [False, True, False]
    assert board.periods[0]["link"] == "?store=alpha&period=7d"
    unknown = board_for(store.owner, period="1y")
    assert (unknown.period, unknown.notice) == ("30d", "Unknown period “1y”: showing the last 30 days.")


def test_a_member_of_two_stores_switches_between_them(store, other_store, sales):
    Membership.objects.create(user=store.owner, store=other_store, role="staff")
    first = board_for(store.owner)
    assert [option.slug for option in first.stores] == ["alpha", "beta"]
    assert first.store == store
    beta = board_for(store.owner, store="beta")
    assert (beta.store, kpis(beta)["Revenue"][0]) == (other_store, "999.00 USD")
    # several stores: the shortcuts name the one shown
    assert beta.actions[1].link == f"/admin/orders/order/?held=yes&store__id__exact={other_store.pk}"


def test_another_stores_figures_are_never_shown(store, other_store, sales):
    board = board_for(store.owner, store="beta")
    assert board.store == store
    assert board.notice == "No store “beta” among yours: showing another."
    assert [option.slug for option in board.stores] == ["alpha"]
    assert kpis(board)["Revenue"][0] != "999.00 USD"
    assert "Gold" not in [row.label for row in board.top_products]


def test_a_platform_superuser_picks_any_store(store, other_store, sales, user_factory):
    admin = user_factory(is_superuser=True, is_staff=True)
    board = board_for(admin, store="beta")
    assert [option.slug for option in board.stores] == ["alpha", "beta"]
    assert (board.store, kpis(board)["Revenue"][0]) == (other_store, "999.00 USD")


def test_a_member_of_no_store_gets_no_figures(user):
    board = board_for(user)
    assert (board.store, board.stores, board.figures, board.kpis) == (None, [], None, [])


def test_the_shortcuts_open_the_lists_of_what_waits(store, other_store, sales, admin_login):
    Membership.objects.create(user=store.owner, store=other_store, role="staff")  # links that name the store
    # a second variant of the pin runs low too: two variants of one product
    pin = Variant.objects.get(product__name="Pin")
    catalog_services.variant_create(product=pin.product, sku="PIN-GOLD", price=Decimal("2.00"), stock_quantity=1)
    make_low = Variant.objects.filter(store=other_store).update  # and one of the other store's
    make_low(stock_quantity=1)
    client = admin_login(store.owner)
    shortcuts = {row.label: row for row in board_for(store.owner).actions}
    transfers = client.get(shortcuts["Pending bank transfers"].link)
    assert transfers.status_code == 200
    assert [order.number for order in transfers.context["cl"].result_list] == [sales["transfer"].number]
    held = client.get(shortcuts["Held for review"].link)
    assert [order.number for order in held.context["cl"].result_list] == [sales["held"].number]
    # the low-stock count is of variants, and its link lists those variants, one row each
    low = client.get(shortcuts["Low stock"].link)
    assert low.status_code == 200
    assert sorted(variant.sku for variant in low.context["cl"].result_list) == sorted([pin.sku, "PIN-GOLD"])
    assert shortcuts["Low stock"].value == "2"


# --- the page: templates/admin/index.html through unfold's DASHBOARD_CALLBACK ---------------------------------------
def test_the_admin_index_shows_the_figures_and_charts(store, sales, admin_login, client_for):
    page = admin_login(store.owner).get("/admin/", {"period": "7d"})
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("Alpha", "Revenue", "45.00 USD", "previous period 20.00 USD", "+125.0%", "Average order value",
                  "Conversion rate", "Orders by status", "Shirt", "40.00 USD", "Pin", "2 left",
                  "Pending bank transfers", 'href="/admin/orders/order/?held=yes"',
                  'href="/admin/catalog/variant/?low_stock=yes"'):
        assert shown in html, shown
    assert 'data-type="bar"' in html and 'data-type="line"' in html
    assert "[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 45.0]" in html.replace("&quot;", '"')  # revenue by day, Chart.js data
    assert "/static/unfold/js/chart/chart.js" in html  # Chart.js from unfold's own files, no CDN
    assert 'id="store-switcher"' not in html  # one store
    assert "999.00" not in html and "Gold" not in html
    # the same figures as the API's
    api = client_for(store.owner).get(f"/api/v1/stores/{store.slug}/dashboard?period=30d").json()["data"]
    assert f"{api['revenue']} USD" in admin_login(store.owner).get("/admin/", {"period": "30d"}).content.decode()


def test_the_admin_index_switches_store_for_a_member_of_two(store, other_store, sales, admin_login):
    Membership.objects.create(user=store.owner, store=other_store, role="staff")
    client = admin_login(store.owner)
    html = client.get("/admin/").content.decode()
    assert 'id="store-switcher"' in html
    assert '<option value="alpha" selected>Alpha</option>' in html and '<option value="beta">Beta</option>' in html
    beta = client.get("/admin/", {"store": "beta", "period": "7d"}).content.decode()
    assert "999.00 USD" in beta
    assert "Gold" in beta and "Shirt" not in beta


def test_the_admin_index_never_shows_another_stores_figures(store, other_store, sales, admin_login):
    html = admin_login(store.owner).get("/admin/", {"store": "beta"}).content.decode()
    assert "No store “beta” among yours" in html
    assert "999.00" not in html and "Gold" not in html and "Beta" not in html


def test_the_admin_index_of_a_superuser_before_any_store(user_factory, admin_login):
    admin = user_factory(is_superuser=True, is_staff=True)
    html = admin_login(admin).get("/admin/").content.decode()
    assert "No store yet" in html


def test_a_member_of_no_store_is_not_let_in(user, admin_login):
    response = admin_login(user).get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_days_picker_shows_the_days_asked_for(store, sales, admin_login):
    # given: 45.00 today, 20.00 ten days ago
    today = timezone.localdate()
    since, until = today - timedelta(days=12), today - timedelta(days=5)
    # when the days are picked
    board = board_for(store.owner, since=since.isoformat(), until=until.isoformat())
    # then only those days count, and no period is marked
    assert (board.since, board.until, board.period, board.notice) == (since, until, "", "")
    assert len(board.figures.by_day) == 8
    assert kpis(board)["Revenue"][0] == "20.00 USD"
    assert not any(item["active"] for item in board.periods)
    # one end left out: GET …/dashboard's defaults (until today, since 30 days before until)
    assert board_for(store.owner, since=since.isoformat()).until == today
    # the page carries the picker with the days shown
    html = admin_login(store.owner).get("/admin/", {"since": since.isoformat(), "until": until.isoformat()}).content
    assert f'name="since" value="{since.isoformat()}"'.encode() in html
    assert f'name="until" value="{until.isoformat()}"'.encode() in html


@pytest.mark.parametrize("since, until, notice", [
    ("yesterday", "", "A date is written YYYY-MM-DD: showing the period instead."),
    ("2026-03-10", "2026-03-01", "since is after until. Showing the period instead."),
    ("2024-01-01", "2026-01-01", "At most 366 days. Showing the period instead."),
])
def test_days_the_api_would_refuse_leave_the_period(store, sales, since, until, notice):
    board = board_for(store.owner, period="7d", since=since, until=until)
    assert (board.period, board.notice, len(board.figures.by_day)) == ("7d", notice, 7)
