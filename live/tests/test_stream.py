"""GET /api/v1/stream served by uvicorn (started here, in a thread, on the test database) while orders are placed
and moved through the API: who sees what, resume by Last-Event-ID, heartbeats, refusals."""

import socket
import threading
import time
import uuid

import pytest
import uvicorn
from django.db.backends.signals import connection_created
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from live.models import LiveEvent
from live.tests.sse import Stream
from teams.models import Membership

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

ADDRESS = {"line1": "1 Main St", "city": "Tripoli", "country": "LY"}


class ServerConnections:
    """The database connections the server's threads open: the SQLite ones read uncommitted (the test database of
    SQLite is one in-memory database in shared-cache mode, where a reader's table lock would make the test's own
    writes fail, "table is locked"; the server's threads only read); all are closed when the server stops (on
    PostgreSQL an open one would keep the test database from being dropped)."""

    def __init__(self) -> None:
        self.opened = []

    def __call__(self, sender, connection, **kwargs) -> None:
        if threading.current_thread() is threading.main_thread():
            return
        self.opened.append(connection)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA read_uncommitted = 1")

    def close(self) -> None:
        for connection in self.opened:
            if connection.connection is not None and connection.vendor != "sqlite":
                connection.connection.close()  # the raw connection: its thread is gone


@pytest.fixture
def server(transactional_db, settings):
    """uvicorn serving config.asgi on a free loopback port: its port."""
    settings.LIVE_POLL_SECONDS = 0.05
    settings.LIVE_BLOCK_SECONDS = 1
    settings.LIVE_REDIS_KEY = f"test-live-{uuid.uuid4().hex}"  # a stream of this test's own
    connections = ServerConnections()
    connection_created.connect(connections)
    from config.asgi import application

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert instance.started
    yield sock.getsockname()[1]
    instance.should_exit = True
    thread.join(10)
    connection_created.disconnect(connections)
    connections.close()
    if settings.REDIS_URL:
        from live.channel import channel

        channel().client.delete(settings.LIVE_REDIS_KEY)


