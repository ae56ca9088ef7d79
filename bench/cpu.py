"""Supplement to bench/run.sh and bench/storefront.sh: per-request cost inside one process, no HTTP, no concurrency.

On a shared machine wrk's requests/s drift with other people's load; the CPU time one request costs drifts much
less. For the floors and each endpoint: wall and CPU milliseconds per request of this (Django) process
(time.process_time), the CPU the PostgreSQL backend serving it spent (its /proc/<pid>/stat: the server runs on
this host), the statements sent (execute calls; a multi-statement execute is one), and the bound those CPU costs
put on requests per second on this machine's cores (cores ÷ (Django CPU + backend CPU)): no HTTP server, no load
generator, no waiting counted, so the real figure is lower, and an endpoint whose bound is below a target cannot
meet it here. Database and Redis time shows in wall time.

    python -m bench.cpu <store slug> <product id> [--json <file>]
        (DJANGO_SETTINGS_MODULE=bench.settings, BENCH_FLOORS=1)
"""

import json
import os
import sys
import time

import django

ROUNDS = 200


def backend_cpu(pid: int | None) -> float:
    """Seconds of CPU the PostgreSQL backend ``pid`` has used (0 when it is not on this host)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paths(store: str, product: str) -> dict[str, str]:
    base = f"/api/v1/stores/{store}"
    return {
        "floor-static": "/api/bench/floor/static?bytes=16300",
        "floor-query": f"/api/bench/floor/query?store={store}",
        "floor-deep": f"/api/bench/floor/query?store={store}&page=500",
        "floor-filtered": f"/api/bench/floor/filtered?store={store}",
        "floor-search": f"/api/bench/floor/search?store={store}&q=classic%20tee",
        "list": f"{base}/products",
        "deep-page": f"{base}/products?page=500",
        "detail": f"{base}/products/{product}",
        "filtered": f"{base}/products?category=clothing&price_min=10&price_max=50",
        "search": f"{base}/search?q=classic%20tee",
        "suggestions": f"{base}/search/suggestions?q=cla",
    }


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def measure(client, path: str, rounds: int) -> dict:
    from django.db import connection

    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    for _ in range(10):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    pid = _backend_pid()
    with connection.execute_wrapper(count):
        wall, cpu, backend = time.perf_counter(), time.process_time(), backend_cpu(pid)
        for _ in range(rounds):
            client.get(path)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        backend = backend_cpu(pid) - backend
    assert _backend_pid() == pid, "the database connection was replaced while measuring (CONN_MAX_AGE=0?)"
    return {"wall": wall / rounds * 1000, "cpu": cpu / rounds * 1000, "backend": backend / rounds * 1000,
            "statements": statements[0] / rounds}


def main() -> None:
    django.setup()
    from django.test import Client

    store, product = sys.argv[1], sys.argv[2]
    out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    client = Client()
    cores = os.cpu_count() or 1
    costs = {name: measure(client, path, ROUNDS) for name, path in paths(store, product).items()}
    print(f"{'endpoint':14} {'wall ms':>8} {'cpu ms':>7} {'pg cpu ms':>9} {'stmts':>6} "
          f"{f'bound on {cores} cores':>18}")
    for name, cost in costs.items():
        total = cost["cpu"] + cost["backend"]
        cost["bound"] = cores * 1000 / total if total else None
        print(f"{name:14} {cost['wall']:8.2f} {cost['cpu']:7.2f} {cost['backend']:9.2f} {cost['statements']:6.1f} "
              f"{cost['bound'] or 0:14.0f} /s")
    if out:
        with open(out, "w") as file:
            json.dump({"cores": cores, "costs": costs}, file)


if __name__ == "__main__":
    main()
