#!/usr/bin/env bash
# Cold search and Redis-cached reads with the throttles on (issue 17: item 4 and the REDIS_URL target).
#
#   flock /tmp/bench.lock bench/search_redis.sh            # ~3 minutes; prints one line per measurement
#
# Creates a throwaway PostgreSQL database (dropped on exit) with BENCH_PRODUCTS (100,000) products
# (bench/seed.py), or uses BENCH_DATABASE as it is. Serves the app with gunicorn as in production
# (2 sync workers, DEBUG off, CONN_MAX_AGE=600, Redis), from BENCH_CODE (default: this checkout), with
# config.settings itself: the throttles on, as deployed, their rates raised so nothing is refused
# (every wrk connection is one client address). Then, 16 connections, BENCH_SECONDS each, the floors
# right before each endpoint:
#   cold    CATALOG_CACHE_SECONDS=0: search?q=classic%20tee, search?q=tee (a word in an eighth of
#           the catalog), and the same at 2 connections (one per worker: a search's own latency)
#   warm    the page cache as deployed (micro-cache 250 ms): the product list, a search
#   strict  CATALOG_CACHE_LOCAL_MS=0, every hit asks Redis: the product list, a search
# Prints "mode endpoint {wrk json}" lines and, per endpoint, the fraction of the static floor.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CODE=${BENCH_CODE:-$ROOT}
PY="$ROOT/.venv/bin/python"
PRODUCTS=${BENCH_PRODUCTS:-100000}
SECONDS_EACH=${BENCH_SECONDS:-10}
FLOOR_SECONDS=${BENCH_FLOOR_SECONDS:-5}
PORT=${BENCH_PORT:-8078}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/7}
PREFIX="benchsr$$"
OUT=$(mktemp -d /tmp/bench.XXXXXX)
SERVER_PID=""
DB=${BENCH_DATABASE:-}
OWN_DB=""
if [ -z "$DB" ]; then DB="bench_search_$$"; OWN_DB=1; fi

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$OWN_DB" ]; then psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
    redis-cli -u "$REDIS" --scan --pattern "$PREFIX:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=config.settings DEBUG=0 CONN_MAX_AGE=600 BENCH_FLOORS=1 LOG_LEVEL=WARNING
export SECRET_KEY="bench-secret-key-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export FIELD_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" CACHE_KEY_PREFIX="$PREFIX" PYTHONDONTWRITEBYTECODE=1
export THROTTLE_RATES="anon=100000000/min,user=100000000/min"
export PYTHONPATH="$CODE"

if [ -n "$OWN_DB" ]; then
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
    (cd "$CODE" && "$PY" manage.py migrate -v 0 && DJANGO_SETTINGS_MODULE=bench.settings "$PY" -m bench.seed "$PRODUCTS" >/dev/null)
fi
BASE="http://127.0.0.1:$PORT/api/v1/stores/bench"
echo "== code $CODE ($(git -C "$CODE" rev-parse --short HEAD)), database $DB, load average $(cut -d' ' -f1-3 /proc/loadavg)"

serve() {  # gunicorn itself is SERVER_PID (no subshell), so stop() and the cleanup end it
    env "$@" "$ROOT/.venv/bin/gunicorn" config.wsgi:application --chdir "$CODE" --workers 2 --worker-class sync \
        --bind "127.0.0.1:$PORT" --log-level warning --access-logfile /dev/null >"$OUT/gunicorn.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/bench/floor/static" && return 0
        sleep 0.1
    done
    echo "gunicorn did not start:"; cat "$OUT/gunicorn.log"; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
load() {  # load <mode> <name> <url> [connections]
    for _ in 1 2 3 4; do curl -fs -o /dev/null "$3"; done
    line=$(wrk -t1 -c"${4:-16}" -d"${SECONDS_EACH}s" --timeout 5s --latency -s bench/report.lua "$3" | tail -1)
    echo "$1 $2 $line"
}
floors_then() {  # floors_then <mode> <name> <url> [connections]
    SIZE=$(curl -fs "$3" | wc -c)
    static=$(SECONDS_EACH=$FLOOR_SECONDS load "$1" "floor-static" "http://127.0.0.1:$PORT/api/bench/floor/static?bytes=$SIZE")
    echo "$static"
    measured=$(load "$@")
    echo "$measured"
    MEASURED="$measured" STATIC="$static" "$PY" - <<'PYTHON'
import json, os
mode, name, raw = os.environ["MEASURED"].split(" ", 2)
endpoint, floor = json.loads(raw), json.loads(os.environ["STATIC"].split(" ", 2)[2])
print(f"   -> {mode} {name}: {endpoint['rps']:.0f} req/s, p95 {endpoint['p95']:.1f} ms, "
      f"{endpoint['rps'] / floor['rps']:.0%} of the static floor ({floor['rps']:.0f} req/s)")
PYTHON
}

serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=0
floors_then cold "search" "$BASE/search?q=classic%20tee"
floors_then cold "search-tee" "$BASE/search?q=tee"
load cold "search@2conn" "$BASE/search?q=classic%20tee" 2
stop
serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=250
floors_then warm "list" "$BASE/products"
floors_then warm "search" "$BASE/search?q=classic%20tee"
stop
serve REDIS_URL="$REDIS" CATALOG_CACHE_SECONDS=300 CATALOG_CACHE_LOCAL_MS=0
floors_then strict "list" "$BASE/products"
floors_then strict "search" "$BASE/search?q=classic%20tee"
stop
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
