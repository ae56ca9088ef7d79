"""config.celery.task_publish writes the message apply_async would, onto the same queue (on Redis), and is
apply_async itself in eager mode. A real worker running what it sends: tests/integration/test_webhook_worker.py
(the event's fan-out reaches the owner in-app)."""

import base64
import json
import uuid

import pytest
import redis
from django.conf import settings

from config.celery import app, task_publish
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
