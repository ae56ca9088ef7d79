"""Reads bench/run.sh's result lines ("mode endpoint {wrk json}") and prints the table."""

import json
import sys

TARGETS = {
    # (mode, endpoint): (floor, fraction)
    ("warm", "list"): ("static", 0.70),
    ("warm", "detail"): ("static", 0.70),
    ("local", "list"): ("static", 0.70),
    ("local", "detail"): ("static", 0.70),
    ("cold", "list"): ("query", 0.35),
    ("cold", "detail"): ("query", 0.45),
}


def main(path: str) -> None:
    results: dict[tuple[str, str], dict] = {}
    order: list[tuple[str, str]] = []
    with open(path) as lines:
        for line in lines:
            mode, endpoint, raw = line.split(" ", 2)
            results[(mode, endpoint)] = json.loads(raw)
            order.append((mode, endpoint))
    print(f"{'mode':5} {'endpoint':12} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'/static':>8} {'/query':>7}  target")
    for mode, endpoint in order:
        row = results[(mode, endpoint)]
        static = results.get((mode, "floor-static"), {}).get("rps")
        query = results.get((mode, "floor-query"), {}).get("rps")
        fraction_static = f"{row['rps'] / static:.0%}" if static else "-"
        fraction_query = f"{row['rps'] / query:.0%}" if query else "-"
        target = ""
        if (mode, endpoint) in TARGETS:
            floor, wanted = TARGETS[(mode, endpoint)]
            got = row["rps"] / (static if floor == "static" else query)
            target = f"≥{wanted:.0%} of {floor}: {'met' if got >= wanted else 'MISSED'}"
        if endpoint == "search" and row["p95"] >= 50:
            target += " p95<50ms: MISSED"
        if not endpoint.startswith("floor") and row["p99"] >= 100:
            target += " p99<100ms: MISSED"
        errors = row["errors"] + row["non2xx"]
        print(f"{mode:5} {endpoint:12} {row['rps']:8.0f} {row['p50']:7.2f} {row['p95']:7.2f} {row['p99']:7.2f} "
              f"{errors:6d} {fraction_static:>8} {fraction_query:>7}  {target}")


if __name__ == "__main__":
    main(sys.argv[1])
