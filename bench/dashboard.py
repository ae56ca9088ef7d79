"""The dashboard benchmark's steps; bench/dashboard.sh runs them in order (read it first).

    python -m bench.dashboard seed <dir> <orders>        stores of <orders>, 100,000 and 10,000 orders (SQL), rolled up
    python -m bench.dashboard inprocess <dir>            one dashboard computed in-process: statements, time
    python -m bench.dashboard latency <dir> <url> <label> [clients]   GET dashboard over HTTP: p50/p95 per period
                                                         (label admin_…: the admin index, signed in)
    python -m bench.dashboard floor <dir>                the dashboard's own statements, and the same figures
                                                         aggregated from the orders, replayed raw by pgbench
    python -m bench.dashboard export_rss <dir> <slug> <type> [worker]  peak RSS while exporting a store
    python -m bench.dashboard report <dir>               the summary and the target

Each step reads and writes JSON files in <dir>. Everything but latency runs Django
(DJANGO_SETTINGS_MODULE=bench.settings) against the benchmark's PostgreSQL database.
"""

import http.client
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

STORES = [("big", None), ("mid", 100_000), ("small", 10_000)]  # None: the <orders> argument
TIMEZONE = "Africa/Tripoli"
PRODUCTS = 1000
DAYS = 365
EVENT_DAYS = 90
EVENTS_PER_ORDER = 2  # storefront events of the big store over its last EVENT_DAYS days, per order
PERIODS = ["7d", "30d", "90d"]
REQUESTS = 300
TARGET_P95_MS = 200


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


def _latencies(seconds: list[float]) -> dict:
    return {"n": len(seconds), "p50": round(_percentile(seconds, 0.5) * 1000, 1),
            "p95": round(_percentile(seconds, 0.95) * 1000, 1), "max": round(max(seconds) * 1000, 1)}


# --- seed ---------------------------------------------------------------------------------------------------------
def _literal(field) -> str:
    """SQL for a column's Django default (the columns the seed does not name)."""
    from django.db import models

    if field.null:
        return "NULL"
    default = field.get_default()
    if isinstance(field, models.JSONField):
        return f"'{json.dumps(default)}'::jsonb"
    if isinstance(field, models.BooleanField):
        return "true" if default else "false"
    if default is None or default == "":
        return "''" if field.empty_strings_allowed else "0"
    return str(default) if isinstance(default, int | float) else f"'{default}'"


