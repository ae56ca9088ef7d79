"""A small local stand-in for Kashier's and Moamalat's APIs, on 127.0.0.1, started by the tests.

It records every request (``fake.requests``) and answers as the real APIs do, from what a test tells it exists:

- Kashier ``PUT /kashier/orders/{orderId}/transactions/{transactionId}?operation=refund`` (``Authorization``: the
  account secret key, body ``{"amount": "…"}``): ``fake.kashier_transaction(order_id, transaction_id, amount,
  secret_key)``;
- Moamalat ``POST /moamalat/RefundTransaction`` (its SecureHash checked with the terminal's key, recomputed here
  on its own): ``fake.moamalat_terminal(merchant_id, terminal_id, secure_key)`` and
  ``fake.moamalat_transaction(system_reference, amount_minor)``.

``fake.answer_next(status, body)`` makes the next request get that answer instead; ``fake.delay_next(seconds)``
makes it slow (a timeout). Use the ``fake_gateways`` fixture: it points KASHIER_API_BASE and MOAMALAT_API_BASE at
the server and forgets every request and transaction after the test.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class _Transaction:
    amount: Decimal
    refunded: Decimal = Decimal(0)
    secret_key: str = ""


@dataclass
class FakeGateways:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    kashier: dict[tuple[str, str], _Transaction] = field(default_factory=dict)
    moamalat_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    moamalat: dict[str, _Transaction] = field(default_factory=dict)
    _next: list[tuple[int, bytes]] = field(default_factory=list)
    _delays: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(900001))

    # --- what a test sets up -------------------------------------------------------
    def kashier_transaction(self, order_id: str, transaction_id: str, amount, secret_key: str) -> None:
        self.kashier[(order_id, transaction_id)] = _Transaction(Decimal(str(amount)), secret_key=secret_key)

    def moamalat_terminal(self, merchant_id: str, terminal_id: str, secure_key: str) -> None:
        self.moamalat_keys[(merchant_id, terminal_id)] = secure_key

    def moamalat_transaction(self, system_reference: str, amount_minor: int) -> None:
        self.moamalat[str(system_reference)] = _Transaction(Decimal(amount_minor))

    def answer_next(self, status: int, body: bytes = b"") -> None:
        self._next.append((status, body))

    def delay_next(self, seconds: float) -> None:
        self._delays.append(seconds)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.kashier.clear()
            self.moamalat_keys.clear()
            self.moamalat.clear()
            self._next.clear()
            self._delays.clear()

    # --- answering ---------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict, body: bytes) -> tuple[int, dict | bytes]:
        parts = urlsplit(target)
        with self._lock:
            self.requests.append(Recorded(method, parts.path, parse_qs(parts.query), headers, body))
            delay = self._delays.pop(0) if self._delays else 0
            forced = self._next.pop(0) if self._next else None
        if delay:
            time.sleep(delay)
        if forced is not None:
            return forced
        segments = [unquote(part) for part in parts.path.strip("/").split("/")]
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"message": "Malformed JSON"}
        if method == "PUT" and len(segments) == 5 and segments[:2] == ["kashier", "orders"] \
                and segments[3] == "transactions":
            return self._kashier_refund(segments[2], segments[4], parse_qs(parts.query), headers, data)
        if method == "POST" and segments == ["moamalat", "RefundTransaction"]:
            return self._moamalat_refund(data)
        return 404, {"message": "Not found"}

    def _kashier_refund(self, order_id, transaction_id, query, headers, data) -> tuple[int, dict]:
        def failure(status: int, message: str):
            return status, {"status": "FAILURE", "response": {"status": "FAILURE", "gatewayMessage": message},
                            "messages": {"en": message}}

        transaction = self.kashier.get((order_id, transaction_id))
        authorization = next((value for name, value in headers.items() if name.lower() == "authorization"), "")
        if transaction is None:
            return failure(404, "Order not found")
        if not hmac.compare_digest(authorization.encode(), transaction.secret_key.encode()):
            return 401, {"status": "FAILURE", "messages": {"en": "Unauthorized"}}
        if query.get("operation") != ["refund"]:
            return failure(400, "Unknown operation")
        try:
            amount = Decimal(str(data.get("amount")))
        except InvalidOperation:
            return failure(400, "Invalid amount")
        with self._lock:
            if amount <= 0 or transaction.refunded + amount > transaction.amount:
                return failure(400, "Refund amount exceeds the refundable amount")
            transaction.refunded += amount
            refund_id = f"RF-{next(self._ids)}"
        return 200, {"status": "SUCCESS", "response": {
            "status": "SUCCESS", "gatewayCode": "APPROVED", "gatewayMessage": "Refund approved",
            "transactionId": refund_id, "amount": str(amount), "orderId": order_id}}

    def _moamalat_refund(self, data) -> tuple[int, dict]:
        merchant_id, terminal_id = str(data.get("MerchantId", "")), str(data.get("TerminalId", ""))
        key = self.moamalat_keys.get((merchant_id, terminal_id))
        if key is None:
            return 200, {"Message": "Invalid merchant or terminal", "Success": False}
        when = data.get("DateTimeLocalTrxn", "")
        message = f"DateTimeLocalTrxn={when}&MerchantId={merchant_id}&TerminalId={terminal_id}"
        expected = hmac.new(bytes.fromhex(key), message.encode(), hashlib.sha256).hexdigest().upper()
        if not hmac.compare_digest(expected.encode(), str(data.get("SecureHash", "")).upper().encode()):
            return 200, {"Message": "Invalid Secure Hash", "Success": False}
        transaction = self.moamalat.get(str(data.get("SystemReference", "")))
        if transaction is None:
            return 200, {"Message": "Transaction not found", "Success": False}
        amount = data.get("AmountTrxn")
        if not isinstance(amount, int) or isinstance(amount, bool):
            return 200, {"Message": "Invalid amount", "Success": False}
        with self._lock:
            if amount <= 0 or transaction.refunded + amount > transaction.amount:
                return 200, {"Message": "Refund amount exceeds the transaction amount", "Success": False}
            transaction.refunded += amount
            reference = str(next(self._ids))
        return 200, {"Message": "Approved", "Success": True, "ActionCode": "00", "SystemReference": reference,
                     "AmountTrxn": amount}


def _handler(fake: FakeGateways):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = fake.handle(self.command, self.path, dict(self.headers.items()), body)
            payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a timeout test)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    return Handler


@pytest.fixture(scope="session")
def _fake_gateways_server():
    fake = FakeGateways()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-gateways", daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_gateways(_fake_gateways_server, settings) -> FakeGateways:
    """The fake Kashier and Moamalat APIs, empty, with the settings pointing at them."""
    fake = _fake_gateways_server
    fake.reset()
    settings.KASHIER_API_BASE = f"{fake.url}/kashier"
    settings.MOAMALAT_API_BASE = f"{fake.url}/moamalat"
    yield fake
    fake.reset()
