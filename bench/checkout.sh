#!/usr/bin/env bash
# The checkout benchmark, one command: bench/checkout.sh
#
# Creates a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres, dropped on exit),
# migrates, seeds a store with 1,000 products (plenty of stock) and one hot product whose stock
# runs out part-way through the run (bench/checkout.py seed), counts the SQL statements of one
# checkout request for carts of 1, 5 and 20 lines, then serves the app with gunicorn as in
# production (BENCH_WORKERS sync workers, 4 by default: a checkout waits on PostgreSQL for about
# half its time, so 2 cores keep busy with 4; DEBUG off, persistent connections, Redis as the
# Celery broker and cache, no Celery worker running: the fan-out waits in its queue) and drives it
# from BENCH_CLIENTS concurrent buyers (Python, 4 processes) in two phases:
#   carts     BENCH_CARTS buyers each create a cart and add 2 products (a quarter add the hot one too)
#   checkout  every cart is checked out with cash on delivery (an Idempotency-Key each)
# and prints checkouts/s and orders/s, p50/p95/p99 of the checkout request and the answers. Then,
# server stopped: the correctness line (on hand, reserved, orders, lines and movements add up,
# nothing oversold) and the raw-SQL floor: one checkout request's statements captured in-process
# and replayed through psycopg, in its transactions, with fresh carts, keys and ids, from the same
# number of clients; checkout throughput is reported as a fraction of it.
# Never part of the test suite. About 2 minutes with the defaults. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
CARTS=${BENCH_CARTS:-3000}
CLIENTS=${BENCH_CLIENTS:-32}
WORKERS=${BENCH_WORKERS:-4}
PORT=${BENCH_PORT:-8078}
DB="bench_checkout_$$"
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/9}
PREFIX="benchcheckout$$"
OUT=$(mktemp -d /tmp/bench-checkout.XXXXXX)
SERVER_PID=""

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    redis-cli -u "$REDIS" --scan --pattern "*$PREFIX*" 2>/dev/null | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
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
export CELERY_TASK_DEFAULT_QUEUE="$PREFIX"  # the tasks wait there (no worker) and go with the cleanup
export LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version'), $(redis-cli -u "$REDIS" INFO server | grep redis_version | tr -d '\r'); database $DB"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
"$PY" manage.py migrate -v 0
echo "== seed"
"$PY" -m bench.checkout seed "$OUT" "$CARTS"
echo "== queries per checkout (in-process, Django's test client)"
"$PY" -m bench.checkout queries "$OUT"

echo "== gunicorn: $WORKERS sync workers; $CLIENTS concurrent buyers"
"$ROOT/.venv/bin/gunicorn" config.wsgi:application --workers "$WORKERS" --worker-class sync \
    --bind "127.0.0.1:$PORT" --backlog 2048 --log-level warning --access-logfile /dev/null >"$OUT/gunicorn.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/stores/bench/products" && break
    sleep 0.1
done
for _ in $(seq $((WORKERS * 4))); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/stores/bench/products"; done
"$PY" -m bench.checkout drive "$OUT" "http://127.0.0.1:$PORT" "$CLIENTS"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
if grep -q "Traceback" "$OUT/gunicorn.log"; then echo "   the server logged errors:"; tail -40 "$OUT/gunicorn.log"; fi

echo "== correctness"
"$PY" -m bench.checkout verify "$OUT"
echo "== raw-SQL floor"
"$PY" -m bench.checkout floor "$OUT" "$CLIENTS"
echo
"$PY" -m bench.checkout report "$OUT"