def _insert(cursor, model, expressions: dict[str, str], source: str) -> int:
    """INSERT INTO model's table (every column: ``expressions`` by column name, the rest their default) SELECT …
    ``source`` (the FROM and WHERE part). Returns the rows inserted."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        values.append(expressions.pop(field.column) if field.column in expressions else _literal(field))
    assert not expressions, f"no such columns in {model._meta.db_table}: {list(expressions)}"
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}")
    return cursor.rowcount


def _seed_store(cursor, store, owner, orders: int, events: int) -> dict:
    from analytics.models import Event
    from catalog.demo import seed_bulk
    from orders.models import Order, OrderLine
    from payments.models import Payment

    started = time.monotonic()
    seed_bulk(store, PRODUCTS)
    cursor.execute("DROP TABLE IF EXISTS bench_variant")
    cursor.execute("""CREATE TEMP TABLE bench_variant AS SELECT row_number() OVER (ORDER BY v.id) AS idx, v.id,
                      v.product_id, v.name, v.sku, v.price, p.name AS product_name
                      FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id WHERE v.store_id = %s""",
                   [store.pk])
    cursor.execute("CREATE UNIQUE INDEX ON bench_variant (idx)")
    cursor.execute("ANALYZE bench_variant")
    cursor.execute("SELECT count(*) FROM bench_variant")
    variants = cursor.fetchone()[0]
    # g = 1 is the oldest order, N today: evenly spread over DAYS days; its fate from a hash of g
    # (only the last hour's unpaid orders are still pending: the expiry job cancels older ones)
    fate = "((g * 7919) % 100)"
    status = (f"CASE WHEN {fate} < 76 THEN 'completed' WHEN {fate} < 80 THEN 'refunded' WHEN {fate} < 89 THEN "
              f"'cancelled' WHEN {fate} < 96 THEN 'processing' WHEN g > {orders} - {orders} / {DAYS * 24} THEN "
              f"'pending' ELSE 'cancelled' END")
    paid = (f"CASE WHEN {fate} < 70 THEN 'paid' WHEN {fate} < 76 THEN 'partially_refunded' WHEN {fate} < 80 THEN "
            f"'refunded' WHEN {fate} < 89 THEN 'unpaid' WHEN {fate} < 96 THEN 'paid' ELSE 'unpaid' END")
    moment = f"(now() - (({orders} - g + 0.5) / {orders}::float) * interval '{DAYS} days')"
    subtotal = "round((10 + (g * 37 % 19000) / 100.0)::numeric, 2)"
    done = {"orders": _insert(cursor, Order, {
        "store_id": str(store.pk), "number": "'B' || to_char(g, 'FM000000000')", "email":
        "'shopper' || (g % 80000) || '@bench.test'", "customer_name": "'Shopper ' || (g % 80000)",
        "status": status, "payment_status": paid, "currency": "'USD'", "subtotal": subtotal, "shipping": "5",
        "total": f"{subtotal} + 5", "payment_method": "(ARRAY['cod', 'bank_transfer', 'kashier'])[1 + g % 3]",
        "shipping_method_name": "'Standard delivery'", "shipping_address": """'{"city": "Tripoli"}'::jsonb""",
        "created_at": moment, "updated_at": moment,
    }, f"FROM generate_series(1::bigint, {orders}) AS g")}
    # 1–3 lines each; a few products sell far more than the rest (cubed uniform → low indexes)
    done["lines"] = _insert(cursor, OrderLine, {
        "order_id": "o.id", "variant_id": "v.id", "product_id": "v.product_id", "product_name": "v.product_name",
        "variant_name": "v.name", "sku": "v.sku", "unit_price": "v.price", "quantity": "1 + (o.id + k) % 2",
        "line_total": "v.price * (1 + (o.id + k) % 2)",
    }, f"""FROM orders_order o CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) AS k
           JOIN bench_variant v ON v.idx = 1 + floor({variants} * power(((o.id * 7 + k * 13) % 1000) / 1000.0, 3))
           WHERE o.store_id = {store.pk}""")
    done["payments"] = _insert(cursor, Payment, {
        "store_id": str(store.pk), "order_id": "o.id", "gateway": "o.payment_method",
        "status": "CASE o.payment_status WHEN 'unpaid' THEN 'pending' ELSE o.payment_status END",
        "amount": "o.total", "currency": "o.currency",
        "refunded_amount": ("CASE o.payment_status WHEN 'partially_refunded' THEN round(o.total * 0.3, 2) "
                            "WHEN 'refunded' THEN o.total ELSE 0 END"),
        "email": "o.email", "created_at": "o.created_at", "updated_at": "o.created_at",
        "paid_at": "CASE WHEN o.payment_status = 'unpaid' THEN NULL ELSE o.created_at END",
    }, f"FROM orders_order o WHERE o.store_id = {store.pk}")
    if events:
        # sessions of 4 events over the last EVENT_DAYS days; a purchase for 3 % of them, naming a recent order
        kind = ("(ARRAY['page_view', 'product_view', 'page_view', 'add_to_cart', 'page_view', 'product_view', "
                "'search', 'checkout_started'])[1 + g % 8]")
        at = f"(now() - (({events} - g + 0.5) / {events}::float) * interval '{EVENT_DAYS} days')"
        done["events"] = _insert(cursor, Event, {
            "store_id": str(store.pk), "type": kind, "session_id": "'s' || (g / 4)",
            "product_id": f"CASE WHEN g % 8 IN (1, 3, 5) THEN (SELECT product_id FROM bench_variant WHERE idx = "
                          f"1 + g % {variants}) END",
            "query": "CASE WHEN g % 8 = 6 THEN 'tee' ELSE '' END", "occurred_at": at, "received_at": at,
        }, f"FROM generate_series(1::bigint, {events}) AS g")
        done["events"] += _insert(cursor, Event, {
            "store_id": str(store.pk), "type": "'purchase'", "session_id": "'s' || (g / 4)",
            "order_number": "'B' || to_char(" + str(orders) + " - (g % 1000), 'FM000000000')",
            "occurred_at": at, "received_at": at,
        }, f"FROM generate_series(1::bigint, {events}) AS g WHERE g % 4 = 3 AND (g / 4) % 33 = 0")
    done["seconds"] = round(time.monotonic() - started, 1)
    return done


def seed(folder: Path, orders: int) -> None:
    """Three stores in Tripoli time: big (<orders> orders over a year, storefront events over 90 days), mid
    (100,000) and small (10,000), 1,000 products each; lines, payments and refunds as the orders' fates say;
    then their rollups (manage.py rebuild_metrics), VACUUM ANALYZE and an API key for the big store."""
    _django()
    from django.db import connection, transaction

    from accounts.models import User
    from analytics.services import metrics_rebuild
    from stores.services import store_create
    from teams.services import api_key_create

    owner = User.objects.create_user(email="owner@bench.test", password="bench-pass-2026", name="Bench Owner")
    figures = {"stores": {}}
    for slug, count in STORES:
        count = count or orders
        store = store_create(owner=owner, name=slug.title(), slug=slug, currency="USD", timezone=TIMEZONE)
        with transaction.atomic(), connection.cursor() as cursor:
            seeded = _seed_store(cursor, store, owner, count, count * EVENTS_PER_ORDER if slug == "big" else 0)
        print(f"   {slug}: {seeded}", flush=True)
        figures["stores"][slug] = {"id": store.pk, **seeded}
    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute("VACUUM ANALYZE")
        figures["vacuum_seconds"] = round(time.monotonic() - started, 1)
    for slug, _ in STORES:
        from stores.models import Store

        started = time.monotonic()
        days = metrics_rebuild(store=Store.objects.get(slug=slug))
        figures["stores"][slug]["rebuild"] = {"days": days, "seconds": round(time.monotonic() - started, 1)}
        print(f"   rebuild_metrics {slug}: {days} days in {figures['stores'][slug]['rebuild']['seconds']} s",
              flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_storeday, analytics_productday")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        figures["database_size"] = cursor.fetchone()[0]
    from stores.models import Store

    figures["key"] = api_key_create(store=Store.objects.get(slug="big"), name="bench", scopes=[])[1]
    figures["session"] = _admin_session(owner)
    _write(folder, "seed", figures)


def _admin_session(user) -> str:
    """A signed-in admin session for ``user`` (what the login form would store), for the admin index's latency."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


