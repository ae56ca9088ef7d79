"""The checkout benchmark's steps; bench/checkout.sh runs them in order (read it first).

    python -m bench.checkout seed <dir> <carts>       a store, its products, a hot product that will sell out
    python -m bench.checkout queries <dir>            SQL statements per checkout for carts of 1, 5 and 20 lines
    python -m bench.checkout profile <dir>            where one checkout request's CPU goes
    python -m bench.checkout drive <dir> <url> <clients>  buyers over HTTP: fill carts, then check out
    python -m bench.checkout latency <dir> <url> <clients>  the same at one client per worker: no queueing
    python -m bench.checkout verify <dir>             on hand, reserved, orders and movements add up
    python -m bench.checkout floor <dir> <clients>    one checkout's SQL replayed raw through psycopg
    python -m bench.checkout report <dir>             the summary and the targets

Each step reads and writes JSON files in <dir>. seed, queries, verify and floor run Django
(DJANGO_SETTINGS_MODULE=bench.settings); drive only speaks HTTP.
"""

import http.client
import json
import math
import os
import random
import secrets
import sys
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

PROCESSES = 4  # load generators (drive, floor); their threads share the clients between them
REGULAR_PRODUCTS = 1000
REGULAR_STOCK = 1_000_000
LINES_PER_CART = 2  # regular lines; a quarter of the carts add the hot product
HOT_SHARE = 0.25
HOT_SELLS_OUT_AT = 0.6  # the hot product's stock lasts for this share of the carts holding it
WARM_CHECKOUTS = 32  # checked out before the timed run: each worker's first checkouts load what it needs once
EMAIL_DOMAIN = "bench.example"
ADDRESS = {"name": "Bench Buyer", "line1": "1 Market Street", "city": "Tripoli", "postal_code": "21861",
           "country": "LY", "phone": "+218910000000"}
TARGET_CHECKOUTS_PER_SECOND = 100
TARGET_FLOOR_FRACTION = 0.50


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def _read(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}.json").read_text())


def _write(folder: Path, name: str, data: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps(data, indent=1))


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _latencies(values: list[float]) -> dict:
    return {"p50": _percentile(values, 0.50) * 1000, "p95": _percentile(values, 0.95) * 1000,
            "p99": _percentile(values, 0.99) * 1000}


# --- seed -----------------------------------------------------------------------------------------------------


def seed(folder: Path, carts: int) -> None:
    """One store with REGULAR_PRODUCTS products (plenty of stock), a hot product that sells out part-way through
    the checkouts, the floor's own hot product (never sells out), a shipping method; cash on delivery is on by
    default. Every id sequence starts at its own multiple of ten million first, so an id found in a captured statement's
    parameters names one row of one table (bench.checkout floor relies on it)."""
    _django()
    from django.db import connection, transaction

    from accounts.models import User
    from catalog.models import Product, ProductStatus, Variant
    from catalog.services.stock import stock_opening_record_bulk
    from orders.models import ShippingMethod
    from stores.models import Store
    from teams.models import Membership

    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname || '.' || sequencename FROM pg_sequences WHERE schemaname = 'public' "
                       "ORDER BY sequencename")
        for index, (name,) in enumerate(cursor.fetchall()):
            cursor.execute("SELECT setval(%s, %s)", [name, (index + 1) * 10_000_000])

    hot_carts = round(carts * HOT_SHARE)
    hot_stock = max(1, round(hot_carts * HOT_SELLS_OUT_AT))
    rng = random.Random("bench-checkout")
    with transaction.atomic():
        owner = User.objects.create_user(email="bench@example.com", password="Bench-password-42", name="Bench")
        store = Store.objects.create(owner=owner, name="Bench", slug="bench", currency="USD",
                                     tax_rate=Decimal("5.00"))
        Membership.objects.create(user=owner, store=store, role="owner")
        method = ShippingMethod.objects.create(store=store, name="Courier", price=Decimal("5.00"),
                                               free_above=Decimal("100.00"))

        def products(names_stocks: list[tuple[str, int]]) -> list[Variant]:
            rows = Product.objects.bulk_create(
                Product(store=store, name=name, slug=f"p-{index}-{name.lower().replace(' ', '-')}",
                        status=ProductStatus.PUBLISHED, price=Decimal(rng.randrange(500, 5000)) / 100,
                        in_stock=True)
                for index, (name, _) in enumerate(names_stocks))
            variants = Variant.objects.bulk_create(
                Variant(store=store, product=product, sku=f"SKU-{product.pk}", name="Default", price=product.price,
                        stock_quantity=stock, options={"size": "M"})
                for product, (_, stock) in zip(rows, names_stocks, strict=True))
            stock_opening_record_bulk(product_ids=[product.pk for product in rows])
            return variants

        regular = products([(f"Regular {n}", REGULAR_STOCK) for n in range(REGULAR_PRODUCTS)])
        hot, floor_hot = products([("Hot", hot_stock), ("Floor Hot", REGULAR_STOCK)])
        probe = products([(f"Probe {n}", REGULAR_STOCK) for n in range(25)])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    _write(folder, "seed", {
        "store": store.slug, "shipping_method": method.pk, "carts": carts, "hot_carts": hot_carts,
        "regular": [variant.pk for variant in regular], "hot": hot.pk, "hot_stock": hot_stock,
        "floor_hot": floor_hot.pk, "probe": [variant.pk for variant in probe],
    })
    print(f"   seeded {REGULAR_PRODUCTS} products (stock {REGULAR_STOCK:,} each), a hot product with {hot_stock} "
          f"units for {hot_carts} of {carts} carts")


