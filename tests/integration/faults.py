"""Fault plumbing for the fault tests (tests/integration/test_fault_*.py): each test starts what it breaks and stops
it itself, and breaks nothing it did not start.

- ``RedisServer``: a ``redis-server`` of the test's own on a free loopback port (no persistence), stopped, frozen
  (SIGSTOP) and started again on the same port; the shared Redis of REDIS_URL is never touched.
- ``Worker``: a real ``celery worker`` subprocess (solo pool) on a queue of the test's own, killed with SIGKILL and
  started again.
- ``serve``: a gunicorn server process (one worker, a few threads) with the environment given.
- ``pg_*``: the test database's backends of one application (``PGAPPNAME``, set in the environment of the
  processes the test starts), and their termination: other connections (the test's own, other sessions') are never
  terminated.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.integration.conftest import _database_url
from tests.integration.servers import gunicorn_start, processes_stop, wait_for  # noqa: F401 - the fault tests use it from here

ROOT = Path(settings.BASE_DIR)
CELERY = ROOT / ".venv" / "bin" / "celery"
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the processes the test starts must see the test database")


def app_name() -> str:
    """A name for the test's processes' PostgreSQL connections (PGAPPNAME), to find and terminate theirs only."""
    return f"fault-{uuid.uuid4().hex[:10]}"


def database_url() -> str:
    return _database_url()


# --- Redis --------------------------------------------------------------------------------------------------------
class RedisServer:
    """A redis-server of the test's own: ``start()``, ``stop()`` (SIGTERM: gone, connections refused), ``freeze()`` /
    ``thaw()`` (SIGSTOP / SIGCONT: connections accepted by the kernel, nothing answered)."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("needs redis-server on PATH (a Redis of the test's own to stop)")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = (self.folder / f"redis-{self.port}.log").open("a")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=1)
        if not wait_for(lambda: self._pings(client), timeout=START_SECONDS):
            raise RuntimeError(f"redis-server did not start on {self.port}")

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one cannot stop
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


# --- gunicorn -----------------------------------------------------------------------------------------------------
class Servers:
    """Server processes started by a test; every one stopped at the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: list[subprocess.Popen] = []

    def start(self, environment: dict) -> str:
        process, url = gunicorn_start(
            environment, self.folder / f"server{len(self.processes)}.log", "config.wsgi:application", "--workers", "1",
            "--worker-class", "gthread", "--threads", "4", "--log-level", "info", "--graceful-timeout", "5")
        self.processes.append(process)
        return url

    def log(self, index: int = 0) -> str:
        return (self.folder / f"server{index}.log").read_text()

    def stop(self) -> None:
        processes_stop(self.processes)


# --- Celery -------------------------------------------------------------------------------------------------------
class Worker:
    """``celery worker`` (``pool``: solo, or prefork with one child) on ``queue`` with ``environment``; ``start()``
    again after ``kill()``."""

    def __init__(self, environment: dict, queue: str, *, pool: str = "solo"):
        self.environment, self.queue, self.pool = environment, queue, pool
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(CELERY), "-A", "config", "worker", f"--pool={self.pool}", "--concurrency=1", "-Q", self.queue,
             "--loglevel=INFO",
             "-n", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        process, output = self.process, self.output

        def read() -> None:
            for line in process.stdout:
                output.append(line)
                if " ready." in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(45):
            raise RuntimeError("the Celery worker did not start:\n" + "".join(self.output[-50:]))

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, nothing acknowledged or given back; the broker keeps the message unacked."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])


def children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (a prefork worker's pool)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


# --- PostgreSQL ---------------------------------------------------------------------------------------------------
def pg_connect() -> psycopg.Connection:
    """A connection of the test's own to the test database, autocommit, outside Django's."""
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True,
                           application_name=f"fault-test-{os.getpid()}")


def pg_backends(admin: psycopg.Connection, name: str, *, waiting_on_lock: bool = False,
                busy: bool = False) -> list[int]:
    """Pids of the test database's backends whose application_name is ``name``; only those waiting for a row or
    table lock (``waiting_on_lock``), or only those in the middle of something (``busy``: running a statement or
    inside a transaction)."""
    sql = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
           " AND pid <> pg_backend_pid()")
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    if busy:
        sql += " AND state IN ('active', 'idle in transaction')"
    return [row[0] for row in admin.execute(sql, [name]).fetchall()]


def pg_terminate(admin: psycopg.Connection, pids: list[int]) -> int:
    """Terminates those backends (their transactions roll back); how many were still there."""
    return sum(1 for pid in pids if admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0])


# --- an HTTP receiver that holds its first request ----------------------------------------------------------------
class HoldingReceiver:
    """Records every POST; holds the first one until ``release()`` (then answers it, if its sender is still
    there), answers the others 200 at once."""

    def __init__(self):
        self.requests: list[dict] = []
        self.arrived, self.released = threading.Event(), threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                if len(receiver.requests) == 1:
                    receiver.arrived.set()
                    receiver.released.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone (killed)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