# --- in-process ---------------------------------------------------------------------------------------------------
def inprocess(folder: Path) -> None:
    """The big store's 30-day dashboard computed in-process (no HTTP, no answer cache): its statements (kept for the
    floor), their count and the wall time, median of 20."""
    _django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analytics.selectors import dashboard, dashboard_period
    from analytics.serializers import dashboard_dict
    from stores.models import Store

    store = Store.objects.get(slug="big")
    result = {}
    for period in PERIODS:
        since, until = dashboard_period(store=store, period=period)
        with CaptureQueriesContext(connection) as captured:
            dashboard_dict(dashboard(store=store, since=since, until=until))
        times = []
        for _ in range(20):
            started = time.perf_counter()
            dashboard_dict(dashboard(store=store, since=since, until=until))
            times.append(time.perf_counter() - started)
        result[period] = {"statements": len(captured.captured_queries), **_latencies(times),
                          "sql": [query["sql"] for query in captured.captured_queries]}
        print(f"   {period}: {len(captured.captured_queries)} statements, median {result[period]['p50']} ms",
              flush=True)
    _write(folder, "inprocess", result)


# --- over HTTP ------------------------------------------------------------------------------------------------------
def latency(folder: Path, url: str, label: str, clients: int = 1) -> None:
    """REQUESTS GET dashboard?period=… per period, from ``clients`` keep-alive connections at a time; the first
    answer of each period is timed on its own (a cold cache's miss). A label starting with "admin": the admin index
    (/admin/?store=big&period=…, the same figures in the page, signed in as the store's owner) instead."""
    parts = urlsplit(url)
    seeded = _read(folder, "seed")
    admin = label.startswith("admin")
    headers = {"Cookie": f"sessionid={seeded['session']}"} if admin else {"X-API-Key": seeded["key"]}
    result = {}

    def fetch(connection, path):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
        return time.perf_counter() - started

    for period in PERIODS:
        path = f"/admin/?store=big&period={period}" if admin else f"/api/v1/stores/big/dashboard?period={period}"
        first = fetch(http.client.HTTPConnection(parts.hostname, parts.port, timeout=60), path)

        def worker(_index, path=path):
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            return [fetch(connection, path) for _ in range(REQUESTS // clients)]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            times = [value for values in pool.map(worker, range(clients)) for value in values]
        elapsed = time.perf_counter() - started
        result[period] = {**_latencies(times), "first_ms": round(first * 1000, 1),
                          "per_second": round(len(times) / elapsed, 1), "clients": clients}
        print(f"   {label} {period} ×{clients}: {result[period]}", flush=True)
    _write(folder, f"latency-{label}-{clients}", result)


# --- the floor ------------------------------------------------------------------------------------------------------
def _pgbench(folder: Path, name: str, statements: list[str], seconds: int = 10) -> dict:
    """Runs ``statements`` as one pgbench transaction script from one client for ``seconds``: p50/p95."""
    script = folder / f"{name}.sql"
    script.write_text("".join(re.sub(r"\s+", " ", sql).strip() + ";\n" for sql in statements))
    prefix = folder / f"pgbench-{name}"
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-f", str(script), "-T", str(seconds),
                    "-c", "1", "-j", "1", "-l", f"--log-prefix={prefix}", database], check=True,
                   capture_output=True, cwd=folder)
    times = []
    for log in folder.glob(f"pgbench-{name}.*"):
        times += [int(line.split()[2]) / 1e6 for line in log.read_text().splitlines()]
        log.unlink()
    return _latencies(times)


