"""The soak's steps; bench/soak.sh runs them in order (read it first).

    python -m bench.soak setup <dir>                        Kashier on for the bench store (after bench.checkout seed)
    python -m bench.soak drive <dir> <url> <clients> <seconds> <gunicorn pid> <celery pid>
                                                            the mixed load, sampling the servers' RSS
    python -m bench.soak floor <dir> <url> <clients> <seconds> <name>
                                                            the same clients on bench/floors.py's static view
    python -m bench.soak drain <dir>                        waits for the worker to apply every payment webhook
    python -m bench.soak verify <dir>                       stock, orders, payments and webhooks add up
    python -m bench.soak report <dir>                       the summary and its verdicts

The store, its products and the buyers' requests are bench/checkout.py's (seed, _request); drive only speaks
HTTP. Each step reads and writes JSON files in <dir>.
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit

from bench.checkout import (
    ADDRESS,
    EMAIL_DOMAIN,
    LINES_PER_CART,
    _django,
    _latencies,
    _read,
    _request,
    _write,
    stock_check,
)

PROCESSES = 4  # load generators; their threads share the clients between them
# the mix, by action: a browse is one GET; a cart is create + 1-3 items + read it back (left behind: abandoned);
# a checkout is create + items + POST checkout (+ the gateway's webhook for a card payment)
MIX = (("browse", 0.80), ("cart", 0.15), ("checkout", 0.05))
BROWSE = (("list", 0.45), ("detail", 0.40), ("search", 0.15))
SEARCH_WORDS = ("Regular", "Regular 1", "Regular 42", "Hot", "Probe", "nothing-matches")
HOT_SHARE = 0.25  # checkouts that also want the hot product (it sells out part-way: 409 OUT_OF_STOCK expected)
KASHIER_SHARE = 0.60  # the other checkouts pay cash on delivery
WEBHOOK_FAILURE_SHARE = 0.10  # the gateway reports a declined card
WEBHOOK_REPEAT_SHARE = 0.15  # the gateway sends the same notification again (its retry)
KASHIER_API_KEY = "soak-kashier-payment-api-key"
KASHIER_MID = "MID-4242-0001"
EXPECTED = {"OUT_OF_STOCK"}  # refusals the run provokes on purpose (the hot product); not errors
RSS_EVERY = 5.0  # seconds between RSS samples
RSS_GROWTH_LIMIT = 0.10
# the floor: a fixed 16 KB JSON body (the size of a product list page), no database, through the same middleware and
# gunicorn, from the same clients; measured before and after the soak (on a shared machine the CPU on offer drifts)
FLOOR_PATH = "/api/bench/floor/static?bytes=16000"
WARM_UP_SHARE, WARM_UP_MAX = 0.10, 60.0  # the start RSS is taken after this much of the run (caches, imports filled)


def _pick(rng: random.Random, weighted) -> str:
    roll, total = rng.random(), 0.0
    for name, share in weighted:
        total += share
        if roll < total:
            return name
    return weighted[-1][0]


# --- setup ----------------------------------------------------------------------------------------------------


def setup(folder: Path) -> None:
    """The seeded store takes Kashier (test mode, a Payment API key the load generator signs its webhooks with)
    through the app's own service; the published products' ids for browsing."""
    _django()
    from django.db import transaction

    from catalog.models import Product
    from payments.services.settings import gateway_setting_update
    from stores.models import Store

    seed_data = _read(folder, "seed")
    store = Store.objects.get(slug=seed_data["store"])
    with transaction.atomic():
        gateway_setting_update(store=store, gateway="kashier", enabled=True, mode="test", merchant_id=KASHIER_MID,
                               api_key=KASHIER_API_KEY)
    products = list(Product.objects.filter(store=store, name__startswith="Regular").values_list("pk", flat=True))
    _write(folder, "soak-setup", {"products": products, "kashier_api_key": KASHIER_API_KEY})
    print(f"   Kashier on for {store.slug} (test mode); {len(products)} products to browse")


# --- drive ----------------------------------------------------------------------------------------------------


def _kashier_webhook(number: str, amount: str, currency: str, success: bool, key: str) -> tuple[dict, dict]:
    """A server notification for order ``number`` signed as Kashier signs it (sorted signature keys, RFC 3986
    values, HMAC-SHA256 with the Payment API key), written here on its own rather than with the app's helper."""
    data = {"merchantOrderId": number, "kashierOrderId": f"k-{number}", "transactionId": f"TX-{number}",
            "status": "SUCCESS" if success else "FAILURE", "amount": amount, "currency": currency, "method": "card"}
    keys = sorted(data)
    signed = "&".join(f"{name}={quote(str(data[name]), safe='')}" for name in keys)
    signature = hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return {"event": "pay", "data": {**data, "signatureKeys": keys}}, {"X-Kashier-Signature": signature}


