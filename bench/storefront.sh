#!/usr/bin/env bash
# The storefront benchmark (issue 17), one command: flock /tmp/bench.lock bench/storefront.sh
#
# Creates a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres, dropped on exit), migrates, seeds
# BENCH_PRODUCTS published products (COPY, bench/storefront.py seed) with a shipping method and HOT products from
# the list's first page, serves the app with gunicorn as in production (2 sync workers, persistent connections,
# DEBUG off, Redis) and drives it with wrk from another process: each endpoint for BENCH_SECONDS at
# BENCH_CONNECTIONS connections, right after the two floors (bench/floors.py: a fixed JSON body; one SQL statement),
# in these set-ups (BENCH_MODES):
#   cold     page cache and cached totals off (CATALOG_CACHE_SECONDS=0, CATALOG_COUNT_CACHE_SECONDS=0)
#   warm     the caches as deployed (300 s, the per-worker micro-cache CATALOG_CACHE_LOCAL_MS=250)
#   selling  warm, while buyers check out hot products at BENCH_ORDERS_PER_SECOND (20) in the background over HTTP
#            (cart, 1-2 items, checkout with cash on delivery) for the whole set-up, floors included
#   strict   (not by default) warm with CATALOG_CACHE_LOCAL_MS=0: every hit asks Redis
# Prints req/s, p50/p95/p99, the share of answers the page cache served (X-Cache: hit), and every target of
# issue 17 with its ratio and met/MISSED; then (BENCH_FASTPATHS=1, the default) bench/fastpaths.py: what each fast
# path buys over the plain code, in-process. About 8 minutes with the defaults. Figures: docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
PRODUCTS=${BENCH_PRODUCTS:-100000}
SECONDS_EACH=${BENCH_SECONDS:-8}
FLOOR_SECONDS=${BENCH_FLOOR_SECONDS:-4}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
MODES=${BENCH_MODES:-"cold warm selling"}
RATE=${BENCH_ORDERS_PER_SECOND:-20}
PORT=${BENCH_PORT:-8079}
DB="bench_storefront_$$"
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/7}
PREFIX="benchsf$$"
OUT=$(mktemp -d /tmp/bench-storefront.XXXXXX)
RESULTS="$OUT/results.txt"
SERVER_PID=""
SELL_PID=""