def floor(folder: Path) -> None:
    """Two floors in psql's own terms (pgbench, one client, no Django):
    - rollup: the statements the 30-day dashboard ran in-process, replayed raw: what our design costs the database;
    - raw: the same figures aggregated straight from the orders, lines and events (no rollups): the 30 days'
      revenue, orders and status counts by day, the previous 30 days, the top products and the sessions."""
    _django()
    from stores.models import Store

    store = Store.objects.get(slug="big")
    captured = _read(folder, "inprocess")
    result = {}
    for period in PERIODS:
        result[f"rollup {period}"] = _pgbench(folder, f"rollup-{period}", captured[period]["sql"])
        print(f"   rollup {period}: {result[f'rollup {period}']}", flush=True)
    for period, days in (("7d", 7), ("30d", 30), ("90d", 90)):
        local = f"(created_at AT TIME ZONE '{TIMEZONE}')"
        since = f"(date_trunc('day', now() AT TIME ZONE '{TIMEZONE}') - interval '{2 * days - 1} days') " \
                f"AT TIME ZONE '{TIMEZONE}'"
        split = f"(date_trunc('day', now() AT TIME ZONE '{TIMEZONE}') - interval '{days - 1} days') " \
                f"AT TIME ZONE '{TIMEZONE}'"
        raw = [
            f"SELECT {local}::date AS day, status, count(*), count(*) FILTER (WHERE payment_status IN ('paid', "
            f"'partially_refunded')), sum(total) FILTER (WHERE payment_status IN ('paid', 'partially_refunded')) "
            f"FROM orders_order WHERE store_id = {store.pk} AND created_at >= {since} GROUP BY 1, 2",
            f"SELECT {local}::date, sum(p.refunded_amount) FROM orders_order o JOIN payments_payment p ON "
            f"p.order_id = o.id WHERE o.store_id = {store.pk} AND o.created_at >= {since} AND o.payment_status = "
            f"'partially_refunded' GROUP BY 1".replace("created_at AT", "o.created_at AT"),
            f"SELECT l.product_id, sum(l.quantity), sum(l.line_total) AS revenue, max(l.product_name) FROM "
            f"orders_orderline l JOIN orders_order o ON o.id = l.order_id WHERE o.store_id = {store.pk} AND "
            f"o.created_at >= {split} AND o.payment_status IN ('paid', 'partially_refunded') GROUP BY 1 "
            f"ORDER BY revenue DESC LIMIT 10",
            f"SELECT (occurred_at AT TIME ZONE '{TIMEZONE}')::date, count(DISTINCT session_id), count(DISTINCT "
            f"session_id) FILTER (WHERE type = 'purchase') FROM analytics_event WHERE store_id = {store.pk} AND "
            f"occurred_at >= {since} GROUP BY 1",
        ]
        result[f"raw {period}"] = _pgbench(folder, f"raw-{period}", raw, seconds=20)
        print(f"   raw {period}: {result[f'raw {period}']}", flush=True)
    _write(folder, "floor", result)


