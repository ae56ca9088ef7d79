"""A real Celery worker (a subprocess on a queue of its own) against the test database and Redis."""

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from notifications.tests.receiver import start_receiver

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
WORKER_READY_SECONDS = 45
INTEGRATION_TASKS = (
    "notifications.tasks.webhook_delivery_send_task",
    "notifications.tasks.event_fanout_task",
    "notifications.tasks.email_send_task",
    "payments.tasks.webhook_event_process_task",
    "billing.tasks.billing_event_process_task",
)


def _redis_reachable(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis at REDIS_URL is unreachable: {exc}"
    return None


def _database_url() -> str:
    db = connection.settings_dict  # NAME is the test database here (test_<name>)
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def celery_worker(transactional_db, monkeypatch):
    """Starts ``celery worker --pool=solo`` on a unique queue; this process sends there, not eagerly."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a Redis broker) for a real Celery worker")
    problem = _redis_reachable(settings.REDIS_URL)
    if problem:
        pytest.skip(problem)
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker process must see the test database")

    import billing.tasks  # noqa: F401 - registers the tasks in this process
    import notifications.tasks  # noqa: F401
    import payments.tasks  # noqa: F401
    from config.celery import app

    eager = app.conf.task_always_eager
    queue = f"integration-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "CELERY_EAGER": "0",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # what the worker enqueues itself (an event's fan-out, its emails) stays on its queue, for it to run
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1",  # the receiver listens on 127.0.0.1
        "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "WEBHOOK_RESUME_AFTER_SECONDS": "3600",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [str(CELERY), "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=INFO",
         "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(WORKER_READY_SECONDS):
            raise RuntimeError("the Celery worker did not start:\n" + "".join(output[-50:]))
        # This process sends to the broker, onto the worker's queue, instead of running tasks inline.
        app.conf.task_always_eager = False
        monkeypatch.setattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS", True)
        for name in INTEGRATION_TASKS:
            task = app.tasks[name]
            monkeypatch.setattr(task, "queue", queue, raising=False)
            monkeypatch.setattr(task, "_exec_options", None, raising=False)
        yield output
    finally:
        app.conf.task_always_eager = eager
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.returncode not in (0, -15) and "PYTEST_SHOW_WORKER" in os.environ:
            sys.stderr.write("".join(output))



@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own on a free port (tests/integration/faults.py), stopped at the end."""
    from tests.integration.faults import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def servers(tmp_path):
    """Starts gunicorn server processes (``servers.start(environment)`` → URL); every one stopped at the end."""
    from tests.integration.faults import Servers

    started = Servers(tmp_path)
    try:
        yield started
    finally:
        started.stop()
