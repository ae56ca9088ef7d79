"""Supplement to bench/run.sh: per-request cost inside one process, no HTTP, no concurrency.

On a shared machine wrk's requests/s drift with other people's load; the CPU time one
request costs the Django process (time.process_time) drifts much less. Prints wall and
CPU milliseconds per request for the floors and the endpoints, and each endpoint's CPU
relative to the floors. Database and Redis time shows in wall time only.

    python -m bench.cpu <store slug> <product id>    (DJANGO_SETTINGS_MODULE=bench.settings, BENCH_FLOORS=1)
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from django.test import Client

    store, product = sys.argv[1], sys.argv[2]
    base = f"/api/v1/stores/{store}"
    paths = {
        "floor-static": "/api/bench/floor/static?bytes=16300",
        "floor-query": f"/api/bench/floor/query?store={store}",
        "list": f"{base}/products",
        "deep-page": f"{base}/products?page=500",
        "detail": f"{base}/products/{product}",
        "filtered": f"{base}/products?category=clothing&price_min=10&price_max=50",
        "search": f"{base}/search?q=classic%20tee",
        "suggestions": f"{base}/search/suggestions?q=cla",
    }
    client = Client()
    costs = {}
    for name, path in paths.items():
        for _ in range(10):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        rounds = 200
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            client.get(path)
        costs[name] = ((time.perf_counter() - wall) / rounds * 1000, (time.process_time() - cpu) / rounds * 1000)
    static_cpu, query_wall = costs["floor-static"][1], costs["floor-query"][0]
    print(f"{'endpoint':12} {'wall ms':>8} {'cpu ms':>7} {'static cpu ÷ cpu':>17} {'query wall ÷ wall':>18}")
    for name, (wall, cpu) in costs.items():
        print(f"{name:12} {wall:8.2f} {cpu:7.2f} {static_cpu / cpu:17.0%} {query_wall / wall:18.0%}")


if __name__ == "__main__":
    main()
