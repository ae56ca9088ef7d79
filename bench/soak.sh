#!/usr/bin/env bash
# The soak, one command: bench/soak.sh   (on a shared machine: flock /tmp/bench.lock bench/soak.sh)
#
# Everything as in production, on loopback: a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres,
# dropped on exit), Redis (BENCH_REDIS_URL, default db 10) as cache and Celery broker, gunicorn serving
# config.wsgi (SOAK_WORKERS sync workers, DEBUG off, persistent connections), a real Celery worker
# (SOAK_CELERY_CONCURRENCY processes, acks late as configured) and Celery beat. The store and its products are
# bench/checkout.py's (1,000 products with plenty of stock, one hot product that sells out part-way); the store
# takes cash on delivery and Kashier. Then SOAK_CLIENTS buyers for SOAK_SECONDS, each drawing its next action:
#   browse   80 %  a product page (list), a product, or a search
#   cart     15 %  a cart with 1-3 products, read back, abandoned
#   checkout  5 %  a cart with 2 products (a quarter the hot one too), checked out: 40 % cash on delivery,
#                  60 % Kashier, whose signed server webhook then arrives (90 % paid, 10 % declined; 15 % of them
#                  twice, as the gateway retries) and is applied by the Celery worker
# It prints throughput (and by tenth of the run), p50/p99 per kind, the error rate (5xx, no answer, or a 4xx other
# than the OUT_OF_STOCK the hot product provokes), the RSS of every gunicorn worker and Celery process at boot,
# after the warm-up (10 % of the run, at most 60 s) and at the end (growth beyond 10 % fails), and, once the
# worker has drained the queue and the server is stopped, the correctness line: stock on hand and reserved =
# their movements, orders = 201 answers with one payment each for its total, order lines = reserve movements,
# nothing oversold, every webhook stored once and applied once. Exits non-zero when any of these misses.
# Before and after the load the same clients ask bench/floors.py's static view (a 16 KB JSON body, no database) for
# SOAK_FLOOR_SECONDS: the soak's requests/s is also given as a fraction of that floor (the CPU on offer drifts).
# The throttles are off (bench/settings.py: every buyer comes from 127.0.0.1); emails go nowhere (dummy backend).
# Never part of the test suite. SOAK_SECONDS=60 while developing; the figures: docs/PERFORMANCE.md "Soak".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
SECONDS_RUN=${SOAK_SECONDS:-600}
CLIENTS=${SOAK_CLIENTS:-8}
WORKERS=${SOAK_WORKERS:-4}
CONCURRENCY=${SOAK_CELERY_CONCURRENCY:-2}
PORT=${SOAK_PORT:-8083}  # the other benchmarks use 8077-8079
FLOOR_SECONDS=${SOAK_FLOOR_SECONDS:-10}
DB="bench_soak_$$"
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/10}
PREFIX="benchsoak$$"
OUT=$(mktemp -d /tmp/bench-soak.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
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
export CELERY_TASK_DEFAULT_QUEUE="$PREFIX"  # this run's own queue on the shared Redis
export PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
export EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
export FRAUD_MAX_FAILED_PER_IP=0  # every buyer is 127.0.0.1: its declined cards would block the others' card checkouts
export BENCH_FLOORS=1  # mounts bench/floors.py's static view: the floor measured before and after the load
export LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version'), $(redis-cli -u "$REDIS" INFO server | grep redis_version | tr -d '\r'); database $DB, queue $PREFIX; results in $OUT"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
"$PY" manage.py migrate -v 0
echo "== seed"
"$PY" -m bench.checkout seed "$OUT" "$((SECONDS_RUN / 2))"  # the hot product sized to sell out part-way
"$PY" -m bench.soak setup "$OUT"

echo "== gunicorn ($WORKERS sync workers), a Celery worker ($CONCURRENCY processes), beat"
"$ROOT/.venv/bin/gunicorn" config.wsgi:application -c config/gunicorn.py --workers "$WORKERS" --bind "127.0.0.1:$PORT" --backlog 2048 \
    --timeout 30 --log-level warning --access-logfile /dev/null >"$OUT/gunicorn.log" 2>&1 &
GUNICORN=$!; PIDS+=("$GUNICORN")
"$ROOT/.venv/bin/celery" -A config worker --concurrency "$CONCURRENCY" --queues "$PREFIX" --loglevel WARNING \
    --without-gossip --without-mingle >"$OUT/worker.log" 2>&1 &
WORKER=$!; PIDS+=("$WORKER")
"$ROOT/.venv/bin/celery" -A config beat --schedule "$OUT/beat-schedule" --loglevel WARNING >"$OUT/beat.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/health" && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/api/health"; echo
for _ in $(seq $((WORKERS * 4))); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/v1/stores/bench/products"; done

"$PY" -m bench.soak floor "$OUT" "http://127.0.0.1:$PORT" "$CLIENTS" "$FLOOR_SECONDS" before
echo "== load: $CLIENTS clients for $SECONDS_RUN s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$PY" -m bench.soak drive "$OUT" "http://127.0.0.1:$PORT" "$CLIENTS" "$SECONDS_RUN" "$GUNICORN" "$WORKER"
echo "   load average at the end of the load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" -m bench.soak floor "$OUT" "http://127.0.0.1:$PORT" "$CLIENTS" "$FLOOR_SECONDS" after
"$PY" -m bench.soak drain "$OUT"
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()
for log in gunicorn worker beat; do
    if grep -q "Traceback\|ERROR" "$OUT/$log.log"; then echo "   the $log logged errors:"; grep -m 20 -B2 -A8 "Traceback\|ERROR" "$OUT/$log.log"; fi
done

echo "== correctness"
"$PY" -m bench.soak verify "$OUT"
echo
"$PY" -m bench.soak report "$OUT"