# --- exports' memory ------------------------------------------------------------------------------------------------
def export_rss(folder: Path, slug: str, kind: str, worker: bool = False) -> None:
    """Peak resident memory of this process while it exports the store's ``kind`` as CSV: streamed to /dev/null
    through the response's generator, or (``worker``) written to the exports storage by the Celery task's service."""
    _django()
    from django.db import connection

    from analytics.exports import ExportStream
    from analytics.models import Export
    from analytics.services import export_run
    from stores.models import Store

    store = Store.objects.get(slug=slug)
    connection.ensure_connection()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    if worker:
        export = Export.objects.create(store=store, type=kind, format="csv")
        export = export_run(export_id=export.pk)
        rows = export.rows
    else:
        stream = ExportStream(store=store, type=kind, format="csv")
        with open(os.devnull, "w") as sink:
            for piece in stream:
                sink.write(piece)
        rows = stream.rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"store": slug, "type": kind, "path": "worker" if worker else "stream", "rows": rows,
              "seconds": round(time.monotonic() - started, 1), "rss_before_mb": round(before, 1),
              "rss_peak_mb": round(peak, 1)}
    print(f"   {result}", flush=True)
    _write(folder, f"rss-{slug}-{kind}-{result['path']}", result)


# --- report ---------------------------------------------------------------------------------------------------------
def report(folder: Path) -> None:
    seed_figures = _read(folder, "seed")
    big = seed_figures["stores"]["big"]
    print(f"== seed: big {big['orders']:,} orders, {big['lines']:,} lines, {big['payments']:,} payments, "
          f"{big['events']:,} events in {big['seconds']} s; rebuild_metrics {big['rebuild']['days']} days in "
          f"{big['rebuild']['seconds']} s; database {seed_figures['database_size']}")
    inproc = _read(folder, "inprocess")
    floor_figures = _read(folder, "floor")
    print("| page | period | set-up | clients | p50 ms | p95 ms | first ms | req/s | target p95 < 200 ms |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for path in sorted(folder.glob("latency-*.json")):
        _, label, clients = path.stem.split("-")
        page, setup = ("admin index", label.removeprefix("admin_")) if label.startswith("admin") else ("API", label)
        for period, row in json.loads(path.read_text()).items():
            verdict = "met" if row["p95"] < TARGET_P95_MS else "**missed**"
            print(f"| {page} | {period} | {setup} | {clients} | {row['p50']} | {row['p95']} | {row['first_ms']} | "
                  f"{row['per_second']} | {verdict} |")
    print("| period | statements | in-process median ms | floor (its SQL in pgbench) p50 / p95 ms | "
          "raw aggregate from the orders p50 / p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for period in PERIODS:
        rolled, raw = floor_figures[f"rollup {period}"], floor_figures[f"raw {period}"]
        print(f"| {period} | {inproc[period]['statements']} | {inproc[period]['p50']} | {rolled['p50']} / "
              f"{rolled['p95']} | {raw['p50']} / {raw['p95']} |")
    for path in sorted(folder.glob("rss-*.json")):
        row = json.loads(path.read_text())
        print(f"   export {row['type']} of {row['store']} ({row['rows']:,} rows, {row['path']}): peak RSS "
              f"{row['rss_peak_mb']} MB (before: {row['rss_before_mb']} MB), {row['seconds']} s")


if __name__ == "__main__":
    step, directory, *rest = sys.argv[1:]
    out = Path(directory)
    if step == "seed":
        seed(out, int(rest[0]))
    elif step == "inprocess":
        inprocess(out)
    elif step == "latency":
        latency(out, rest[0], rest[1], int(rest[2]) if len(rest) > 2 else 1)
    elif step == "floor":
        floor(out)
    elif step == "export_rss":
        export_rss(out, rest[0], rest[1], len(rest) > 2 and rest[2] == "worker")
    elif step == "report":
        report(out)
    else:
        raise SystemExit(__doc__)
