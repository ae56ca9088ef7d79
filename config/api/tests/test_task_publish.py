"""config.celery.task_publish writes the message apply_async would, onto the same queue (on Redis), and is
apply_async itself in eager mode; task_publish_on_commit sends after COMMIT and never fails the caller's committed
work when the broker cannot take the message. A real worker running what it sends:
tests/integration/test_webhook_worker.py (the event's fan-out reaches the owner in-app)."""

import base64
import json
import socket
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from config import metrics
from config.celery import BROKER_TIMEOUT_SECONDS, app, task_publish, task_publish_on_commit
from config.emails import email_send_task
from notifications.tasks import event_fanout_task

ARGS = ("order.created", 7, {"number": "ABCDE-23456", "lines": [{"sku": "S-1", "quantity": 2}]}, "evt-1", None)


@pytest.fixture
def redis_queue(monkeypatch):
    """Tasks go to a queue of this test's own on the Redis broker, not eagerly."""
    if not str(settings.CELERY_BROKER_URL).startswith("redis://"):
        pytest.skip("needs REDIS_URL (a Redis broker)")
    queue = f"test-publish-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(event_fanout_task, "queue", queue, raising=False)
    monkeypatch.setattr(event_fanout_task, "_exec_options", None, raising=False)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        yield client, queue
    finally:
        app.conf.task_always_eager = eager
        client.delete(queue)


def _comparable(raw: bytes, task_id: str) -> dict:
    message = json.loads(raw)
    properties = message["properties"]
    assert properties.pop("delivery_tag")  # each message its own
    assert properties["correlation_id"] == message["headers"]["id"] == message["headers"]["root_id"] == task_id
    properties.pop("argsrepr", None)  # apply_async also copies it into the properties, where nothing reads it
    # Once a test has switched Sentry on in this process, its Celery integration adds its trace headers to every
    # apply_async for good; task_publish sends none (a fan-out is not traced across to the worker)
    headers = message["headers"]
    for key in [k for k in headers if k.startswith("sentry-") or k in ("baggage", "headers")]:
        headers.pop(key)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return json.loads(json.dumps(message).replace(task_id, "<id>"))


def test_it_writes_what_apply_async_writes_onto_the_tasks_queue(redis_queue):
    client, queue = redis_queue
    # when: the same task sent both ways
    sent = event_fanout_task.apply_async(ARGS, argsrepr="<args>").id
    published = task_publish(event_fanout_task, ARGS, argsrepr="<args>")
    # then: two messages on the task's queue, the same but for their ids
    assert published != sent
    newest, oldest = client.lrange(queue, 0, -1)
    assert _comparable(newest, published) == _comparable(oldest, sent)
    message = json.loads(newest)
    assert message["headers"]["task"] == "notifications.tasks.event_fanout_task"
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": queue}


def test_in_eager_mode_it_runs_the_task_as_apply_async_does(monkeypatch):
    ran = []
    monkeypatch.setattr(event_fanout_task, "run", lambda *args: ran.append(args))
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        task_publish(event_fanout_task, ARGS)
    finally:
        app.conf.task_always_eager = eager
    assert ran == [ARGS]


# --- task_publish_on_commit: a broker failure after COMMIT is logged and counted, never the caller's error ----------
def _unsent(task_name: str) -> float:
    return metrics.TASKS_UNSENT.labels(task=task_name)._value.get()


@pytest.fixture
def not_eager():
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


@pytest.mark.django_db
def test_on_commit_a_broker_refusing_the_message_is_logged_and_counted(
        not_eager, monkeypatch, caplog, django_capture_on_commit_callbacks):
    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(email_send_task, "delay", refused)
    before = _unsent(email_send_task.name)
    # when: a service enqueues in its transaction, which commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        task_publish_on_commit(email_send_task, "order_confirmation", ["buyer@example.com"], {"name": "Buyer"})
    # then: nothing raised; one error line naming the task and the failure, not the arguments (personal data)
    assert len(callbacks) == 1
    assert _unsent(email_send_task.name) == before + 1
    [record] = [r for r in caplog.records if r.name == "config.celery"]
    assert record.levelname == "ERROR" and email_send_task.name in record.getMessage()
    assert "Connection refused" in record.getMessage() and "buyer@example.com" not in record.getMessage()


@pytest.mark.django_db
def test_on_commit_nothing_is_sent_after_a_rollback(not_eager, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(email_send_task, "delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            task_publish_on_commit(email_send_task, "x", ["a@example.com"], {})
            raise RuntimeError("rolled back")
    assert callbacks == [] and sent == []


@pytest.mark.django_db
def test_on_commit_an_unreachable_redis_broker_fails_the_lean_publish_at_once(
        not_eager, monkeypatch, django_capture_on_commit_callbacks):
    # given: a Redis broker address nothing listens on (the lean publisher's own client)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")
    before = _unsent(event_fanout_task.name)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        task_publish_on_commit(event_fanout_task, *ARGS, lean=True)
    # then: counted, and the caller waited no longer than the broker timeout
    assert _unsent(event_fanout_task.name) == before + 1
    assert time.monotonic() - started < BROKER_TIMEOUT_SECONDS


@pytest.mark.django_db
def test_on_commit_eagerly_the_tasks_errors_are_the_callers(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(event_fanout_task, "run", lambda *args: 1 / 0)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                task_publish_on_commit(event_fanout_task, *ARGS, lean=True)
    finally:
        app.conf.task_always_eager = eager