# --- the app in-process: query counts and the captured checkout -----------------------------------------------


class InProcessBuyer:
    """Cart and checkout through Django's test client (the whole stack but HTTP)."""

    def __init__(self, seed_data: dict):
        from django.test import Client

        self.client = Client()
        self.seed = seed_data
        self.base = f"/api/v1/stores/{seed_data['store']}"

    def cart(self, variants: list[int]) -> str:
        answer = self.client.post(f"{self.base}/carts", {}, content_type="application/json")
        assert answer.status_code == 201, answer.content
        cart = answer.json()["data"]["id"]
        for variant in variants:
            added = self.client.post(f"{self.base}/carts/{cart}/items", {"variant": variant, "quantity": 1},
                                     content_type="application/json")
            assert added.status_code in (200, 201), added.content
        return cart

    def checkout(self, cart: str, *, key: str, email: str = f"probe@{EMAIL_DOMAIN}"):
        return self.client.post(
            f"{self.base}/checkout", {"cart": cart, "email": email, "shipping_address": ADDRESS,
                                      "shipping_method": self.seed["shipping_method"], "payment_method": "cod"},
            content_type="application/json", headers={"Idempotency-Key": key})


def queries(folder: Path) -> None:
    """The statements one checkout request issues (Idempotency-Key included), for carts of 1, 5 and 20 lines."""
    _django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed_data = _read(folder, "seed")
    buyer = InProcessBuyer(seed_data)
    buyer.checkout(buyer.cart(seed_data["probe"][:1]), key=uuid.uuid4().hex)  # warm: imports, caches
    counts = {}
    for size in (1, 5, 20):
        cart = buyer.cart(seed_data["probe"][:size])
        with CaptureQueriesContext(connection) as captured:
            answer = buyer.checkout(cart, key=uuid.uuid4().hex)
        assert answer.status_code == 201, answer.content
        counts[size] = len(captured)
    costs = _costs(buyer, seed_data)
    _write(folder, "queries", {"statements": counts, "costs": costs})
    print("   in-process cost per request (ms, wall / CPU of the Django process; no HTTP, no concurrency): "
          + ", ".join(f"{name} {wall:.1f} / {cpu:.1f}" for name, (wall, cpu) in costs.items()))
    print("   statements per checkout request: " + ", ".join(
        f"{size} line{'s' if size > 1 else ''}: {count}" for size, count in counts.items())
        + ("  (constant)" if len(set(counts.values())) == 1 else "  (NOT constant)"))


def _costs(buyer: InProcessBuyer, seed_data: dict, rounds: int = 100) -> dict:
    """Wall and CPU milliseconds of one request of each kind, in this process (steadier than req/s on a shared
    machine: CPU time drifts less with other people's load)."""
    rng = random.Random("bench-costs")
    clocks = {"cart": [0.0, 0.0], "item": [0.0, 0.0], "checkout": [0.0, 0.0]}

    def timed(name, call):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = call()
        clocks[name][0] += time.perf_counter() - wall
        clocks[name][1] += time.process_time() - cpu
        assert answer.status_code in (200, 201), answer.content
        return answer

    base = buyer.base
    for _ in range(rounds):
        cart = timed("cart", lambda: buyer.client.post(f"{base}/carts", {}, content_type="application/json"))
        cart = cart.json()["data"]["id"]
        for variant in rng.sample(seed_data["regular"], LINES_PER_CART):
            timed("item", lambda variant=variant, cart=cart: buyer.client.post(
                f"{base}/carts/{cart}/items", {"variant": variant, "quantity": 1}, content_type="application/json"))
        timed("checkout", lambda cart=cart: buyer.checkout(cart, key=uuid.uuid4().hex))
    counts = {"cart": rounds, "item": rounds * LINES_PER_CART, "checkout": rounds}
    return {name: (wall / counts[name] * 1000, cpu / counts[name] * 1000) for name, (wall, cpu) in clocks.items()}


# Where a checkout request's CPU goes: (label, file suffix, function), cumulative, nested as indented.
PROFILE_PARTS = [
    ("whole request (Django handler)", "django/core/handlers/base.py", "get_response"),
    ("  Idempotency-Key: claim", "config/api/idempotency.py", "_claim"),
    ("  input validation (CheckoutInput)", "rest_framework/serializers.py", "is_valid"),
    ("  checkout_complete", "payments/services/checkout.py", "checkout_complete"),
    ("    order_place", "orders/services/checkout.py", "order_place"),
    ("      stock_reserve", "catalog/services/stock.py", "stock_reserve"),
    ("      emit (order.created)", "notifications/services/fanout.py", "emit"),
    ("    audit_record (2: order, payment)", "auditlog/services.py", "audit_record"),
    ("  answer: serializer .data", "rest_framework/serializers.py", "data"),
    ("  after commit: Celery publish to Redis", "config/celery.py", "task_publish"),
    ("  JSON rendering", "config/api/renderers.py", "render"),
    ("across all: the ORM compiling SQL", "django/db/models/sql/compiler.py", "as_sql"),
    ("across all: querysets evaluated (SELECTs)", "django/db/models/query.py", "_fetch_all"),
    ("across all: statements sent (psycopg)", "django/db/backends/utils.py", "_execute"),
]