@pytest.fixture
def streams():
    opened: list[Stream] = []

    def open_stream(*args, **kwargs) -> Stream:
        stream = Stream(*args, **kwargs)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def checkout(client, store, cart) -> dict:
    response = client.post(f"/api/v1/stores/{store.slug}/checkout", {
        "cart": str(cart.pk), "email": "buyer@example.com", "customer_name": "Buyer",
        "shipping_address": ADDRESS, "payment_method": "cod"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def test_a_member_sees_an_order_placed_through_the_api_and_their_notification(
        server, streams, api, store, make_variant, cart_with):
    # given the owner's stream (a JWT in the header, as a server-side client sends it)
    stream = streams(server, headers=bearer(store.owner))
    assert stream.status == 200 and stream.response.getheader("Content-Type").startswith("text/event-stream")
    first = stream.next()
    assert first["retry"] == "3000" and first["comment"] == ["connected"]
    # when a guest places an order through the API
    order = checkout(api, store, cart_with((make_variant(price="12.50"), 2)))
    # then the stream carries order.created with the whole payload, then the owner's in-app notification
    event = stream.event("order.created")
    assert event["id"] and (event["data"]["number"], event["data"]["total"]) == (order["number"], "25.00")
    assert event["data"]["email"] == "buyer@example.com" and event["data"]["store"] == store.slug
    notification = stream.event("notification", skip=())
    assert notification["data"]["event_type"] == "order.created"
    assert order["number"] in notification["data"]["title"]


def test_another_stores_member_sees_nothing_of_it(
        server, streams, api, store, other_store, make_variant, cart_with):
    # given a member of another store, whose stream opens with a ticket (as EventSource does)
    staff = Membership.objects.create(store=other_store, role="staff",
                                      user=type(store.owner).objects.create_user(email="s@example.com",
                                                                                 password="Pass-word-42"))
    api.force_authenticate(staff.user)
    ticket = api.post("/api/v1/stream/ticket", {}, format="json")
    assert ticket.status_code == 201, ticket.json()
    assert "no-store" in ticket["Cache-Control"]
    url = ticket.json()["data"]["url"]
    stream = streams(server, url[url.index("?"):])
    assert stream.status == 200
    api.force_authenticate(None)
    # when an order is placed in the first store, then one in theirs
    checkout(api, store, cart_with((make_variant(), 1)))
    theirs = checkout(api, other_store, cart_with((make_variant(store=other_store), 1), store=other_store))
    # then the first event they see is their own store's order
    event = stream.event("order.created")
    assert event["data"]["number"] == theirs["number"] and event["data"]["store"] == other_store.slug


def test_a_shopper_sees_their_order_status_and_payment_change(
        server, streams, store, user, client_for, make_variant, cart_with):
    # given a signed-in customer's stream
    shopper = client_for(user)
    url = shopper.post("/api/v1/stream/ticket", {}, format="json").json()["data"]["url"]
    stream = streams(server, url[url.index("?"):])
    # when they check out, and the store marks the payment received, then completes the order
    order = checkout(shopper, store, cart_with((make_variant(), 1), user=user))
    created = stream.event("order.created")
    owner = client_for(store.owner)
    payment = owner.get(f"/api/v1/stores/{store.slug}/payments").json()["data"][0]
    assert owner.post(f"/api/v1/stores/{store.slug}/payments/{payment['id']}/mark-paid", {},
                      format="json").status_code == 200
    paid = stream.event("order.paid")
    assert owner.post(f"/api/v1/stores/{store.slug}/orders/{order['number']}/status", {"status": "completed"},
                      format="json").status_code == 200
    completed = stream.event("order.status_changed")
    # then they saw each change of their order, its status and payment only (not the buyer's details)
    assert (created["data"]["number"], created["data"]["status"]) == (order["number"], "processing")
    assert "email" not in created["data"] and "lines" not in created["data"]
    assert (paid["data"]["payment_status"], completed["data"]["status"]) == ("paid", "completed")
    assert completed["data"]["previous_status"] == "processing"


def test_a_guests_cart_token_follows_the_order_placed_from_it(
        server, streams, api, store, client_for, make_variant, cart_with):
    cart = cart_with((make_variant(), 1))
    stream = streams(server, f"?cart={cart.pk}")
    assert stream.status == 200
    someone_else = checkout(api, store, cart_with((make_variant(), 1)))
    order = checkout(api, store, cart)
    created = stream.event("order.created")
    assert created["data"]["number"] == order["number"] != someone_else["number"]
    # the checkout deleted the cart: its token still opens the stream of its order (EventSource reconnecting)
    stream.close()
    again = streams(server, f"?cart={cart.pk}")
    assert again.status == 200
    assert client_for(store.owner).post(f"/api/v1/stores/{store.slug}/orders/{order['number']}/cancel", {},
                                        format="json").status_code == 200
    assert again.event("order.cancelled")["data"]["status"] == "cancelled"


def test_a_stream_resumes_after_its_last_event_id(server, streams, api, store, make_variant, cart_with, settings):
    stream = streams(server, headers=bearer(store.owner))
    first = checkout(api, store, cart_with((make_variant(), 1)))
    seen = stream.event("order.created")
    assert seen["data"]["number"] == first["number"]
    stream.close()
    # while the member is away, another order
    missed = checkout(api, store, cart_with((make_variant(), 1)))
    deadline = time.monotonic() + 5
    if not settings.REDIS_URL:
        while LiveEvent.objects.count() < 4 and time.monotonic() < deadline:  # two events, two notifications
            time.sleep(0.05)
    # reconnecting with Last-Event-ID replays it; an id no longer kept says resync
    again = streams(server, headers={**bearer(store.owner), "Last-Event-ID": seen["id"]})
    replayed = again.event("order.created")
    assert replayed["data"]["number"] == missed["number"] and replayed["id"] != seen["id"]
    stale = "1" if not settings.REDIS_URL else "1-0"
    if not settings.REDIS_URL:
        LiveEvent.objects.filter(pk__lte=int(seen["id"])).delete()  # as the pruning after the window does
    else:
        from live.channel import channel

        channel().client.xtrim(settings.LIVE_REDIS_KEY, minid=replayed["id"])
    resync = streams(server, headers={**bearer(store.owner), "Last-Event-ID": stale if settings.REDIS_URL
                                      else seen["id"]})
    assert resync.event("resync")["data"]["reason"]


def test_heartbeats_keep_a_quiet_stream_open(server, streams, store, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 1
    stream = streams(server, headers=bearer(store.owner))
    stream.next()  # retry and connected
    started = time.monotonic()
    beat = stream.next()
    assert beat["comment"] == ["heartbeat"] and "id" in beat and "event" not in beat
    assert 0.5 < time.monotonic() - started < 5


def test_a_removed_member_stops_receiving(server, streams, api, store, member_factory, make_variant, cart_with,
                                          settings):
    settings.LIVE_RECHECK_SECONDS = 1
    staff = member_factory(store, "staff")
    stream = streams(server, headers=bearer(staff))
    stream.next()
    Membership.objects.filter(user=staff, store=store).delete()
    time.sleep(1.5)  # past a recheck
    checkout(api, store, cart_with((make_variant(), 1)))
    # nothing of the store's after the recheck (the stream still runs: they may be a customer too)
    with pytest.raises(TimeoutError):
        stream.connection.sock.settimeout(2)
        stream.event("never")


def test_a_deactivated_user_is_disconnected(server, streams, store, member_factory, settings):
    settings.LIVE_RECHECK_SECONDS = 1
    staff = member_factory(store, "staff")
    stream = streams(server, headers=bearer(staff))
    stream.next()
    type(staff).objects.filter(pk=staff.pk).update(is_active=False)
    assert stream.event("closed")["data"]["reason"]
    with pytest.raises(EOFError):
        stream.next()


def test_refusals_answer_the_error_envelope(server, streams, api, store, cart_with, make_variant, client_for):
    assert streams(server).status == 401
    refused = streams(server, "?ticket=forged")
    assert (refused.status, refused.json()["error"]["code"]) == (401, "INVALID_TOKEN")
    assert streams(server, headers={"Authorization": "Bearer nope"}).status == 401
    assert streams(server, f"?cart={uuid.uuid4()}").status == 404
    # a user's cart is theirs: its id is no guest's token, before or after its checkout
    users_cart = cart_with((make_variant(), 1), user=store.owner)
    assert streams(server, f"?cart={users_cart.pk}").status == 404
    checkout(client_for(store.owner), store, users_cart)
    assert streams(server, f"?cart={users_cart.pk}").status == 404
    # a guest asks for an order's ticket with its number and email, as GET orders/{number}?email= does
    assert api.post("/api/v1/stream/ticket", {}, format="json").status_code == 401
    assert api.post("/api/v1/stream/ticket", {"store": store.slug, "order": "nope", "email": "a@b.co"},
                    format="json").status_code == 404


def test_the_wsgi_server_points_at_the_asgi_one(client, settings):
    answer = client.get("/api/v1/stream?cart=x")
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "SERVICE_UNAVAILABLE")
    settings.LIVE_STREAM_URL = "http://127.0.0.1:8001/api/v1/stream"
    answer = client.get("/api/v1/stream?cart=x")
    assert (answer.status_code, answer["Location"]) == (307, "http://127.0.0.1:8001/api/v1/stream?cart=x")


def test_a_member_sees_low_stock_and_its_notification(server, streams, store, member_factory, client_for,
                                                      make_variant):
    # given a staff member's stream (staff are notified of low stock in-app by default)
    staff = member_factory(store, "staff")
    stream = streams(server, headers=bearer(staff))
    variant = make_variant(stock=10)
    # when the owner takes stock down to the store's threshold (5) through the API
    answer = client_for(store.owner).post(f"/api/v1/stores/{store.slug}/inventory/adjustments",
                                          {"variant": variant.pk, "delta": -6, "reason": "adjustment"},
                                          format="json")
    assert answer.status_code in (200, 201), answer.json()
    # then the store's event and the staff member's notification arrive
    event = stream.event("inventory.low_stock")
    assert (event["data"]["sku"], event["data"]["available"]) == (variant.sku, 4)
    assert stream.event("notification", skip=())["data"]["event_type"] == "inventory.low_stock"


def test_a_client_that_leaves_frees_its_stream(server, streams, store, cart_with):
    from live import views

    opened = [streams(server, headers=bearer(store.owner)), streams(server, f"?cart={cart_with().pk}")]
    for stream in opened:
        stream.next()
    assert views._open_streams == 2
    for stream in opened:
        stream.close()
    deadline = time.monotonic() + 5
    while views._open_streams and time.monotonic() < deadline:
        time.sleep(0.05)
    assert views._open_streams == 0  # the server saw the disconnects: the streams ended, their queues are gone


def test_a_storefront_on_another_allowed_origin_may_open_and_resume_it(server, streams, client, store, cart_with):
    origin = "http://localhost:3000"  # in CORS_ALLOWED_ORIGINS by default
    preflight = client.options("/api/v1/stream", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="last-event-id")
    assert preflight["Access-Control-Allow-Origin"] == origin
    assert "last-event-id" in preflight["Access-Control-Allow-Headers"]
    stream = streams(server, f"?cart={cart_with().pk}", headers={"Origin": origin, "Last-Event-ID": "0"})
    assert stream.status == 200 and stream.response.getheader("Access-Control-Allow-Origin") == origin


def test_the_admins_ticket_opens_a_stream_that_shows_its_orders(server, streams, api, store, make_variant,
                                                                  cart_with):
    # given the owner signed in to the admin, whose page's script asks for a ticket (live/static/live/admin-live.js)
    admin = Client()
    admin.force_login(store.owner)
    assert streams(server, "?probe=1").json() == {"served": True}  # the probe, answered by the ASGI server
    url = admin.post("/admin/live/ticket/").json()["url"]
    stream = streams(server, url[url.index("?"):])
    assert stream.status == 200
    # when an order is placed, then the admin's stream shows it
    order = checkout(api, store, cart_with((make_variant(), 1)))
    event = stream.event("order.created")
    assert (event["data"]["number"], event["data"]["id"]) == (order["number"], order["id"])
