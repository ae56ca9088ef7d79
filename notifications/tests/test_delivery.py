import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications import events
from notifications.models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.services import emit, retry_delay, webhook_deliveries_resume, webhook_delivery_attempt
from notifications.webhooks import (
    PinnedHostAdapter,
    UnsafeDestination,
    destination_resolve,
    webhook_sign,
)

pytestmark = pytest.mark.django_db

ORDER = {"id": 9, "number": "A-1009", "status": "processing", "payment_status": "paid", "total": "42.00",
         "currency": "USD", "email": "buyer@example.com"}


def endpoint_for(store, url, event_types=("order.paid",)):
    return WebhookEndpoint.objects.create(store=store, url=url, events=list(event_types))


def emitted(store, django_capture_on_commit_callbacks, event=events.ORDER_PAID, payload=ORDER):
    with django_capture_on_commit_callbacks(execute=True):
        emit(event, store, payload)


def test_delivery_is_signed_per_standard_webhooks(store, receiver, allow_private, django_capture_on_commit_callbacks):
    # given
    endpoint = endpoint_for(store, receiver.url)
    # when
    emitted(store, django_capture_on_commit_callbacks)
    # then
    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    verified = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert verified["type"] == "order.paid" and verified["data"]["number"] == "A-1009"
    assert set(json.loads(received.body)) == {"type", "timestamp", "data"}
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["content-type"] == "application/json"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.next_attempt_at is None
    attempt = delivery.attempt_log.get()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_excerpt == "ok"


def test_signature_matches_the_spec_example():
    # The example of the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert webhook_sign(secret=secret, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_unsubscribed_and_inactive_endpoints_get_nothing(store, receiver, allow_private,
                                                         django_capture_on_commit_callbacks):
    endpoint_for(store, receiver.url, ["order.created"])
    inactive = endpoint_for(store, receiver.url)
    WebhookEndpoint.objects.filter(pk=inactive.pk).update(is_active=False)
    emitted(store, django_capture_on_commit_callbacks)
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