if ! command -v wrk >/dev/null; then
    echo "== installing wrk"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cleanup() {
    touch "$OUT/stop"
    if [ -n "$SELL_PID" ]; then wait "$SELL_PID" 2>/dev/null || true; fi
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
export CACHE_KEY_PREFIX="$PREFIX"
export CELERY_TASK_DEFAULT_QUEUE="$PREFIX"  # the orders' fan-out tasks wait there (no worker) and go with the cleanup
export BENCH_FLOORS=1
export LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version'), $(redis-cli -u "$REDIS" INFO server | grep redis_version | tr -d '\r'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); database $DB"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
"$PY" manage.py migrate -v 0
echo "== seeding $PRODUCTS products"
SEED=$(REDIS_URL="$REDIS" "$PY" -m bench.storefront seed "$OUT" "$PRODUCTS" | tail -1)
field() { echo "$SEED" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
STORE=$(field store)
PRODUCT=$(field product)
BASE="http://127.0.0.1:$PORT/api/v1/stores/$STORE"

declare -A URLS=(
    [list]="$BASE/products"
    [deep-page]="$BASE/products?page=500"
    [detail]="$BASE/products/$PRODUCT"
    [filtered]="$BASE/products?category=clothing&price_min=10&price_max=50"
    [search]="$BASE/search?q=classic%20tee"
    [suggestions]="$BASE/search/suggestions?q=cla"
)
ENDPOINTS=${BENCH_ENDPOINTS:-"list deep-page detail filtered search suggestions"}
# cold only, right after the two floors: the least one statement doing the endpoint's own work costs (bench/floors.py),
# the yardstick of the targets' explanations
declare -A OWN_FLOORS=(
    [deep-page]="http://127.0.0.1:$PORT/api/bench/floor/query?store=$STORE&page=500"
    [filtered]="http://127.0.0.1:$PORT/api/bench/floor/filtered?store=$STORE"
    [search]="http://127.0.0.1:$PORT/api/bench/floor/search?store=$STORE&q=classic%20tee"
)

serve() {  # serve <env assignments...>
    env "$@" "$ROOT/.venv/bin/gunicorn" config.wsgi:application -c config/gunicorn.py --workers 2 --worker-class sync \
        --bind "127.0.0.1:$PORT" --log-level warning --access-logfile /dev/null >>"$OUT/gunicorn.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/bench/floor/static" && return 0
        sleep 0.1
    done
    echo "gunicorn did not start:"; cat "$OUT/gunicorn.log"; exit 1
}

stop() {
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

load() {  # load <mode> <name> <url>
    # every URL a few times first: caches (when on), connections, imports in both workers
    for _ in 1 2 3 4; do curl -fs -o /dev/null "$3"; done
    line=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 5s --latency -s bench/storefront.lua "$3" | tail -1)
    echo "$1 $2 $line" >>"$RESULTS"
    echo "   $1 $2 $line"
}

for mode in $MODES; do
    echo "== $mode"
    case $mode in
        cold) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=0 CATALOG_COUNT_CACHE_SECONDS=0 ;;
        warm|selling) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=250 ;;
        strict) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=0 ;;
        *) echo "unknown mode $mode"; exit 1 ;;
    esac
    SIZE=$(curl -fs "$BASE/products" | wc -c)
    if [ "$mode" = selling ]; then
        rm -f "$OUT/stop"
        "$PY" -m bench.storefront sell "$OUT" "http://127.0.0.1:$PORT" "$RATE" &
        SELL_PID=$!
        sleep 3  # the buyers' first carts and orders
    fi
    echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for name in $ENDPOINTS; do
        # the floors right before each endpoint: on a shared machine the available CPU drifts,
        # and a fraction is only meaningful against floors measured under the same conditions
        SECONDS_EACH=$FLOOR_SECONDS load "$mode" "floor-static:$name" \
            "http://127.0.0.1:$PORT/api/bench/floor/static?bytes=$SIZE"
        SECONDS_EACH=$FLOOR_SECONDS load "$mode" "floor-query:$name" \
            "http://127.0.0.1:$PORT/api/bench/floor/query?store=$STORE"
        if [ "$mode" = cold ] && [ -n "${OWN_FLOORS[$name]:-}" ]; then
            SECONDS_EACH=$FLOOR_SECONDS load "$mode" "floor-own:$name" "${OWN_FLOORS[$name]}"
        fi
        load "$mode" "$name" "${URLS[$name]}"
    done
    if [ -n "$SELL_PID" ]; then
        touch "$OUT/stop"; wait "$SELL_PID"; SELL_PID=""
    fi
    stop
done
if grep -q "Traceback" "$OUT/gunicorn.log"; then echo "== the server logged errors:"; grep -B2 -A20 Traceback "$OUT/gunicorn.log" | tail -60; fi

echo "== in-process cost per request, cold (bench/cpu.py: Django CPU, the PostgreSQL backend's CPU, statements)"
REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=0 CATALOG_COUNT_CACHE_SECONDS=0 "$PY" -m bench.cpu "$STORE" "$PRODUCT" \
    --json "$OUT/cpu.json"

if [ "${BENCH_FASTPATHS:-1}" = 1 ]; then
    echo "== the fast paths against the plain code, in-process (bench/fastpaths.py; page cache off)"
    REDIS_URL="$REDIS" "$PY" -m bench.fastpaths "$STORE" "$PRODUCT"
fi

echo
echo "== $PRODUCTS products, $CONNECTIONS connections, ${SECONDS_EACH}s per endpoint, floors ${FLOOR_SECONDS}s each; list page $SIZE bytes; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" -m bench.storefront report "$OUT"
