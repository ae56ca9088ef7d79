"""/metrics with several gunicorn workers: with PROMETHEUS_MULTIPROC_DIR every scrape, whichever worker answers it,
adds up what all the workers counted (config/gunicorn.py, config/metrics.py)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration]

ROOT = Path(settings.BASE_DIR)
TOKEN = "multiprocess-scrape-token"
REQUESTS = 40


def _requests_counted(text: str, route: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "http_requests_total" and sample.labels.get("route") == route)


@pytest.fixture
def gunicorn_two_workers(tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999999.db").write_bytes(b"")  # left by a process long gone: the master drops it
    log = tmp_path / "gunicorn.log"
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "",
                   "DJANGO_SETTINGS_MODULE": "tests.integration.sqlite_settings", "PROMETHEUS_MULTIPROC_DIR":
                   str(folder), "METRICS_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py", "--bind",
         "127.0.0.1:0", "--workers", "2", "--access-logfile", "/dev/null", "--graceful-timeout", "5"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline and url is None:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text())
            url = found.group(1) if found else None
            if process.poll() is not None:
                break
            time.sleep(0.1)
        if url is None:
            raise RuntimeError("gunicorn did not start:\n" + log.read_text()[-3000:])
        yield url, folder
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_every_scrape_adds_up_all_the_workers(gunicorn_two_workers):
    url, folder = gunicorn_two_workers
    # when: requests spread over both workers (a new connection each)
    for _ in range(REQUESTS):
        assert requests.get(f"{url}/api/version", timeout=30).status_code == 200
    # then: both workers wrote their counts, and each scrape (answered by either) has all of them
    pids = {found.group(1) for path in folder.glob("counter_*.db")
            if (found := re.search(r"_(\d+)\.db$", path.name))}
    assert "999999999" not in pids
    assert len(pids) >= 2, f"one worker answered everything: {pids}"
    for _ in range(6):
        scraped = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert scraped.status_code == 200
        assert _requests_counted(scraped.text, "^api/version/?$") == REQUESTS
    assert requests.get(f"{url}/metrics", timeout=30).status_code == 403
