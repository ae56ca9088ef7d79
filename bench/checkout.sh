#!/usr/bin/env bash
# The checkout benchmark, one command: bench/checkout.sh
#
# Creates a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres, dropped on exit),
# migrates, seeds a store with 1,000 products (plenty of stock) and one hot product whose stock
# runs out part-way through the checkouts (bench/checkout.py seed), then:
#   in-process  one checkout request through Django's test client: its SQL statements for carts of
#               1, 5 and 20 lines (must be equal), its wall and CPU cost, where that CPU goes (cProfile)
#   carts       gunicorn as in production (BENCH_WORKERS sync workers, DEBUG off, persistent
#               connections, Redis as cache and Celery broker with no worker running: the fan-out
#               waits in its queue and goes with the cleanup); BENCH_CARTS buyers, BENCH_CLIENTS at a
#               time (Python, 4 processes), each create a cart and add 2 products, a quarter the hot one too
#   checkout    every cart checked out with cash on delivery (an Idempotency-Key each): checkouts/s,
#               orders/s, p50/p95/p99, the answers, when the hot product sold out
#   latency     300 more buyers at one client per worker: a checkout's own latency, without queueing
#   verify      (server stopped) on hand, reserved, orders, lines, payments and movements add up;
#               nothing oversold
#   floor       the statements of one checkout request captured in-process and replayed raw through
#               psycopg, in its transaction, with fresh carts, keys and ids, from BENCH_CLIENTS
#               connections, for as many carts of the same shapes: the database's floor; checkout
#               throughput is reported as a fraction of it
# 4 workers: a checkout is mostly Python on the CPU (about 21 of its 30 ms in-process), so 2 cores
# are kept busy by 4 workers while some wait on PostgreSQL; 6 and 8 measured slower (docs/PERFORMANCE.md).
# Never part of the test suite. About 3 minutes with the defaults. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
CARTS=${BENCH_CARTS:-2000}
CLIENTS=${BENCH_CLIENTS:-32}
WORKERS=${BENCH_WORKERS:-4}
WORKER_CLASS=${BENCH_WORKER_CLASS:-sync}  # or gthread, with BENCH_THREADS threads per worker
THREADS=${BENCH_THREADS:-1}
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
echo "== one checkout in-process (Django's test client): statements, cost, where the CPU goes"
"$PY" -m bench.checkout queries "$OUT"
"$PY" -m bench.checkout profile "$OUT"

echo "== over HTTP: gunicorn with $WORKERS $WORKER_CLASS workers ($THREADS thread(s) each); $CARTS buyers, $CLIENTS at a time"
"$ROOT/.venv/bin/gunicorn" config.wsgi:application -c config/gunicorn.py --workers "$WORKERS" --worker-class "$WORKER_CLASS" --threads "$THREADS" \
    --bind "127.0.0.1:$PORT" --backlog 2048 --log-level warning --access-logfile /dev/null >"$OUT/gunicorn.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/stores/bench/products" && break
    sleep 0.1
done
for _ in $(seq $((WORKERS * 4))); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/stores/bench/products"; done
BENCH_SERVER_PID=$SERVER_PID "$PY" -m bench.checkout drive "$OUT" "http://127.0.0.1:$PORT" "$CLIENTS"
"$PY" -m bench.checkout latency "$OUT" "http://127.0.0.1:$PORT" "$WORKERS"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
if grep -q "Traceback" "$OUT/gunicorn.log"; then echo "   the server logged errors:"; tail -40 "$OUT/gunicorn.log"; fi

echo "== correctness"
"$PY" -m bench.checkout verify "$OUT"
echo "== raw-SQL floor"
"$PY" -m bench.checkout floor "$OUT" "$CLIENTS"
echo
"$PY" -m bench.checkout report "$OUT"
echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
