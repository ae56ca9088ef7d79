#!/usr/bin/env bash
# The catalog benchmark, one command: bench/run.sh
#
# Creates a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres), migrates,
# seeds BENCH_PRODUCTS products, serves the app with gunicorn as in production (2 sync
# workers, persistent connections, DEBUG off) and drives it with wrk from another
# process: each endpoint for BENCH_SECONDS at BENCH_CONNECTIONS connections, in three
# set-ups:
#   warm    REDIS_URL set, the page cache as deployed (CATALOG_CACHE_SECONDS=300, the per-worker
#           micro-cache CATALOG_CACHE_LOCAL_MS=250), entries warmed first
#   strict  as warm, but every hit asks Redis (CATALOG_CACHE_LOCAL_MS=0)
#   cold    REDIS_URL set, page cache off (CATALOG_CACHE_SECONDS=0); public totals still cached
#   nocache no Redis, no page cache, no cached totals: every request does all its SQL
# Each endpoint is measured right after the two floors (bench/floors.py, mounted by
# BENCH_FLOORS=1) and reported as a fraction of them. Prints req/s, p50/p95/p99.
# Never part of the test suite. About 10 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
PRODUCTS=${BENCH_PRODUCTS:-100000}
SECONDS_EACH=${BENCH_SECONDS:-10}
FLOOR_SECONDS=${BENCH_FLOOR_SECONDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
MODES=${BENCH_MODES:-"warm strict cold nocache"}
PORT=${BENCH_PORT:-8077}
DB="bench_catalog_$$"
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/7}
PREFIX="bench$$"
OUT=$(mktemp -d /tmp/bench.XXXXXX)
RESULTS="$OUT/results.txt"
SERVER_PID=""

if ! command -v wrk >/dev/null; then
    echo "== installing wrk"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    redis-cli -u "$REDIS" --scan --pattern "$PREFIX:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=bench.settings
export DEBUG=0
export SECRET_KEY="bench-secret-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export FIELD_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export CONN_MAX_AGE=600
export CACHE_KEY_PREFIX="$PREFIX"
export BENCH_FLOORS=1
export LOG_LEVEL=WARNING
export PYTHONDONTWRITEBYTECODE=1

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "== $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version'), $(redis-cli -u "$REDIS" INFO server | grep redis_version | tr -d '\r'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "== database $DB"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
"$PY" manage.py migrate -v 0
echo "== seeding $PRODUCTS products"
SEED=$("$PY" -m bench.seed "$PRODUCTS" | tail -1)
STORE=$(echo "$SEED" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["store"])')
PRODUCT=$(echo "$SEED" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["product"])')
BASE="http://127.0.0.1:$PORT/api/v1/stores/$STORE"

declare -A URLS=(
    [list]="$BASE/products"
    [deep-page]="$BASE/products?page=500"
    [detail]="$BASE/products/$PRODUCT"
    [filtered]="$BASE/products?category=clothing&price_min=10&price_max=50"
    [search]="$BASE/search?q=classic%20tee"
    [suggestions]="$BASE/search/suggestions?q=cla"
)
ENDPOINTS="list deep-page detail filtered search suggestions"

serve() {  # serve <env assignments...>
    env "$@" "$ROOT/.venv/bin/gunicorn" config.wsgi:application -c config/gunicorn.py --workers 2 --worker-class sync \
        --bind "127.0.0.1:$PORT" --log-level warning --access-logfile /dev/null >"$OUT/gunicorn.log" 2>&1 &
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
    # every URL once per worker first: warm caches (when on), connections, imports
    for _ in 1 2 3 4; do curl -fs -o /dev/null "$3"; done
    line=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --timeout 5s --latency -s bench/report.lua "$3" | tail -1)
    echo "$1 $2 $line" >>"$RESULTS"
    echo "   $1 $2 $line"
}

for mode in $MODES; do
    echo "== $mode"
    case $mode in
        warm) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=250 ;;
        strict) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=0 ;;
        cold) serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=0 ;;
        nocache) serve REDIS_URL= CATALOG_CACHE_SECONDS=0 CATALOG_COUNT_CACHE_SECONDS=0 ;;
    esac
    SIZE=$(curl -fs "$BASE/products" | wc -c)
    echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for name in $ENDPOINTS; do
        # the floors right before each endpoint: on a shared machine the available CPU drifts,
        # and a fraction is only meaningful against floors measured under the same conditions
        SECONDS_EACH=$FLOOR_SECONDS load "$mode" "floor-static:$name" \
            "http://127.0.0.1:$PORT/api/bench/floor/static?bytes=$SIZE"
        SECONDS_EACH=$FLOOR_SECONDS load "$mode" "floor-query:$name" \
            "http://127.0.0.1:$PORT/api/bench/floor/query?store=$STORE"
        load "$mode" "$name" "${URLS[$name]}"
    done
    if [ "$mode" = cold ]; then
        # a search's own latency, without 16 connections queueing for 2 workers
        CONNECTIONS=2 load "$mode" "search@2conn" "${URLS[search]}"
    fi
    stop
done

echo
for mode in cold warm; do
    echo "== in-process cost per request, $mode (bench/cpu.py: no HTTP, no concurrency; steadier on a shared machine)"
    if [ "$mode" = warm ]; then cache=300; else cache=0; fi
    REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=$cache "$PY" -m bench.cpu "$STORE" "$PRODUCT"
done

echo
echo "== $PRODUCTS products, $CONNECTIONS connections, ${SECONDS_EACH}s each; product list page: $SIZE bytes"
"$PY" bench/report.py "$RESULTS"
