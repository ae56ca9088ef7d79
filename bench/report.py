"""Reads bench/run.sh's result lines ("mode endpoint {wrk json}") and prints the table."""

import json
import sys

TARGETS = {
    # (mode, endpoint): (floor, fraction)
    ("warm", "list"): ("static", 0.70),
    ("warm", "detail"): ("static", 0.70),
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
            if not endpoint.startswith("floor"):
                order.append((mode, endpoint))
    print(f"{'mode':7} {'endpoint':12} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'err':>4} "
          f"{'static':>7} {'query':>6} {'÷static':>8} {'÷query':>7}  targets")
    for mode, endpoint in order:
        row = results[(mode, endpoint)]
        static = results.get((mode, f"floor-static:{endpoint}"), {}).get("rps")
        query = results.get((mode, f"floor-query:{endpoint}"), {}).get("rps")
        notes = []
        if (mode, endpoint) in TARGETS:
            floor, wanted = TARGETS[(mode, endpoint)]
            got = row["rps"] / (static if floor == "static" else query)
            notes.append(f"≥{wanted:.0%} of {floor}: {'met' if got >= wanted else 'MISSED'}")
        if endpoint.startswith("search"):
            notes.append(f"p95<50ms: {'met' if row['p95'] < 50 else 'MISSED'}")
        notes.append(f"p99<100ms: {'met' if row['p99'] < 100 else 'MISSED'}")
        errors = row["errors"] + row["non2xx"]
        print(f"{mode:7} {endpoint:12} {row['rps']:7.0f} {row['p50']:7.1f} {row['p95']:7.1f} {row['p99']:7.1f} "
              f"{errors:4d} {static or 0:7.0f} {query or 0:6.0f} {fraction(row['rps'], static):>8} "
              f"{fraction(row['rps'], query):>7}  {'; '.join(notes)}")


def fraction(rps: float, floor: float | None) -> str:
    return f"{rps / floor:.0%}" if floor else "-"


if __name__ == "__main__":
    main(sys.argv[1])