def test_server_error_is_retried_later(store, receiver, allow_private, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(store, receiver.url)
    receiver.answer((503, {}, b"x" * 5000))
    emitted(store, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() and delivery.last_status_code == 503
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 503 and not attempt.succeeded and len(attempt.response_excerpt) == 1024
    # not due yet: a duplicate task does nothing
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 1
    # when due, the next attempt succeeds
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2 and delivery.attempt_log.count() == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # the same id on every retry


@pytest.mark.parametrize("status", [429, 500, 502])
def test_retryable_statuses(status, store, receiver, allow_private, django_capture_on_commit_callbacks):
    receiver.answer(status)
    endpoint = endpoint_for(store, receiver.url)
    emitted(store, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "pending"


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301, 302])
def test_other_4xx_and_redirects_are_final(status, store, receiver, allow_private,
                                           django_capture_on_commit_callbacks):
    receiver.answer((status, {"Location": "http://169.254.169.254/latest"}, b"no"))
    endpoint = endpoint_for(store, receiver.url)
    emitted(store, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert len(receiver.requests) == 1  # a redirect is not followed
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 1


def test_network_error_is_retried(store, allow_private, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(store, "http://127.0.0.1:9/closed")  # nothing listens on the discard port
    emitted(store, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending"
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "ConnectionError" in attempt.error


def test_gives_up_after_max_attempts(store, receiver, allow_private, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.answer(500, 500, 500)
    endpoint = endpoint_for(store, receiver.url)
    emitted(store, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    for _ in range(2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.attempt_log.count() == 3


def test_endpoint_disabled_after_consecutive_failures_and_owner_told(
    store, receiver, allow_private, settings, member_factory, django_capture_on_commit_callbacks
):
    # given
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    member_factory(store, "admin")
    endpoint = endpoint_for(store, receiver.url)
    receiver.answer(400, 200, 400, 400, 400)
    # when: a success in between resets the streak
    for _ in range(5):
        emitted(store, django_capture_on_commit_callbacks)
    # then
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None and endpoint.failure_count == 3
    disabled = Notification.objects.filter(event_type=events.WEBHOOK_ENDPOINT_DISABLED)
    assert list(disabled.values_list("user_id", flat=True)) == [store.owner_id]
    emails = [m for m in mail.outbox if "Webhook endpoint disabled" in m.subject]
    assert [m.to for m in emails] == [[store.owner.email]]
    assert endpoint.url in emails[0].body
    # and nothing more is sent to it
    emitted(store, django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 5


def test_private_destinations_are_refused_without_a_connection(store, receiver, public_dns,
                                                               django_capture_on_commit_callbacks):
    # given: the host resolves to the loopback address where the receiver listens
    public_dns["hooks.example.test"] = ["127.0.0.1"]
    endpoint = endpoint_for(store, f"http://hooks.example.test:{receiver.port}/hooks")
    # when
    emitted(store, django_capture_on_commit_callbacks)
    # then
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed" and "non-public" in delivery.last_error
    assert "non-public" in WebhookAttempt.objects.get(delivery=delivery).error


def test_one_private_answer_among_public_ones_is_refused(settings, public_dns):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    public_dns["mixed.example.test"] = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(UnsafeDestination):
        destination_resolve("https://mixed.example.test/x")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "https://user:pw@example.com/",
                                 "http:///nohost", "gopher://example.com"])
def test_only_plain_http_urls(url, public_dns):
    with pytest.raises(UnsafeDestination):
        destination_resolve(url)


def test_connects_to_the_vetted_address_with_the_original_host(store, receiver, allow_private, public_dns,
                                                               django_capture_on_commit_callbacks):
    # given: a name resolving (once) to the receiver's address
    public_dns["hooks.example.test"] = ["127.0.0.1"]
    endpoint = endpoint_for(store, f"http://hooks.example.test:{receiver.port}/in?x=1")
    # when
    emitted(store, django_capture_on_commit_callbacks)
    # then
    received = receiver.requests[0]
    assert received.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert received.path == "/in?x=1"
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "succeeded"


def test_https_adapter_keeps_sni_and_certificate_host():
    adapter = PinnedHostAdapter("hooks.example.com")
    assert adapter.poolmanager.connection_pool_kw["server_hostname"] == "hooks.example.com"
    assert adapter.poolmanager.connection_pool_kw["assert_hostname"] == "hooks.example.com"


def test_retry_schedule_spans_about_a_day(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 15
    delays = [retry_delay(n) for n in range(1, settings.WEBHOOK_MAX_ATTEMPTS)]
    assert delays[0] < 20 and all(d <= settings.WEBHOOK_RETRY_MAX_SECONDS * 1.25 for d in delays)
    assert 14 * 3600 < sum(delays) < 30 * 3600


def test_resume_re_enqueues_overdue_deliveries(store, receiver, allow_private):
    endpoint = endpoint_for(store, receiver.url)
    overdue = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="order.paid", webhook_id="msg_1",
        payload={"type": "order.paid", "timestamp": "2026-01-01T00:00:00Z", "data": {}},
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="order.paid", webhook_id="msg_2", payload={}, next_attempt_at=timezone.now(),
    )
    assert webhook_deliveries_resume() == 1
    overdue.refresh_from_db()
    assert overdue.status == "succeeded" and len(receiver.requests) == 1


def test_purge_keeps_pending_and_recent_deliveries(store):
    from notifications.services import webhook_deliveries_purge

    endpoint = endpoint_for(store, "https://hooks.example.com")
    old = timezone.now() - timedelta(days=31)
    for status in ("succeeded", "failed", "pending"):
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="m",
                                                  payload={}, status=status)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=old)
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="m", payload={},
                                   status="succeeded")
    assert webhook_deliveries_purge() == 2
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending", "succeeded"]


def test_a_server_dripping_its_body_cannot_hold_the_worker(settings):
    import socket
    import threading
    import time

    from notifications.webhooks import webhook_post

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.1)  # each byte well inside the read timeout
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    response = webhook_post(url=f"http://127.0.0.1:{listener.getsockname()[1]}/", headers={}, body="{}")
    stop.set()
    listener.close()
    assert time.monotonic() - started < 3
    assert response.status_code == 200 and 0 < len(response.excerpt) < 1024


def test_a_redirect_is_logged_as_such(store, receiver, allow_private, django_capture_on_commit_callbacks):
    receiver.answer((307, {"Location": "http://10.0.0.1/"}, b""))
    endpoint = endpoint_for(store, receiver.url)
    emitted(store, django_capture_on_commit_callbacks)
    attempt = WebhookAttempt.objects.get(delivery__endpoint=endpoint)
    assert attempt.status_code == 307 and "redirects are not followed" in attempt.error


@pytest.mark.parametrize("url", ["https://hooks.example.com:0/x", "https://" + "ä" * 70 + ".example.com/"])
def test_a_port_zero_or_an_impossible_host_name_is_refused(url, public_dns):
    with pytest.raises(UnsafeDestination):
        destination_resolve(url)


def test_an_internationalised_host_is_sent_in_punycode(store, receiver, allow_private, public_dns,
                                                        django_capture_on_commit_callbacks):
    # given: a host name a latin-1 Host header cannot carry
    public_dns["xn--r8jz45g.example"] = ["127.0.0.1"]
    endpoint = endpoint_for(store, f"http://例え.example:{receiver.port}/hooks")
    # when
    emitted(store, django_capture_on_commit_callbacks)
    # then: it arrives, with the ASCII form of the name, and is logged as a success
    assert receiver.requests[0].headers["host"] == f"xn--r8jz45g.example:{receiver.port}"
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "succeeded"


def test_an_unexpected_failure_to_send_is_logged_and_retried(store, allow_private, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    # given: the transport breaks in a way no one planned for
    def broken(**kwargs):
        raise UnicodeEncodeError("latin-1", "x", 0, 1, "boom")

    monkeypatch.setattr("notifications.webhooks._post_pinned", broken)
    endpoint = endpoint_for(store, "http://127.0.0.1:9/hooks")
    # when
    emitted(store, django_capture_on_commit_callbacks)
    # then: the attempt is in the log and the delivery waits for its retry, not stuck in flight
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.next_attempt_at > timezone.now()
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "UnicodeEncodeError" in attempt.error


def test_a_delivery_whose_attempts_kept_dying_gives_up(store, receiver, allow_private, settings):
    # given: a delivery claimed more often than it may be tried (workers killed mid-attempt)
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint = endpoint_for(store, receiver.url)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="msg_dead",
                                              payload={"type": "order.paid", "data": {}}, attempts=3,
                                              next_attempt_at=timezone.now() - timedelta(hours=1))
    # when the resume job hands it to a worker again
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    # then it fails for good without another request
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert receiver.requests == []


def _run_delivered(delivery_id: int, *, redelivered: bool, monkeypatch) -> list:
    """Runs the task as a worker does with a message from the broker (not eagerly); answers what it scheduled."""
    from config.celery import app
    from notifications.tasks import webhook_delivery_send_task as task

    scheduled = []
    monkeypatch.setattr(task, "apply_async", lambda args, **options: scheduled.append((args, options)))
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    task.push_request(delivery_info={"routing_key": "celery", "redelivered": redelivered})
    try:
        task.run(delivery_id)
    finally:
        task.pop_request()
        app.conf.task_always_eager = eager
    return scheduled


def test_a_task_handed_back_while_a_dead_attempt_leases_the_delivery_tries_once_more_after_it(
        store, receiver, allow_private, settings, monkeypatch):
    # given: a delivery claimed by an attempt whose worker was killed (its lease runs 30 s more)
    settings.WEBHOOK_ATTEMPT_LEASE_SECONDS = 60
    endpoint = endpoint_for(store, receiver.url)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="order.paid", webhook_id="msg_lease",
                                              payload={"type": "order.paid", "data": {}}, attempts=1,
                                              next_attempt_at=timezone.now() + timedelta(seconds=30))
    # when: the broker hands its message back (acks are late)
    scheduled = _run_delivered(delivery.pk, redelivered=True, monkeypatch=monkeypatch)
    # then: nothing sent now; one more try when the lease ends, on the same queue
    assert receiver.requests == []
    [(args, options)] = scheduled
    assert args == (delivery.pk,) and options["queue"] == "celery" and 28 < options["countdown"] <= 30
    # and a copy that was not handed back (a duplicate) schedules nothing
    assert _run_delivered(delivery.pk, redelivered=False, monkeypatch=monkeypatch) == []
    # and once the delivery succeeded, a handed-back copy schedules nothing either
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.SUCCEEDED, next_attempt_at=None)
    assert _run_delivered(delivery.pk, redelivered=True, monkeypatch=monkeypatch) == []