def profile(folder: Path, rounds: int = 150) -> None:
    """cProfile (CPU clock) over ``rounds`` checkout requests in-process; each part's share of the request, in
    milliseconds of the unprofiled CPU cost measured by ``queries`` (the profiler slows every call alike, roughly)."""
    _django()
    import cProfile
    import pstats

    seed_data = _read(folder, "seed")
    cpu = _read(folder, "queries")["costs"]["checkout"][1]
    buyer = InProcessBuyer(seed_data)
    rng = random.Random("bench-profile")
    carts = [buyer.cart(rng.sample(seed_data["regular"], LINES_PER_CART)) for _ in range(rounds)]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for cart in carts:
        buyer.checkout(cart, key=uuid.uuid4().hex)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    totals = {}
    for label, suffix, function in PROFILE_PARTS:
        matched = {key for key in stats if key[2] == function and key[0].endswith(suffix)}
        # the outermost calls only: time a matched function spends under another matched one is counted once
        totals[label] = sum(cumulative for key in matched
                            for caller, (_, _, _, cumulative) in stats[key][4].items() if caller not in matched)
    whole = totals[PROFILE_PARTS[0][0]] or 1
    top = [label for label, _, _ in PROFILE_PARTS if label.startswith("  ") and not label.startswith("   ")]
    totals["  the rest (middleware, DRF, the lines for the answer, storing it)"] = whole - sum(
        totals[label] for label in top)
    labels = [label for label, _, _ in PROFILE_PARTS]
    labels.insert(labels.index("across all: the ORM compiling SQL"),
                  "  the rest (middleware, DRF, the lines for the answer, storing it)")
    print(f"   where a checkout request's CPU goes ({cpu:.1f} ms in-process, cProfile shares):")
    for label in labels:
        share = totals[label] / whole
        print(f"     {label:66} {share * cpu:5.1f} ms {share:4.0%}")
    _write(folder, "profile", {label: totals[label] / whole for label in labels})


# --- CPU by process -------------------------------------------------------------------------------------------


