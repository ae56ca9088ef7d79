"""POST analytics/events: storefront events, checked as a batch, written in bulk, rolled up, pruned."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from analytics.models import Event, StoreDay
from analytics.services import events_prune, metrics_rebuild

pytestmark = pytest.mark.django_db


def url(store) -> str:
    return f"/api/v1/stores/{store.slug}/analytics/events"


def test_a_storefront_sends_a_batch_without_logging_in(api, store, make_variant, sell):
    # given a product and an order the session placed
    variant = make_variant(price="9.00", stock=5)
    order = sell((variant, 1))
    # two hours ago, or the start of the store's day if that is later: the dashboard counts a session per day
    now = timezone.now()
    midnight = timezone.localtime(now, store.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = max(now - timedelta(hours=2), midnight).astimezone(UTC).isoformat()
    batch = {"events": [
        {"type": "page_view", "session_id": "visit-1", "occurred_at": earlier},
        {"type": "product_view", "session_id": "visit-1", "product": variant.product_id},
        {"type": "add_to_cart", "session_id": "visit-1", "product": variant.product_id},
        {"type": "search", "session_id": "visit-2", "query": "blue mug"},
        {"type": "checkout_started", "session_id": "visit-1"},
        {"type": "purchase", "session_id": "visit-1", "order": order.number.lower().replace("-", "")},
    ]}
    # when
    response = api.post(url(store), batch, format="json")
    # then
    assert response.status_code == 202, response.json()
    assert response.json()["data"] == {"accepted": 6}
    events = list(Event.objects.filter(store=store).order_by("pk"))
    assert [event.type for event in events] == [event["type"] for event in batch["events"]]
    assert events[0].occurred_at.isoformat() == earlier
    assert events[1].product_id == variant.product_id and events[3].query == "blue mug"
    assert events[5].order_number == order.number  # as typed any way, stored as the order's number
    # and the dashboard counts the sessions
    data = api.get(f"/api/v1/stores/{store.slug}/dashboard", HTTP_X_API_KEY=_key(store)).json()["data"]
    assert (data["sessions"], data["conversion_rate"]) == (2, 0.5)


def _key(store) -> str:
    from teams.services import api_key_create

    return api_key_create(store=store, name="dash", scopes=[])[1]


@pytest.mark.parametrize("event, problem", [
    ({"type": "click", "session_id": "s"}, "Item 1: type:"),
    ({"type": "page_view"}, "Item 1: session_id:"),
    ({"type": "page_view", "session_id": "has space"}, "Item 1: session_id:"),
    ({"type": "page_view", "session_id": "x" * 65}, "Item 1: session_id:"),
    ({"type": "product_view", "session_id": "s"}, "Item 1: product: Required"),
    ({"type": "search", "session_id": "s", "query": ""}, "Item 1: query: Required"),
    ({"type": "purchase", "session_id": "s"}, "Item 1: order: Required"),
    ({"type": "purchase", "session_id": "s", "order": "AAAAA-BBBBB"}, "Item 1: order: No such order"),
    ({"type": "product_view", "session_id": "s", "product": 999999}, "Item 1: product: No such product"),
    ({"type": "page_view", "session_id": "s", "occurred_at": "2000-01-01T00:00:00Z"}, "Item 1: occurred_at:"),
    ({"type": "page_view", "session_id": "s", "occurred_at": "2999-01-01T00:00:00Z"}, "Item 1: occurred_at:"),
    ({"type": "page_view", "session_id": "s", "query": "a\x00b"}, "Item 1: query:"),
])
def test_one_bad_event_refuses_the_batch_naming_it(api, store, event, problem):
    response = api.post(url(store), {"events": [{"type": "page_view", "session_id": "ok"}, event]}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(message.startswith(problem) for message in error["details"]["events"]), error
    assert not Event.objects.exists()


def test_another_stores_product_or_order_is_refused(api, store, other_store, make_variant, sell):
    theirs = make_variant(store=other_store, price="1.00", stock=5)
    their_order = sell((theirs, 1), store=other_store)
    for event in [{"type": "product_view", "session_id": "s", "product": theirs.product_id},
                  {"type": "purchase", "session_id": "s", "order": their_order.number}]:
        response = api.post(url(store), {"events": [event]}, format="json")
        assert response.status_code == 400, response.json()
    assert not Event.objects.exists()


@pytest.mark.parametrize("count, status", [(0, 400), (100, 202), (101, 400)])
def test_a_batch_holds_one_to_a_hundred_events(api, store, count, status):
    events = [{"type": "page_view", "session_id": f"s{n}"} for n in range(count)]
    response = api.post(url(store), {"events": events}, format="json")
    assert response.status_code == status, response.json()
    assert Event.objects.count() == (count if status == 202 else 0)


def test_not_json_is_415_and_no_body_400(api, store):
    assert api.post(url(store), "type=page_view", content_type="application/x-www-form-urlencoded").status_code == 415
    assert api.post(url(store)).status_code == 400


def test_events_are_throttled_per_client(api, store, settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "analytics": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        responses = [api.post(url(store), {"events": [{"type": "page_view", "session_id": "s"}]}, format="json")
                     for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert [response.status_code for response in responses] == [202, 202, 429]
    assert responses[2].json()["error"]["code"] == "RATE_LIMITED" and "Retry-After" in responses[2].headers


def test_events_are_pruned_after_the_retention_period_and_their_days_keep_their_figures(settings, store):
    settings.ANALYTICS_RETENTION_DAYS = 90
    now = timezone.now()
    old, recent = now - timedelta(days=91), now - timedelta(days=89)
    for moment, session in [(old, "a"), (old, "b"), (recent, "c")]:
        Event.objects.create(store=store, type="page_view", session_id=session, occurred_at=moment,
                             received_at=moment)
    metrics_rebuild(store=store)
    old_day = StoreDay.objects.get(store=store, date=old.date())
    assert old_day.sessions == 2
    assert events_prune(now=now) == 2
    assert list(Event.objects.values_list("session_id", flat=True)) == ["c"]
    metrics_rebuild(store=store)  # safe after the prune: the old day keeps what it counted
    assert StoreDay.objects.get(pk=old_day.pk).sessions == 2
