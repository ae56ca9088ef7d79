"""Two server processes writing to one SQLite file at once never get "database is locked"."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

WRITER = """
import django, os, sys, time
django.setup()
from django.db import transaction
from config.api.models import IdempotencyKey
worker = sys.argv[1]
while time.time() < float(sys.argv[3]):   # both processes start writing at the same instant
    time.sleep(0.001)
for i in range(int(sys.argv[2])):
    with transaction.atomic():   # read-then-write inside one transaction: the classic lock upgrade
        IdempotencyKey.objects.filter(owner=worker).count()
        IdempotencyKey.objects.create(key=f"{worker}-{i}", owner=worker, method="POST", path="/p", request_hash="h")
"""


@pytest.mark.skipif("sqlite" not in settings.DATABASES["default"]["ENGINE"], reason="SQLite-specific")
def test_concurrent_writer_processes_do_not_lock(tmp_path: Path):
    # given a migrated SQLite file, configured exactly as the server configures it
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                   "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    root = Path(settings.BASE_DIR)
    subprocess.run([sys.executable, "manage.py", "migrate", "api", "--noinput"], cwd=root, env=environment,
                   check=True, capture_output=True)
    # when two processes write 400 rows each at the same time
    start_at = str(time.time() + 3)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, name, "400", start_at], cwd=root, env=environment,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    results = [writer.communicate(timeout=120) for writer in writers]
    # then both finish cleanly and every row is there
    for writer, (_, stderr) in zip(writers, results, strict=True):
        assert writer.returncode == 0, stderr
        assert "database is locked" not in stderr
    count = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from config.api.models import IdempotencyKey as K; "
                               "print(K.objects.count())"],
        cwd=root, env=environment, check=True, capture_output=True, text=True,
    ).stdout.strip()
    assert count == "800"