class CpuMeter:
    """Seconds of CPU the machine's processes spend while it runs, by kind: the app server (``server_pid`` and its
    children), PostgreSQL, Redis, this process's children (the load generators) and the whole machine
    (/proc/stat). Processes are sampled every 0.2 s so that those that start or exit during the run count too."""

    KINDS = ("server", "postgres", "redis", "load generator", "other")

    def __init__(self, server_pid: int | None = None):
        self.server_pid = server_pid
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stop = threading.Event()

    def _kind(self, pid: int, comm: str, ppid: int) -> str | None:
        if self.server_pid and self.server_pid in (pid, ppid):
            return "server"
        return {"postgres": "postgres", "redis-server": "redis"}.get(comm)

    def _sample(self) -> dict[int, tuple[str, float]]:
        seen = {}
        tick = os.sysconf("SC_CLK_TCK")
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    head, tail = stat.read().rsplit(")", 1)
            except OSError:
                continue
            fields = tail.split()
            kind = self._kind(int(entry.name), head.split("(", 1)[1], int(fields[1]))
            if kind:
                seen[int(entry.name)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
        return seen

    @staticmethod
    def _machine() -> float:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.last.update(self._sample())

    def __enter__(self):
        import resource

        self.first = self._sample()
        self.last = dict(self.first)
        self.machine = self._machine()
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import resource

        self.stop.set()
        self.thread.join()
        self.last.update(self._sample())
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = dict.fromkeys(self.KINDS, 0.0)
        for pid, (kind, seconds) in self.last.items():
            spent[kind] += seconds - self.first.get(pid, (kind, 0.0))[1]
        spent["load generator"] = (children.ru_utime + children.ru_stime
                                   - self.children.ru_utime - self.children.ru_stime)
        machine = self._machine() - self.machine
        spent["other"] = max(0.0, machine - sum(spent.values()))
        self.spent = {"machine": machine, **spent}

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work, by kind, and for the whole machine."""
        return {kind: seconds * 1000 / count for kind, seconds in self.spent.items()}

    @staticmethod
    def line(per: dict[str, float]) -> str:
        return f"{per['machine']:.1f} ms of CPU each: " + ", ".join(
            f"{kind} {per[kind]:.1f}" for kind in CpuMeter.KINDS if per.get(kind, 0) >= 0.05)


# --- drive: buyers over HTTP ----------------------------------------------------------------------------------


def _request(connection: http.client.HTTPConnection, method: str, path: str, body: dict,
             headers: dict | None = None) -> tuple[int, dict, float]:
    started = time.perf_counter()
    for attempt in range(3):
        try:
            connection.request(method, path, body=json.dumps(body),
                               headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            raw = response.read()
            break
        except (http.client.HTTPException, ConnectionError):
            connection.close()
            if attempt == 2:
                raise
    elapsed = time.perf_counter() - started
    try:
        data = json.loads(raw)
    except ValueError:
        data = {"raw": raw[:200].decode(errors="replace")}
    return response.status, data, elapsed


def _drive_share(args: tuple) -> dict:
    """One load-generator process: ``threads`` buyers working through ``jobs``, starting at ``start_at``."""
    phase, host, port, base, jobs, threads, start_at = args
    lock = threading.Lock()
    pending = list(reversed(jobs))
    results: list = []

    def work() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        while time.time() < start_at:
            time.sleep(0.0005)
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop()
            if phase == "carts":
                index, variants = job
                status, data, elapsed = _request(connection, "POST", f"{base}/carts", {})
                timings = [("cart", status, elapsed)]
                cart = data.get("data", {}).get("id") if status == 201 else None
                for variant in variants if cart else ():
                    status, _, elapsed = _request(connection, "POST", f"{base}/carts/{cart}/items",
                                                  {"variant": variant, "quantity": 1})
                    timings.append(("item", status, elapsed))
                with lock:
                    results.append({"index": index, "cart": cart, "timings": timings})
            else:
                index, cart, shipping_method, who = job
                body = {"cart": cart, "email": f"{who}{index}@{EMAIL_DOMAIN}", "shipping_address": ADDRESS,
                        "shipping_method": shipping_method, "payment_method": "cod"}
                began = time.time()
                status, data, elapsed = _request(connection, "POST", f"{base}/checkout", body,
                                                 {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
                error = data.get("error", {}).get("code") if status >= 300 else None
                with lock:
                    results.append({"index": index, "status": status, "error": error, "seconds": elapsed,
                                    "at": began - start_at, "number": data.get("data", {}).get("number")})
        connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"results": results, "ended": time.time()}


def _run_phase(phase: str, url: str, base: str, jobs: list, clients: int) -> tuple[list, float]:
    parsed = urlsplit(url)
    processes = min(PROCESSES, clients)
    start_at = time.time() + 1.5
    shares = [(phase, parsed.hostname, parsed.port, base, jobs[index::processes],
               clients // processes + (1 if index < clients % processes else 0), start_at)
              for index in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        outcomes = list(pool.map(_drive_share, shares))
    results = [result for outcome in outcomes for result in outcome["results"]]
    return results, max(outcome["ended"] for outcome in outcomes) - start_at


def drive(folder: Path, url: str, clients: int) -> None:
    """Phase 1: every buyer creates a cart and adds its lines (2 regular products, a quarter of them the hot
    one too). Phase 2: all carts are checked out with cod by ``clients`` concurrent buyers; the hot product
    sells out part-way. Latencies are the client's, per request."""
    seed_data = _read(folder, "seed")
    rng = random.Random("bench-carts")
    count, hot_carts = seed_data["carts"], seed_data["hot_carts"]
    with_hot = set(rng.sample(range(count), hot_carts))
    jobs = []
    for index in range(count):
        variants = rng.sample(seed_data["regular"], LINES_PER_CART)
        if index in with_hot:
            variants.insert(rng.randrange(len(variants) + 1), seed_data["hot"])
        jobs.append((index, variants))
    base = f"/api/v1/stores/{seed_data['store']}"

    filled, cart_seconds = _run_phase("carts", url, base, jobs, clients)
    timings = [timing for result in filled for timing in result["timings"]]
    cart_failures = sum(1 for _, status, _ in timings if status not in (200, 201))
    cart_requests = len(timings)
    print(f"   carts: {count} carts, {cart_requests} requests in {cart_seconds:.1f} s = "
          f"{cart_requests / cart_seconds:.0f} req/s; p50/p95/p99 "
          + "/".join(f"{value:.1f}" for value in _latencies([t[2] for t in timings]).values())
          + f" ms; not 2xx: {cart_failures}")

    carts = sorted((result["index"], result["cart"]) for result in filled if result["cart"])
    checkout_jobs = [(index, cart, seed_data["shipping_method"], "buyer") for index, cart in carts]
    rng.shuffle(checkout_jobs)
    # untimed first: a worker's first checkouts load, once per process, what every later one reuses (Celery's task
    # registry, the modules the checkout imports, the lean statements' SQL); the rate is the steady state's
    warmed, _ = _run_phase("checkout", url, base, checkout_jobs[:WARM_CHECKOUTS], clients)
    with CpuMeter(int(os.environ.get("BENCH_SERVER_PID") or 0) or None) as cpu:
        answers, seconds = _run_phase("checkout", url, base, checkout_jobs[WARM_CHECKOUTS:], clients)
    statuses: dict[str, int] = {}
    for answer in warmed + answers:
        name = f"{answer['status']}" + (f" {answer['error']}" if answer["error"] else "")
        statuses[name] = statuses.get(name, 0) + 1
    orders = sum(1 for answer in answers if answer["status"] == 201)
    refused = [answer["at"] for answer in answers if answer["error"] == "OUT_OF_STOCK"]
    latency = _latencies([answer["seconds"] for answer in answers])
    sold_out_at = min(refused) if refused else None
    # while the hot product lasts, every checkout holding it waits for the one before it to commit (its row lock);
    # once it is gone those checkouts are refused at once: the two rates say what the hot row costs
    phases = {}
    if sold_out_at is not None:
        before = [answer for answer in answers if answer["at"] + answer["seconds"] <= sold_out_at]
        after = [answer for answer in answers if answer["at"] > sold_out_at]
        last = max(answer["at"] + answer["seconds"] for answer in answers)
        phases = {"before": len(before) / sold_out_at if sold_out_at else 0.0,
                  "after": len(after) / (last - sold_out_at) if last > sold_out_at else 0.0}
    summary = {
        "clients": clients, "carts": count, "cart_requests": cart_requests, "cart_seconds": cart_seconds,
        "cart_failures": cart_failures, "warm_checkouts": len(warmed), "checkouts": len(warmed) + len(answers),
        "orders": orders + sum(1 for answer in warmed if answer["status"] == 201), "seconds": seconds,
        "checkouts_per_second": len(answers) / seconds, "orders_per_second": orders / seconds,
        "latency_ms": latency, "statuses": statuses, "sold_out_at": sold_out_at, "phases": phases,
        "numbers": sorted(answer["number"] for answer in warmed + answers if answer["status"] == 201),
        "end_to_end_orders_per_second": orders / (cart_seconds + seconds), "cpu_ms": cpu.per(len(answers)),
    }
    _write(folder, "drive", summary)
    sold_out = (f"the hot product sold out {sold_out_at:.1f} s in (checkouts/s before: {phases['before']:.0f}, "
                f"after: {phases['after']:.0f})" if refused else "nothing sold out")
    print(f"   checkout: {len(warmed)} untimed, then {len(answers)} checkouts in {seconds:.1f} s = "
          f"{summary['checkouts_per_second']:.0f}/s, "
          f"{orders} orders = {summary['orders_per_second']:.0f} orders/s; p50/p95/p99 "
          f"{latency['p50']:.1f}/{latency['p95']:.1f}/{latency['p99']:.1f} ms; answers {statuses}; {sold_out}")
    print(f"   checkout CPU: {CpuMeter.line(summary['cpu_ms'])}")


def latency(folder: Path, url: str, clients: int, count: int = 300) -> None:
    """A checkout's own latency, without queueing: ``clients`` buyers (one per worker) check out ``count`` carts
    of regular products."""
    seed_data = _read(folder, "seed")
    rng = random.Random("bench-latency")
    base = f"/api/v1/stores/{seed_data['store']}"
    jobs = [(index, rng.sample(seed_data["regular"], LINES_PER_CART)) for index in range(count)]
    filled, _ = _run_phase("carts", url, base, jobs, clients)
    checkout_jobs = [(result["index"], result["cart"], seed_data["shipping_method"], "latency")
                     for result in filled if result["cart"]]
    answers, seconds = _run_phase("checkout", url, base, checkout_jobs, clients)
    latency_ms = _latencies([answer["seconds"] for answer in answers])
    orders = [answer["number"] for answer in answers if answer["status"] == 201]
    _write(folder, "latency", {"clients": clients, "checkouts": len(answers), "orders": len(orders),
                               "numbers": sorted(orders), "per_second": len(answers) / seconds,
                               "latency_ms": latency_ms})
    print(f"   checkout at {clients} clients (one per worker): {len(answers)} in {seconds:.1f} s = "
          f"{len(answers) / seconds:.0f}/s; p50/p95/p99 {latency_ms['p50']:.1f}/{latency_ms['p95']:.1f}/"
          f"{latency_ms['p99']:.1f} ms; {len(orders)} orders")


# --- verify ---------------------------------------------------------------------------------------------------


STOCK_SQL = {
    # per variant: on hand, reserved, ledger sums, units on open orders' lines
    "variants": """
        SELECT v.id, v.stock_quantity, v.reserved, v.allow_backorder,
               COALESCE(m.on_hand, 0), COALESCE(m.held, 0), COALESCE(m.reserves, 0), COALESCE(l.units, 0)
        FROM catalog_variant v
        LEFT JOIN (SELECT variant_id, SUM(quantity_delta) AS on_hand, SUM(reserved_delta) AS held,
                          COUNT(*) FILTER (WHERE reason = 'reserve') AS reserves
                   FROM catalog_inventorymovement GROUP BY variant_id) m ON m.variant_id = v.id
        LEFT JOIN (SELECT ol.variant_id, SUM(ol.quantity) AS units, COUNT(*) AS lines
                   FROM orders_orderline ol JOIN orders_order o ON o.id = ol.order_id
                   WHERE o.status IN ('pending', 'processing') GROUP BY ol.variant_id) l ON l.variant_id = v.id
        WHERE v.store_id = (SELECT id FROM stores_store WHERE slug = %s)""",
    "lines": "SELECT COUNT(*) FROM orders_orderline",
    "reserves": "SELECT COUNT(*) FROM catalog_inventorymovement WHERE reason = 'reserve'",
}


def stock_check(cursor, store: str) -> dict:
    """The stock invariants of ``store`` (also bench/soak.py's): for every variant on hand and reserved equal the
    sums of its movements and reserved equals the units on open orders; one reserve movement per order line;
    nothing oversold. Returns {"variants": rows, "problems": [...], "oversold": [ids], "lines", "reserves"}."""
    cursor.execute(STOCK_SQL["variants"], [store])
    variants = cursor.fetchall()
    counts = {}
    for name in ("lines", "reserves"):
        cursor.execute(STOCK_SQL[name])
        counts[name] = cursor.fetchone()[0]
    problems = []
    oversold = [row[0] for row in variants if not row[3] and row[2] > row[1]]
    for pk, on_hand, reserved, _, ledger_on_hand, ledger_held, _, units in variants:
        if (on_hand, reserved) != (ledger_on_hand, ledger_held):
            problems.append(f"variant {pk}: on hand {on_hand}, reserved {reserved}, ledger {ledger_on_hand}/"
                            f"{ledger_held}")
        elif reserved != units:
            problems.append(f"variant {pk}: reserved {reserved}, open orders hold {units}")
    if counts["lines"] != counts["reserves"]:
        problems.append(f"{counts['lines']} order lines, {counts['reserves']} reserve movements")
    return {"variants": variants, "problems": problems, "oversold": oversold, **counts}


def verify(folder: Path) -> None:
    """On hand, reserved, orders, lines and movements add up for every variant; nothing oversold."""
    _django()
    from django.db import connection

    seed_data, run, quiet = _read(folder, "seed"), _read(folder, "drive"), _read(folder, "latency")
    sql = {
        "orders": "SELECT number FROM orders_order WHERE email LIKE %s",
        "carts": "SELECT COUNT(*) FROM orders_cart WHERE store_id = (SELECT id FROM stores_store WHERE slug = %s)",
    }
    with connection.cursor() as cursor:
        stock = stock_check(cursor, seed_data["store"])
        cursor.execute(sql["orders"], [f"buyer%@{EMAIL_DOMAIN}"])
        numbers = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(sql["orders"], [f"latency%@{EMAIL_DOMAIN}"])
        quiet_numbers = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(sql["carts"], [seed_data["store"]])
        carts_left = cursor.fetchone()[0]
        payments = None
        cursor.execute("SELECT to_regclass('payments_payment')")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT COUNT(*), (SELECT COUNT(*) FROM orders_order) FROM payments_payment")
            payments = cursor.fetchone()
    variants, problems, oversold = stock["variants"], stock["problems"], stock["oversold"]
    hot = next(row for row in variants if row[0] == seed_data["hot"])
    if numbers != run["numbers"]:
        problems.append(f"{len(numbers)} orders in the database, {len(run['numbers'])} 201 answers")
    if quiet_numbers != quiet["numbers"]:
        problems.append(f"{len(quiet_numbers)} latency-run orders in the database, {len(quiet['numbers'])} 201 answers")
    refused = run["checkouts"] - run["orders"] + quiet["checkouts"] - quiet["orders"]
    if carts_left != refused:
        problems.append(f"{carts_left} carts left, {refused} checkouts refused")
    if payments is not None and payments[0] != payments[1]:
        problems.append(f"{payments[0]} payments for {payments[1]} orders")
    if hot[1] != seed_data["hot_stock"] or hot[2] > hot[1]:
        problems.append(f"hot product: on hand {hot[1]}, reserved {hot[2]}")
    line = (f"orders {len(numbers) + len(quiet_numbers)} = 201 answers {len(run['numbers']) + len(quiet['numbers'])}"
            f"; hot product: on hand {hot[1]}, reserved "
            f"{hot[2]}, available {hot[1] - hot[2]}, {hot[6]} reserve movements; {len(variants)} variants: on hand and "
            f"reserved = their ledger, reserved = units on open orders; reserve movements {stock['reserves']} = "
            f"order lines {stock['lines']}; carts left {carts_left} = refused checkouts"
            + (f"; payments {payments[0]} = orders {payments[1]}" if payments else "")
            + f"; oversold variants: {len(oversold)}")
    _write(folder, "verify", {"ok": not problems and not oversold, "oversold": len(oversold), "problems": problems,
                              "line": line})
    print(f"   correctness: {line} -> {'OK' if not problems and not oversold else 'FAILED'}")
    for problem in problems[:20]:
        print(f"   PROBLEM: {problem}")


# --- floor: one checkout's SQL, replayed raw ------------------------------------------------------------------

BEGIN, COMMIT, ROLLBACK = "BEGIN", "COMMIT", "ROLLBACK"


def _swap(value, swaps: dict):
    """``value`` with the captured checkout's own values replaced (inside the arrays of bulk inserts too)."""
    if isinstance(value, list):
        return [_swap(item, swaps) for item in value]
    try:
        return swaps.get((type(value), value), value)
    except TypeError:  # unhashable (a Jsonb wrapper): kept as captured
        return value


def _capture(seed_data: dict, variants: list[int]) -> tuple[list, dict]:
    """One checkout request of a cart holding ``variants`` through the whole stack (Django's test client), its
    statements recorded with their parameters, transactions and RETURNING rows; and the values that are that
    checkout's own (cart, lines, variants, products, key, order number) for the replay to swap."""
    from django.db import connection

    from catalog.models import Variant
    from orders.models import CartLine

    buyer = InProcessBuyer(seed_data)
    for _ in range(2):  # warm: imports, per-process caches, prepared connection
        buyer.checkout(buyer.cart(seed_data["probe"][:len(variants)]), key=uuid.uuid4().hex)
    variants = sorted(variants)
    cart = buyer.cart(variants)
    lines = list(CartLine.objects.filter(cart_id=cart).order_by("variant_id").values_list("pk", flat=True))
    products = dict(Variant.objects.filter(pk__in=variants).values_list("pk", "product_id"))
    key = f"bench-{uuid.uuid4().hex}"

    steps: list = []
    state = {"open": False}

    def record(execute, sql, params, many, context):
        if not connection.get_autocommit() and not state["open"]:
            steps.append((BEGIN,))
            state["open"] = True
        result = execute(sql, params, many, context)
        returned = None
        cursor = context["cursor"]
        if " RETURNING " in sql.upper() and cursor.description is not None:  # not a RETURNING inside a WITH
            returned = [tuple(row) for row in cursor.fetchall()]
            cursor.scroll(0, mode="absolute")
        steps.append(("SQL", sql, list(params) if params is not None else None, many, returned))
        return result

    commit, rollback = connection.commit, connection.rollback

    def recording_commit():
        commit()
        if state["open"]:
            steps.append((COMMIT,))
            state["open"] = False

    def recording_rollback():
        rollback()
        if state["open"]:
            steps.append((ROLLBACK,))
            state["open"] = False

    connection.commit, connection.rollback = recording_commit, recording_rollback
    try:
        with connection.execute_wrapper(record):
            answer = buyer.checkout(cart, key=key)
    finally:
        del connection.commit, connection.rollback
    assert answer.status_code == 201, answer.content
    if state["open"]:
        steps.append((COMMIT,))
    own = {"cart": uuid.UUID(cart), "lines": lines, "variants": variants,
           "products": [products[pk] for pk in variants], "key": key,
           "number": answer.json()["data"]["number"]}
    return steps, own


def _swaps(own: dict, fresh: dict) -> dict:
    """{(type, captured value): replay value} for one replayed checkout."""
    swaps = {}

    def add(old, new):
        swaps[(type(old), old)] = new
        if isinstance(old, int):
            swaps[(str, str(old))] = str(new)
        if isinstance(old, uuid.UUID):
            swaps[(str, str(old))] = str(new)
            swaps[(str, old.hex)] = new.hex

    add(own["cart"], fresh["cart"])
    for name in ("lines", "variants", "products"):
        for old, new in zip(own[name], fresh[name], strict=True):
            add(old, new)
    add(own["key"], f"floor-{uuid.uuid4().hex}")
    symbols = "".join(secrets.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(10))
    add(own["number"], f"{symbols[:5]}-{symbols[5:]}")
    return swaps


def _replay_one(cursor, steps: list, swaps: dict) -> None:
    for step in steps:
        if step[0] != "SQL":
            cursor.execute(step[0])
            continue
        _, sql, params, many, returned = step
        if params is None:
            cursor.execute(sql)
        elif many:
            cursor.executemany(sql, [[_swap(value, swaps) for value in row] for row in params])
        else:
            cursor.execute(sql, [_swap(value, swaps) for value in params])
        if returned is not None:
            for old_row, new_row in zip(returned, cursor.fetchall(), strict=True):
                for old, new in zip(old_row, new_row, strict=True):
                    if isinstance(old, int) and not isinstance(old, bool):
                        swaps[(int, old)] = new
                        swaps[(str, str(old))] = str(new)


_FLOOR_SHARES: list = []  # set before the pool forks: the captured parameters need not be picklable


def _floor_share(index: int) -> dict:
    import psycopg

    conninfo, templates, jobs, threads, start_at = _FLOOR_SHARES[index]
    lock = threading.Lock()
    pending = list(reversed(jobs))
    done = {"checkouts": 0, "errors": 0, "error": None}

    def work() -> None:
        with psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
            cursor = connection.cursor()
            while time.time() < start_at:
                time.sleep(0.0005)
            while True:
                with lock:
                    if not pending:
                        return
                    shape, fresh = pending.pop()
                steps, own = templates[shape]
                try:
                    _replay_one(cursor, steps, _swaps(own, fresh))
                    with lock:
                        done["checkouts"] += 1
                except psycopg.Error as exc:
                    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                        cursor.execute("ROLLBACK")
                    with lock:
                        done["errors"] += 1
                        done["error"] = repr(exc)[:300]

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {**done, "ended": time.time()}


def floor(folder: Path, clients: int) -> None:
    """Captures the SQL of a checkout in-process (one of a cart of two regular products, one of a cart that also
    holds a hot one), then replays them for as many fresh carts as the HTTP run checked out, from ``clients``
    connections: BEGIN, the statements with fresh ids, COMMIT, as the app sends them. The carts have the run's
    shapes: two regular products, a quarter of them a hot one too (the floor's own: it never sells out, so
    every replay is a whole checkout; the app's run refuses some once its hot product is gone)."""
    _django()
    import multiprocessing

    from django.db import connection, connections

    from orders.models import Cart, CartLine
    from stores.models import Store

    seed_data, run = _read(folder, "seed"), _read(folder, "drive")
    templates = [_capture(seed_data, seed_data["regular"][:LINES_PER_CART]),
                 _capture(seed_data, [seed_data["floor_hot"], *seed_data["regular"][:LINES_PER_CART]])]
    steps = templates[1][0]
    statements = sum(1 for step in steps if step[0] == "SQL")
    transactions = sum(1 for step in steps if step[0] == BEGIN)

    count = max(run["checkouts"], 500)
    rng = random.Random("bench-floor")
    store = Store.objects.get(slug=seed_data["store"])
    carts = Cart.objects.bulk_create(Cart(store=store) for _ in range(count))
    with_hot = set(rng.sample(range(count), round(count * HOT_SHARE)))
    shapes = [sorted([*([seed_data["floor_hot"]] if index in with_hot else []),
                      *rng.sample(seed_data["regular"], LINES_PER_CART)]) for index in range(count)]
    CartLine.objects.bulk_create(CartLine(cart=cart, variant_id=variant, quantity=1)
                                 for cart, variants in zip(carts, shapes, strict=True) for variant in variants)
    line_ids: dict = {}
    for cart_id, pk in CartLine.objects.filter(cart__in=carts).order_by("variant_id").values_list("cart_id", "pk"):
        line_ids.setdefault(cart_id, []).append(pk)
    from catalog.models import Variant

    product_of = dict(Variant.objects.filter(pk__in={v for shape in shapes for v in shape})
                      .values_list("pk", "product_id"))
    jobs = [(len(shape) - LINES_PER_CART, {"cart": cart.pk, "lines": line_ids[cart.pk], "variants": shape,
                   "products": [product_of[pk] for pk in shape]})
            for cart, shape in zip(carts, shapes, strict=True)]
    settings_dict = connection.settings_dict
    conninfo = psycopg_conninfo(settings_dict)
    connections.close_all()

    processes = min(PROCESSES, clients)
    start_at = time.time() + 2
    _FLOOR_SHARES[:] = [(conninfo, templates, jobs[index::processes],
                         clients // processes + (1 if index < clients % processes else 0), start_at)
                        for index in range(processes)]
    with CpuMeter() as cpu, ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        outcomes = list(pool.map(_floor_share, range(processes)))
    seconds = max(outcome["ended"] for outcome in outcomes) - start_at
    done = sum(outcome["checkouts"] for outcome in outcomes)
    errors = sum(outcome["errors"] for outcome in outcomes)
    rate = done / seconds
    fraction = run["checkouts_per_second"] / rate
    _write(folder, "floor", {"statements": statements, "transactions": transactions, "checkouts": done,
                             "errors": errors, "seconds": seconds, "per_second": rate, "fraction": fraction,
                             "orders_fraction": run["orders_per_second"] / rate,
                             "cpu_ms": cpu.per(done),
                             "sql": [step[1] if step[0] == "SQL" else step[0] for step in steps]})
    print(f"   floor: one checkout request = {statements} statements in {transactions} transaction(s); replayed "
          f"{done} times raw through psycopg from {clients} connections in {seconds:.1f} s = {rate:.0f}/s"
          + (f" ({errors} errors, last: {next(o['error'] for o in outcomes if o['error'])})" if errors else ""))
    print(f"   floor CPU: {CpuMeter.line(cpu.per(done))}")
    print(f"   checkout throughput ÷ floor: {run['checkouts_per_second']:.0f} / {rate:.0f} = {fraction:.0%}")


def psycopg_conninfo(settings_dict: dict) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dbname=settings_dict["NAME"], user=settings_dict["USER"] or None,
                         password=settings_dict["PASSWORD"] or None, host=settings_dict["HOST"] or None,
                         port=str(settings_dict["PORT"]) if settings_dict["PORT"] else None)


# --- report ---------------------------------------------------------------------------------------------------


def report(folder: Path) -> None:
    run, floor_data, quiet = _read(folder, "drive"), _read(folder, "floor"), _read(folder, "latency")
    measured, checks = _read(folder, "queries"), _read(folder, "verify")
    counts, costs = measured["statements"], measured["costs"]
    latency = run["latency_ms"]
    constant = len(set(counts.values())) == 1
    rows = [
        ("checkouts/s", f"{run['checkouts_per_second']:.0f} ({run['orders_per_second']:.0f} orders/s)",
         f"≥ {TARGET_CHECKOUTS_PER_SECOND}", run["checkouts_per_second"] >= TARGET_CHECKOUTS_PER_SECOND),
        (f"checkout p50/p95/p99 at {run['clients']} clients",
         f"{latency['p50']:.1f} / {latency['p95']:.1f} / {latency['p99']:.1f} ms", "", None),
        (f"checkout p50/p95/p99 at {quiet['clients']} (no queue)",
         f"{quiet['latency_ms']['p50']:.1f} / {quiet['latency_ms']['p95']:.1f} / {quiet['latency_ms']['p99']:.1f} ms",
         "", None),
        ("raw-SQL floor", f"{floor_data['per_second']:.0f} checkouts/s ({floor_data['statements']} statements)", "",
         None),
        ("throughput ÷ floor", f"{floor_data['fraction']:.0%}", f"≥ {TARGET_FLOOR_FRACTION:.0%}",
         floor_data["fraction"] >= TARGET_FLOOR_FRACTION),
        ("oversold variants", str(checks["oversold"]), "0", checks["oversold"] == 0),
        ("stock, orders, movements add up", "yes" if checks["ok"] else "NO", "yes", checks["ok"]),
        ("statements per checkout, 1/5/20 lines", " / ".join(str(count) for count in counts.values()), "constant",
         constant),
        ("end to end (carts + checkout)", f"{run['end_to_end_orders_per_second']:.0f} orders/s", "", None),
        ("in-process checkout, wall / CPU", f"{costs['checkout'][0]:.1f} / {costs['checkout'][1]:.1f} ms", "",
         None),
    ]
    print(f"== checkout benchmark: {run['carts']} buyers, {run['clients']} concurrent clients")
    for name, value, target, met in rows:
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"   {name:40} {value:34} {target:9} {verdict}")


def main() -> None:
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "seed":
        seed(folder, int(sys.argv[3]))
    elif command == "queries":
        queries(folder)
    elif command == "drive":
        drive(folder, sys.argv[3], int(sys.argv[4]))
    elif command == "profile":
        profile(folder)
    elif command == "latency":
        latency(folder, sys.argv[3], int(sys.argv[4]))
    elif command == "verify":
        verify(folder)
    elif command == "floor":
        floor(folder, int(sys.argv[3]))
    elif command == "report":
        report(folder)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