class _Client:
    """One buyer connection working through random actions until the deadline; records every request."""

    def __init__(self, index: int, host: str, port: int, seed_data: dict, setup_data: dict, log: dict):
        self.rng = random.Random(f"soak-{index}")
        self.index = index
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.seed, self.setup, self.log = seed_data, setup_data, log
        self.base = f"/api/v1/stores/{seed_data['store']}"
        self.serial = 0

    def request(self, kind: str, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        began = time.time()
        try:
            if method == "GET":
                status, data, elapsed = self._get(path)
            else:
                status, data, elapsed = _request(self.connection, method, path, body or {}, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()
            status, data, elapsed = 0, {"error": {"code": type(exc).__name__}}, time.time() - began
        code = data.get("error", {}).get("code") if status >= 300 or status == 0 else None
        self.log["requests"].append((kind, status, round(elapsed, 5), code, round(began, 3)))
        return status, data

    def _get(self, path: str) -> tuple[int, dict, float]:
        started = time.perf_counter()
        for attempt in range(3):
            try:
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        return response.status, data, elapsed

    def browse(self) -> None:
        what = _pick(self.rng, BROWSE)
        if what == "list":
            page = self.rng.randint(1, 50)
            self.request("browse", "GET", f"{self.base}/products?page={page}&limit=20")
        elif what == "detail":
            self.request("browse", "GET", f"{self.base}/products/{self.rng.choice(self.setup['products'])}")
        else:
            self.request("browse", "GET", f"{self.base}/search?q={quote(self.rng.choice(SEARCH_WORDS))}")

    def fill(self, kind: str, variants: list[int]) -> str | None:
        status, data = self.request(kind, "POST", f"{self.base}/carts", {})
        if status != 201:
            return None
        cart = data["data"]["id"]
        self.log["carts"].append(cart)
        for variant in variants:
            self.request(kind, "POST", f"{self.base}/carts/{cart}/items", {"variant": variant, "quantity": 1})
        return cart

    def cart(self) -> None:
        cart = self.fill("cart", self.rng.sample(self.seed["regular"], self.rng.randint(1, 3)))
        if cart:
            self.request("cart", "GET", f"{self.base}/carts/{cart}")

    def checkout(self) -> None:
        variants = self.rng.sample(self.seed["regular"], LINES_PER_CART)
        if self.rng.random() < HOT_SHARE:
            variants.append(self.seed["hot"])  # once it is gone, adding it is refused and the buyer goes on
        cart = self.fill("checkout", variants)
        if not cart:
            return
        self.serial += 1
        gateway = "kashier" if self.rng.random() < KASHIER_SHARE else "cod"
        body = {"cart": cart, "email": f"soak{self.index}-{self.serial}@{EMAIL_DOMAIN}", "shipping_address": ADDRESS,
                "shipping_method": self.seed["shipping_method"], "payment_method": gateway}
        status, data = self.request("checkout", "POST", f"{self.base}/checkout", body,
                                    {"Idempotency-Key": f"soak-{uuid.uuid4().hex}"})
        if status != 201:
            return
        order = data["data"]
        self.log["orders"].append({"number": order["number"], "gateway": gateway, "cart": cart})
        if gateway != "kashier":
            return
        success = self.rng.random() >= WEBHOOK_FAILURE_SHARE
        payload, headers = _kashier_webhook(order["number"], order["payment"]["amount"], order["currency"], success,
                                            self.setup["kashier_api_key"])
        sends = 2 if self.rng.random() < WEBHOOK_REPEAT_SHARE else 1
        path = f"/api/v1/payments/webhooks/kashier/{self.seed['store']}"
        answers = [self.request("webhook", "POST", path, payload, headers)[0] for _ in range(sends)]
        self.log["webhooks"].append({"number": order["number"], "success": success, "sends": sends,
                                     "answers": answers, "event_id": f"TX-{order['number']}:pay"})

    def floor(self) -> None:
        self.request("floor", "GET", FLOOR_PATH)

    def run(self, deadline: float, mix=MIX) -> None:
        actions = {"browse": self.browse, "cart": self.cart, "checkout": self.checkout, "floor": self.floor}
        while time.time() < deadline:
            action = _pick(self.rng, mix)
            self.log["actions"][action] = self.log["actions"].get(action, 0) + 1
            actions[action]()
        self.connection.close()


def _drive_share(args: tuple) -> dict:
    first, clients, host, port, seed_data, setup_data, start_at, deadline, mix = args
    logs = []
    workers = []
    for index in range(first, first + clients):
        log = {"requests": [], "carts": [], "orders": [], "webhooks": [], "actions": {}}
        logs.append(log)
        client = _Client(index, host, port, seed_data, setup_data, log)

        def work(client=client) -> None:
            while time.time() < start_at:
                time.sleep(0.001)
            client.run(deadline, mix)

        workers.append(threading.Thread(target=work))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    merged = {"requests": [], "carts": [], "orders": [], "webhooks": [], "actions": {}}
    for log in logs:
        for name in ("requests", "carts", "orders", "webhooks"):
            merged[name].extend(log[name])
        for name, count in log["actions"].items():
            merged["actions"][name] = merged["actions"].get(name, 0) + count
    return merged


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss_sample(gunicorn: int, celery: int) -> dict:
    """RSS in KiB of gunicorn's workers (its children), and of the Celery worker: its main process and its pool."""
    return {"gunicorn": {pid: _rss_kib(pid) for pid in _children(gunicorn)},
            "celery": {pid: _rss_kib(pid) for pid in [celery, *_children(celery)]}}


def drive(folder: Path, url: str, clients: int, seconds: float, gunicorn: int, celery: int) -> None:
    """``clients`` buyers for ``seconds``, each drawing its next action from MIX; RSS sampled every RSS_EVERY s."""
    seed_data, setup_data = _read(folder, "seed"), _read(folder, "soak-setup")
    parsed = urlsplit(url)
    processes = min(PROCESSES, clients)
    start_at = time.time() + 2
    deadline = start_at + seconds
    warm_until = start_at + min(WARM_UP_MAX, seconds * WARM_UP_SHARE)
    shares, first = [], 0
    for index in range(processes):
        count = clients // processes + (1 if index < clients % processes else 0)
        shares.append((first, count, parsed.hostname, parsed.port, seed_data, setup_data, start_at, deadline, MIX))
        first += count

    samples: list = []
    stop = threading.Event()
    boot = _rss_sample(gunicorn, celery)

    def sampler() -> None:
        while not stop.is_set():
            now = time.time()
            if now >= warm_until:
                samples.append({"at": now - start_at, **_rss_sample(gunicorn, celery),
                                "load": Path("/proc/loadavg").read_text().split()[:3]})
            stop.wait(RSS_EVERY)

    thread = threading.Thread(target=sampler, daemon=True)
    while time.time() < start_at:
        time.sleep(0.01)
    thread.start()
    with ProcessPoolExecutor(processes) as pool:
        outcomes = list(pool.map(_drive_share, shares))
    ended = time.time()
    samples.append({"at": ended - start_at, **_rss_sample(gunicorn, celery),
                    "load": Path("/proc/loadavg").read_text().split()[:3]})
    stop.set()
    thread.join()

    merged = {"requests": [], "carts": [], "orders": [], "webhooks": [], "actions": {}}
    for outcome in outcomes:
        for name in ("requests", "carts", "orders", "webhooks"):
            merged[name].extend(outcome[name])
        for name, count in outcome["actions"].items():
            merged["actions"][name] = merged["actions"].get(name, 0) + count
    elapsed = ended - start_at
    requests = merged["requests"]
    kinds: dict = {}
    for kind, status, took, code, _ in requests:
        entry = kinds.setdefault(kind, {"count": 0, "latencies": [], "errors": 0, "expected": 0, "statuses": {}})
        entry["count"] += 1
        entry["latencies"].append(took)
        name = f"{status}" + (f" {code}" if code else "")
        entry["statuses"][name] = entry["statuses"].get(name, 0) + 1
        if status == 0 or status >= 500 or (status >= 400 and code not in EXPECTED):
            entry["errors"] += 1
        elif code in EXPECTED:
            entry["expected"] += 1
    per_kind = {kind: {"count": entry["count"], "per_second": entry["count"] / elapsed, "errors": entry["errors"],
                       "expected_refusals": entry["expected"], "statuses": entry["statuses"],
                       "latency_ms": _latencies(entry["latencies"])}
                for kind, entry in kinds.items()}
    errors = sum(entry["errors"] for entry in kinds.values())
    # throughput over time, in tenths of the run: a soak that slows down shows it here
    buckets = [0] * 10
    for *_, began in requests:
        buckets[min(9, max(0, int((began - start_at) / elapsed * 10)))] += 1
    summary = {
        "clients": clients, "seconds": elapsed, "requests": len(requests), "per_second": len(requests) / elapsed,
        "errors": errors, "error_rate": errors / max(1, len(requests)),
        "latency_ms": _latencies([request[2] for request in requests]), "kinds": per_kind,
        "actions": merged["actions"], "per_tenth": [count / (elapsed / 10) for count in buckets],
        "rss": {"boot": boot, "samples": samples, "warm_up_seconds": warm_until - start_at},
        "carts": merged["carts"], "orders": merged["orders"], "webhooks": merged["webhooks"],
    }
    _write(folder, "soak-drive", summary)
    print(f"   {len(requests)} requests in {elapsed:.0f} s = {summary['per_second']:.0f} req/s at {clients} clients; "
          f"errors {errors} ({summary['error_rate']:.3%}); actions {merged['actions']}")
    for kind, entry in per_kind.items():
        latency = entry["latency_ms"]
        print(f"   {kind:9} {entry['count']:7} = {entry['per_second']:6.1f}/s  p50/p99 {latency['p50']:6.1f} / "
              f"{latency['p99']:6.1f} ms  errors {entry['errors']}  answers {entry['statuses']}")


def floor(folder: Path, url: str, clients: int, seconds: float, name: str) -> None:
    """The static floor (FLOOR_PATH) from ``clients`` clients for ``seconds``: requests/s and latency."""
    seed_data, setup_data = _read(folder, "seed"), _read(folder, "soak-setup")
    parsed = urlsplit(url)
    processes = min(PROCESSES, clients)
    start_at = time.time() + 1
    shares, first = [], 0
    for index in range(processes):
        count = clients // processes + (1 if index < clients % processes else 0)
        shares.append((first, count, parsed.hostname, parsed.port, seed_data, setup_data, start_at,
                       start_at + seconds, (("floor", 1.0),)))
        first += count
    with ProcessPoolExecutor(processes) as pool:
        outcomes = list(pool.map(_drive_share, shares))
    elapsed = time.time() - start_at
    requests = [request for outcome in outcomes for request in outcome["requests"]]
    failed = sum(1 for request in requests if request[1] != 200)
    latency = _latencies([request[2] for request in requests])
    _write(folder, f"soak-floor-{name}", {"per_second": len(requests) / elapsed, "latency_ms": latency,
                                         "failed": failed, "load": Path("/proc/loadavg").read_text().split()[:3]})
    print(f"   floor ({name}): {len(requests) / elapsed:.0f} req/s, p50/p99 {latency['p50']:.1f} / "
          f"{latency['p99']:.1f} ms{f', {failed} not 200' if failed else ''}")


# --- drain ----------------------------------------------------------------------------------------------------


def drain(folder: Path, timeout: float = 180.0) -> None:
    """Waits until no payment webhook event is pending and the Celery queue is empty (the worker has applied
    everything the run sent), up to ``timeout`` seconds."""
    _django()
    import redis
    from django.conf import settings

    from payments.models import WebhookEvent, WebhookEventStatus

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    began = time.time()
    while True:
        pending = WebhookEvent.objects.filter(status=WebhookEventStatus.PENDING).count()
        queued = broker.llen(queue)
        if (not pending and not queued) or time.time() - began > timeout:
            break
        time.sleep(0.5)
    waited = time.time() - began
    _write(folder, "soak-drain", {"seconds": waited, "pending": pending, "queued": queued})
    print(f"   drained in {waited:.1f} s: {pending} webhook events pending, {queued} tasks queued")


# --- verify ---------------------------------------------------------------------------------------------------


def verify(folder: Path) -> None:
    """Stock, orders, payments and payment webhooks add up after the run (bench.checkout.stock_check for the
    stock), and each webhook was applied exactly once."""
    _django()
    from django.db import connection

    seed_data, run = _read(folder, "seed"), _read(folder, "soak-drive")
    store = seed_data["store"]
    sent = run["orders"]
    webhooks = {hook["event_id"]: hook for hook in run["webhooks"]}
    numbers = {order["number"] for order in sent}
    with connection.cursor() as cursor:
        stock = stock_check(cursor, store)
        cursor.execute("SELECT o.number, o.status, o.payment_status, o.total, p.gateway, p.status, p.amount, p.id "
                       "FROM orders_order o LEFT JOIN payments_payment p ON p.order_id = o.id "
                       "WHERE o.store_id = (SELECT id FROM stores_store WHERE slug = %s)", [store])
        rows = cursor.fetchall()
        cursor.execute("SELECT event_id, status, error, payment_id, "
                       "EXTRACT(EPOCH FROM processed_at - received_at) FROM payments_webhookevent")
        events = {row[0]: row[1:] for row in cursor.fetchall()}
        lag = _latencies([float(event[3]) for event in events.values() if event[3] is not None])
        cursor.execute("SELECT o.number, COUNT(*) FROM orders_orderevent e JOIN orders_order o ON o.id = e.order_id "
                       "WHERE e.kind = 'paid' GROUP BY o.number")
        paid_events = dict(cursor.fetchall())
        cursor.execute("SELECT object_id, COUNT(*) FROM auditlog_auditlog WHERE action = 'payment.paid' "
                       "GROUP BY object_id")
        paid_audits = dict(cursor.fetchall())
        cursor.execute("SELECT COUNT(*) FROM orders_cart "
                       "WHERE store_id = (SELECT id FROM stores_store WHERE slug = %s)", [store])
        carts_left = cursor.fetchone()[0]

    problems, oversold = list(stock["problems"]), stock["oversold"]
    by_order: dict = {}
    for number, status, payment_status, total, gateway, p_status, amount, payment_id in rows:
        by_order.setdefault(number, []).append((status, payment_status, total, gateway, p_status, amount, payment_id))
    if set(by_order) != numbers:
        problems.append(f"{len(by_order)} orders in the database, {len(numbers)} 201 answers "
                        f"({len(set(by_order) - numbers)} unanswered, {len(numbers - set(by_order))} missing)")
    wanted = {order["number"]: order["gateway"] for order in sent}
    for number, payments in by_order.items():
        if len(payments) != 1 or payments[0][6] is None:
            problems.append(f"order {number}: {len([p for p in payments if p[6]])} payments")
            continue
        status, payment_status, total, gateway, p_status, amount, _ = payments[0]
        if amount != total or gateway != wanted.get(number, gateway):
            problems.append(f"order {number}: total {total}, payment {gateway} {amount}")
    # payment webhooks: stored once each, applied once each, and the orders and payments say what they said
    paid = failed = 0
    for event_id, hook in webhooks.items():
        event = events.get(event_id)
        payments = by_order.get(hook["number"], [])
        if event is None:
            problems.append(f"webhook {event_id}: not stored (answers {hook['answers']})")
            continue
        if event[0] != "processed" or any(answer != 200 for answer in hook["answers"]):
            problems.append(f"webhook {event_id}: {event[0]} {event[1]!r}, answers {hook['answers']}")
            continue
        if not payments:
            continue
        status, payment_status, _, _, p_status, _, payment_id = payments[0]
        if hook["success"]:
            paid += 1
            if (p_status, payment_status) != ("paid", "paid") or paid_events.get(hook["number"]) != 1 \
                    or paid_audits.get(str(payment_id)) != 1:
                problems.append(f"order {hook['number']}: payment {p_status}, order {status}/{payment_status}, "
                                f"{paid_events.get(hook['number'], 0)} paid events, "
                                f"{paid_audits.get(str(payment_id), 0)} payment.paid audits")
        else:
            failed += 1
            if (p_status, payment_status) != ("failed", "unpaid") or hook["number"] in paid_events:
                problems.append(f"order {hook['number']}: declined, but payment {p_status}, order {payment_status}")
    extra = set(events) - set(webhooks)
    if extra:
        problems.append(f"{len(extra)} webhook events nobody sent")
    if set(paid_events) - {hook["number"] for hook in webhooks.values() if hook["success"]}:
        problems.append("orders paid that no webhook paid")
    kashier_orders = sum(1 for order in sent if order["gateway"] == "kashier")
    repeats = sum(hook["sends"] - 1 for hook in webhooks.values())
    carts_expected = len(run["carts"]) - len(sent)
    if carts_left != carts_expected:
        problems.append(f"{carts_left} carts left, {carts_expected} expected (created {len(run['carts'])}, "
                        f"checked out {len(sent)})")
    hot = next(row for row in stock["variants"] if row[0] == seed_data["hot"])
    if hot[1] != seed_data["hot_stock"] or hot[2] > hot[1]:
        problems.append(f"hot product: on hand {hot[1]}, reserved {hot[2]} of {seed_data['hot_stock']}")
    ok = not problems and not oversold
    line = (f"orders {len(by_order)} = 201 answers {len(numbers)}, one payment each = its total; "
            f"{len(stock['variants'])} variants: on hand and reserved = their movements, reserved = units on open "
            f"orders; order lines {stock['lines']} = reserve movements {stock['reserves']}; hot product "
            f"{hot[2]}/{hot[1]} reserved; carts left {carts_left} = created {len(run['carts'])} - ordered "
            f"{len(sent)}; webhooks: {len(webhooks)} events for {kashier_orders} card orders "
            f"(+{repeats} repeats) stored once, processed once: {paid} paid (one paid event, one payment.paid "
            f"audit each), {failed} declined, applied by the worker p50 {lag['p50']:.0f} / p99 {lag['p99']:.0f} ms "
            f"after they arrived; oversold variants: {len(oversold)}")
    _write(folder, "soak-verify", {"ok": ok, "problems": problems, "oversold": len(oversold), "line": line,
                                   "webhooks": len(webhooks), "repeats": repeats, "paid": paid, "failed": failed,
                                   "webhook_lag_ms": lag})
    print(f"   correctness: {line} -> {'OK' if ok else 'FAILED'}")
    for problem in problems[:20]:
        print(f"   PROBLEM: {problem}")


# --- report ---------------------------------------------------------------------------------------------------


def _rss_growth(run: dict) -> tuple[list, bool]:
    """Per process: RSS at the first sample after the warm-up and at the end; grown beyond RSS_GROWTH_LIMIT?"""
    samples = run["rss"]["samples"]
    first, last = samples[0], samples[-1]
    rows, grown = [], False
    for role in ("gunicorn", "celery"):
        for pid, start in first[role].items():
            end = last[role].get(pid)
            boot = run["rss"]["boot"][role].get(pid)
            if not start or not end:
                rows.append((role, pid, boot, start, end, None))
                grown = True  # a process that went away (a worker restarted) is a finding too
                continue
            growth = end / start - 1
            grown = grown or growth > RSS_GROWTH_LIMIT
            rows.append((role, pid, boot, start, end, growth))
        for pid in set(last[role]) - set(first[role]):
            rows.append((role, pid, None, None, last[role][pid], None))
            grown = True
    return rows, grown


def report(folder: Path) -> None:
    run, checks, drained = _read(folder, "soak-drive"), _read(folder, "soak-verify"), _read(folder, "soak-drain")
    latency = run["latency_ms"]
    rows, grown = _rss_growth(run)
    print(f"== soak: {run['clients']} clients for {run['seconds']:.0f} s, mix "
          + ", ".join(f"{name} {share:.0%}" for name, share in MIX))
    print(f"   throughput      {run['per_second']:.0f} requests/s ({run['requests']} requests; "
          + ", ".join(f"{name} {count}" for name, count in sorted(run["actions"].items())) + " actions)")
    floors = [_read(folder, f"soak-floor-{name}") for name in ("before", "after")]
    floor_rate = sum(entry["per_second"] for entry in floors) / 2
    print(f"   static floor    {floors[0]['per_second']:.0f} req/s before, {floors[1]['per_second']:.0f} after "
          f"(same clients); the soak's requests/s ÷ their mean: {run['per_second'] / floor_rate:.0%}")
    print("   by tenth of run " + " ".join(f"{rate:.0f}" for rate in run["per_tenth"]) + " requests/s")
    print(f"   latency         p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms (all requests)")
    for kind, entry in run["kinds"].items():
        print(f"     {kind:13} p50 {entry['latency_ms']['p50']:.1f} ms, p99 {entry['latency_ms']['p99']:.1f} ms "
              f"({entry['count']} requests, {entry['expected_refusals']} expected refusals)")
    print(f"   error rate      {run['error_rate']:.3%} ({run['errors']} errors: 5xx, no answer or an unexpected 4xx)"
          f"  {'met' if run['errors'] == 0 else 'MISSED'}")
    print(f"   RSS (MiB)       boot -> after {run['rss']['warm_up_seconds']:.0f} s warm-up -> end, growth "
          f"(limit {RSS_GROWTH_LIMIT:.0%})  {'MISSED' if grown else 'met'}")
    for role, pid, boot, start, end, growth in rows:
        def mib(value):
            return f"{value / 1024:.0f}" if value else "-"
        verdict = "gone or new" if growth is None else f"{growth:+.1%}"
        print(f"     {role:8} {pid:>8}  {mib(boot):>4} -> {mib(start):>4} -> {mib(end):>4}  {verdict}")
    print(f"   webhooks drained {drained['seconds']:.1f} s after the load ({drained['pending']} pending, "
          f"{drained['queued']} queued)")
    print(f"   correctness     {checks['line']}  {'met' if checks['ok'] else 'MISSED'}")
    _write(folder, "soak-report", {"ok": checks["ok"] and not grown and run["errors"] == 0, "rss_grown": grown})
    if not checks["ok"] or grown or run["errors"]:
        sys.exit(1)


def main() -> None:
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "setup":
        setup(folder)
    elif command == "drive":
        drive(folder, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
    elif command == "floor":
        floor(folder, sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif command == "drain":
        drain(folder)
    elif command == "verify":
        verify(folder)
    elif command == "report":
        report(folder)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    main()
