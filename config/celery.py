import base64
import json
import logging
import os
from functools import cache, partial

import redis
from celery import Celery
from django.db import transaction
from kombu.serialization import dumps
from kombu.utils.uuid import uuid
from redis.backoff import NoBackoff
from redis.retry import Retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config.api"])

logger = logging.getLogger(__name__)

# A publish waits at most this long for the broker (connect, then each write): a broker that stopped answering must
# not hold the request that published (the broker's own client takes its timeouts from settings, the same figure).
BROKER_TIMEOUT_SECONDS = 2


def task_publish_on_commit(task, *args, task_id: str | None = None, argsrepr: str | None = None,
                           lean: bool = False) -> None:
    """Enqueues ``task(*args)`` once the current transaction commits (at once outside one; never after a rollback):
    the one way services start a task from their work (docs/ARCHITECTURE.md "Tasks after COMMIT").

    The work is committed by then, so a broker that cannot take the message must not turn it into an error: the
    failure is logged (the task's name and the error, never its arguments, which may name a customer) and counted in
    ``store_tasks_unsent_total{task}``, and the caller's answer stands. What the task would have done is resumed by
    the periodic jobs where one exists (gateway notifications, outgoing webhook deliveries; README "Redis"). Eager
    (no broker, the tests) the task runs inline and its errors are the caller's, as with ``delay()``.

    ``task_id`` names the message (the worker's log says what it was for); ``lean`` sends through ``task_publish``
    (hot paths); else ``task.delay(*args)``, or ``apply_async`` when an id or argsrepr is given."""
    transaction.on_commit(partial(_publish_committed, task, args, task_id, argsrepr, lean))


def _publish_committed(task, args: tuple, task_id: str | None, argsrepr: str | None, lean: bool) -> None:
    if app.conf.task_always_eager:
        _publish(task, args, task_id, argsrepr, lean)
        return
    try:
        _publish(task, args, task_id, argsrepr, lean)
    except Exception as exc:  # the broker is down or stopped answering: the committed work stands
        from config import metrics  # not at import: settings load this module

        logger.error("task %s not sent, the broker failed: %s: %s", task.name, type(exc).__name__, exc)
        metrics.count(metrics.TASKS_UNSENT, task=task.name)


def _publish(task, args: tuple, task_id: str | None, argsrepr: str | None, lean: bool) -> None:
    if lean:
        task_publish(task, args, argsrepr=argsrepr)
    elif task_id is not None or argsrepr is not None:
        task.apply_async(args, task_id=task_id, argsrepr=argsrepr)
    else:
        task.delay(*args)


def task_publish(task, args: tuple, *, argsrepr: str | None = None) -> str:
    """Enqueues ``task(*args)`` as ``task.apply_async(args, argsrepr=argsrepr)`` does and answers the task's id; for
    hot paths (checkout's ``order.created`` fan-out, after COMMIT).

    On the Redis broker it writes the message apply_async would (Celery's own ``create_task_message`` in kombu's
    Redis envelope) by one LPUSH onto the task's queue, through one Redis client kept per process: apply_async's
    routing, signals, retry wrapper, declarations and a new Redis client per message cost 0.8 ms of CPU per publish
    on the 2-core machine, this 0.3 ms (docs/PERFORMANCE.md "Checkout"). Anything else goes through apply_async:
    eager mode (tests), another broker, task routes, a key prefix, another serializer, compression, publishing
    options on the task besides its queue and time limits. config/tests/test_celery.py checks both write the same.
    """
    conf, options = app.conf, task._get_exec_options()
    queue = options["queue"] or conf.task_default_queue
    lean = (not conf.task_always_eager and str(conf.broker_url or "").startswith("redis://") and not conf.task_routes
            and conf.task_protocol == 2 and options["serializer"] == "json" and not conf.task_compression
            and not (conf.broker_transport_options or {}).get("global_keyprefix")
            and all(value is None for name, value in options.items()
                    if name not in ("queue", "time_limit", "soft_time_limit", "serializer")))
    if not lean:
        return task.apply_async(args, argsrepr=argsrepr).id
    task_id = uuid()
    headers, properties, body, _ = app.amqp.create_task_message(
        task_id, task.name, args, {}, reply_to=app.thread_oid, ignore_result=task.ignore_result,
        time_limit=options["time_limit"], soft_time_limit=options["soft_time_limit"], argsrepr=argsrepr)
    content_type, encoding, data = dumps(body, serializer="json")
    message = {
        "body": base64.b64encode(data.encode()).decode(), "content-encoding": encoding, "content-type": content_type,
        "headers": headers,
        "properties": {**properties, "delivery_mode": 2, "priority": 0, "body_encoding": "base64",
                       "delivery_info": {"exchange": "", "routing_key": queue}, "delivery_tag": uuid()},
    }
    _redis_client(conf.broker_url).lpush(queue, json.dumps(message))
    return task_id


@cache
def _redis_client(url: str) -> redis.Redis:
    # its pool reconnects after a fork or a dropped connection; a broker that stopped answering fails the publish
    # within the timeout, and the next ones at once for a few seconds (BreakerRedis), never hangs it; a refused or
    # reset connection is tried once more (a stale pooled connection after a Redis restart)
    from config.cache import BreakerRedis  # not at import: settings load this module

    return BreakerRedis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
                                 socket_timeout=BROKER_TIMEOUT_SECONDS,
                                 retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
