"""Real server processes for the integration tests: a seeded SQLite shop, gunicorn started on a free port, the stop
that always follows, and waiting for what they do."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
START_SECONDS = 60


def sqlite_shop_file(folder: Path) -> tuple[dict, dict]:
    """A migrated SQLite file in ``folder`` seeded by tests.integration.sqlite_shop, as the embedded default runs it
    (no Redis, eager Celery). Returns the servers' environment and the seeded ids."""
    environment = {
        **os.environ, "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "REDIS_URL": "", "CELERY_EAGER": "1",
        "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings", "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment,
                   check=True, capture_output=True)
    seeded = subprocess.run([sys.executable, "-m", "tests.integration.sqlite_shop"], cwd=ROOT, env=environment,
                            check=True, capture_output=True, text=True)
    return environment, json.loads(seeded.stdout.strip().splitlines()[-1])


def gunicorn_start(environment: dict, log: Path, *arguments: str) -> tuple[subprocess.Popen, str]:
    """``gunicorn *arguments`` on a free local port, its log in ``log``; returns once it answers /api/health (a
    worker imports the app on its first request) with the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *arguments, "--bind", "127.0.0.1:0", "--access-logfile", "/dev/null"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            try:
                requests.get(f"{found.group(1)}/api/health", timeout=START_SECONDS)
                return process, found.group(1)
            except requests.RequestException:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-3000:])


def processes_stop(processes: list[subprocess.Popen]) -> None:
    """Ask every process to stop, then wait for each (killed after 15 s)."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_for(predicate, *, timeout: float, interval: float = 0.1):
    """``predicate()`` once it is truthy, or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
