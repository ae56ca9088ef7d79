import base64
import json
import os
from functools import cache

import redis
from celery import Celery
from kombu.serialization import dumps
from kombu.utils.uuid import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["config.api"])


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
    return redis.Redis.from_url(url)  # its pool reconnects after a fork or a dropped connection
