"""Where a cached catalog read's time goes with REDIS_URL: Redis round trips and cost per request.

In one process (Django's test client, no HTTP, no concurrency), against the database and Redis the
environment names, with the throttles on as deployed (their rates from THROTTLE_RATES: set them high
enough that nothing is refused). For the static floor, an anonymous list page answered by the
per-worker micro-cache, and the same page asked of Redis on every hit (CATALOG_CACHE_LOCAL_MS=0,
"strict"): Redis round trips per request (calls that send to a Redis socket: a pipeline is one), wall
and CPU milliseconds per request.

    DJANGO_SETTINGS_MODULE=config.settings DEBUG=0 BENCH_FLOORS=1 REDIS_URL=… DATABASE_URL=… \\
        THROTTLE_RATES=anon=100000000/min,user=100000000/min python -m bench.cached_hit <store slug> [rounds]
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from django.conf import settings
    from django.test import Client
    from redis.connection import Connection

    store = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    trips = [0]
    send = Connection.send_packed_command

    def counted(self, *args, **kwargs):
        trips[0] += 1
        return send(self, *args, **kwargs)

    Connection.send_packed_command = counted
    client = Client()
    paths = {"floor static": "/api/bench/floor/static?bytes=16300", "list hit": f"/api/v1/stores/{store}/products"}
    print(f"{'request':22} {'round trips':>11} {'wall ms':>8} {'cpu ms':>7}")
    for local_ms in (settings.CATALOG_CACHE_LOCAL_MS, 0):
        settings.CATALOG_CACHE_LOCAL_MS = local_ms
        for name, path in paths.items():
            if name.startswith("floor") and local_ms == 0:
                continue
            for _ in range(20):
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            trips[0] = 0
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(rounds):
                client.get(path)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            label = name if name.startswith("floor") else f"{name} ({'micro' if local_ms else 'strict'})"
            print(f"{label:22} {trips[0] / rounds:11.2f} {wall / rounds * 1000:8.3f} {cpu / rounds * 1000:7.3f}")


if __name__ == "__main__":
    main()
