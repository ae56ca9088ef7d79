#!/usr/bin/env bash
# The dashboard benchmark, one command: bench/dashboard.sh
#
# Creates a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres, dropped on exit), migrates and seeds
# with SQL (generate_series): a store "big" with BENCH_ORDERS orders (default 1,000,000) spread over a year in
# Tripoli time, with 1–3 lines and a payment each (paid, refunded, cancelled… by a hash), and 2 storefront events
# per order over its last 90 days; stores "mid" (100,000 orders) and "small" (10,000) for the exports. Then
# rebuild_metrics (timed) and VACUUM ANALYZE, and:
#   in-process  the big store's dashboard for 7, 30 and 90 days computed in Django (no HTTP, no answer cache):
#               statements and median time; its statements are kept for the floor
#   cold        gunicorn as in production (BENCH_WORKERS sync workers, DEBUG off, persistent connections, Redis),
#               ANALYTICS_DASHBOARD_CACHE_SECONDS=0: every request computes the dashboard from the rollups and
#               today's rows; 300 requests per period from 1 client, one per worker, and 4 (queueing); p50/p95, req/s
#               and the first answer
#   warm        the same with the answer cache as deployed (60 s): the first request computes, the rest hit Redis
#   admin index the same figures as the page /admin/?store=big&period=… (signed in as the owner), cold and warm,
#               from 1 client and one per worker
#   floor       pgbench, one client: (a) the dashboard's own statements replayed raw, the database's share of a
#               cold answer; (b) the same figures aggregated straight from orders, lines and events, no rollups:
#               what the rollups save
#   exports     peak RSS of a process exporting 10,000, 100,000 and BENCH_ORDERS orders as CSV (streamed), and
#               100,000 through the worker's path (written to the exports storage)
# Never part of the test suite. About 7 minutes with the defaults on 2 cores. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
ORDERS=${BENCH_ORDERS:-1000000}
WORKERS=${BENCH_WORKERS:-2}
PORT=${BENCH_PORT:-8079}
DB="bench_dashboard_$$"
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/7}
PREFIX="benchdash$$"
OUT=$(mktemp -d /tmp/bench-dashboard.XXXXXX)
SERVER_PID=""

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    redis-cli -u "$REDIS" --scan --pattern "$PREFIX:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
    rm -rf "$OUT/exports"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=bench.settings
export DEBUG=0
export SECRET_KEY="bench-secret-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export FIELD_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export CONN_MAX_AGE=600
export REDIS_URL="$REDIS"
export CACHE_KEY_PREFIX="$PREFIX"
export CELERY_TASK_DEFAULT_QUEUE="$PREFIX"
export EXPORTS_ROOT="$OUT/exports"
export LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version'), $(redis-cli -u "$REDIS" INFO server | grep redis_version | tr -d '\r'); database $DB; results in $OUT"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
"$PY" manage.py migrate -v 0
echo "== seed ($ORDERS orders in the big store)"
"$PY" -m bench.dashboard seed "$OUT" "$ORDERS"
echo "== in-process"
"$PY" -m bench.dashboard inprocess "$OUT"

KEY=$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['key'])" "$OUT/seed.json")
serve() {  # serve <answer cache seconds>
    ANALYTICS_DASHBOARD_CACHE_SECONDS=$1 "$ROOT/.venv/bin/gunicorn" config.wsgi:application --workers "$WORKERS" \
        --worker-class sync --bind "127.0.0.1:$PORT" --log-level warning --access-logfile /dev/null \
        >>"$OUT/gunicorn.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/health" && break
        sleep 0.1
    done
    # each worker's first request opens its connection and imports what it lazily needs: not measured
    for _ in $(seq $((WORKERS * 2))); do
        curl -fs -o /dev/null -H "X-API-Key: $KEY" "http://127.0.0.1:$PORT/api/v1/stores/big/dashboard?since=2020-01-01&until=2020-01-07"
    done
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

echo "== cold: no answer cache"
serve 0
for clients in 1 "$WORKERS" 4; do "$PY" -m bench.dashboard latency "$OUT" "http://127.0.0.1:$PORT" cold "$clients"; done
for clients in 1 "$WORKERS"; do "$PY" -m bench.dashboard latency "$OUT" "http://127.0.0.1:$PORT" admin_cold "$clients"; done
stop
echo "== warm: the answer cache as deployed (60 s)"
redis-cli -u "$REDIS" --scan --pattern "$PREFIX:*" | xargs -r redis-cli -u "$REDIS" del >/dev/null
serve 60
for clients in 1 "$WORKERS" 4; do "$PY" -m bench.dashboard latency "$OUT" "http://127.0.0.1:$PORT" warm "$clients"; done
for clients in 1 "$WORKERS"; do "$PY" -m bench.dashboard latency "$OUT" "http://127.0.0.1:$PORT" admin_warm "$clients"; done
stop
if grep -q "Traceback" "$OUT/gunicorn.log"; then echo "   the server logged errors:"; tail -40 "$OUT/gunicorn.log"; fi

echo "== floor (pgbench)"
"$PY" -m bench.dashboard floor "$OUT"
echo "== exports' memory"
"$PY" -m bench.dashboard export_rss "$OUT" small orders
"$PY" -m bench.dashboard export_rss "$OUT" mid orders
"$PY" -m bench.dashboard export_rss "$OUT" mid orders worker
"$PY" -m bench.dashboard export_rss "$OUT" mid customers
"$PY" -m bench.dashboard export_rss "$OUT" big orders
echo
"$PY" -m bench.dashboard report "$OUT"
echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
