"""A real localstripe (PyPI) for the Stripe gateway's tests: the official SDK talks to it over HTTP, nothing mocked.

``localstripe`` (session fixture) starts one in a subprocess on 127.0.0.1 on a free port, with its state in a
pickle file of its own (localstripe writes /tmp/localstripe.pickle otherwise, shared by every run on the machine),
and stops it at the end of the session. ``stripe_api`` (per test) points ``settings.STRIPE_API_BASE`` at it.

Run as a program (``python -m tests.gateways localstripe PORT_FILE STATE_FILE``) it is that server: it listens on a
loopback port the system picks and writes the port to PORT_FILE once it accepts connections.
"""

import logging
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 20


@dataclass
class LocalStripe:
    url: str
    log_path: Path

    def request(self, method: str, path: str, form: dict | None = None) -> int:
        """A call to localstripe's own /_config API (no key needed)."""
        data = urllib.parse.urlencode(form or {}, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status

    def webhook_send_to(self, url: str, secret: str, events: list[str] | None = None, id: str = "tests") -> None:
        """Makes localstripe send its events (signed with ``secret``) to ``url`` under the registration ``id``.
        Tests share one registration, so a later test never receives an earlier one's events."""
        form = {"url": url, "secret": secret}
        if events:
            form["events"] = events
        self.request("POST", f"/_config/webhooks/{id}", _flatten_list(form))

    def webhook_stop(self) -> None:
        """Makes localstripe send nothing (it has no way to remove a registration: this one matches no event)."""
        self.webhook_send_to("http://127.0.0.1:9/", "whsec_unused", events=["none.none"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _flatten_list(form: dict) -> dict:
    """localstripe reads lists as ``name[0]=…&name[1]=…``."""
    flat = {}
    for name, value in form.items():
        if isinstance(value, list):
            flat.update({f"{name}[{i}]": item for i, item in enumerate(value)})
        else:
            flat[name] = value
    return flat


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("localstripe")
    port_file, state_file, log_path = folder / "port", folder / "state.pickle", folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.gateways", "localstripe", str(port_file), str(state_file)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("localstripe did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.05)
        yield LocalStripe(url=f"http://127.0.0.1:{int(port_file.read_text())}", log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def stripe_api(localstripe, settings):
    """The Stripe SDK, as the gateway builds it, goes to the session's localstripe for this test; the webhooks it
    was told to send stop at the end."""
    settings.STRIPE_API_BASE = localstripe.url
    yield localstripe
    localstripe.webhook_stop()  # a later test's payments are not sent to this one's receiver


def _serve_localstripe(port_file: str, state_file: str) -> None:
    import pickle
    import socket

    from aiohttp import web
    from localstripe import resources, server

    def dump_to_disk(store) -> None:
        with open(state_file, "wb") as f:
            pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # its webhook deliveries
    # localstripe pickles its whole state to a fixed /tmp path after every write; this one writes its own file.
    resources.Store.dump_to_disk = dump_to_disk
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until the app serves them
    Path(port_file + ".tmp").write_text(str(sock.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    web.run_app(server.app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["localstripe"]:
        _serve_localstripe(*sys.argv[2:4])
    else:
        sys.exit("usage: python -m tests.gateways localstripe PORT_FILE STATE_FILE")
