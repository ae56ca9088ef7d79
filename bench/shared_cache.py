"""The cache without Redis, measured: Django's database cache on the app's SQLite file against its file-based cache,
with the per-process local-memory cache as the floor (the fastest, but not shared). Never part of the test suite.

    .venv/bin/python bench/shared_cache.py [seconds per run, default 3]

For each backend, from 1 and from 2 processes at once, it runs the three patterns every API request makes of the
cache without Redis: a throttle (get then set of the caller's history: every request, once per throttle), a catalog
page hit (get_many of the store's generation and a 20 KB page) and a lockout failure (add then incr). Prints
operations per second over all processes, and each as a fraction of the floor measured in the same run.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

PATTERNS = ("throttle", "page_hit", "lockout")
BACKENDS = ("locmem", "database", "file")


def configure(backend: str, folder: str) -> None:
    import django
    from django.conf import settings

    caches = {
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_entries",
                     "OPTIONS": {"MAX_ENTRIES": 20000}},
        "file": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                 "LOCATION": os.path.join(folder, "cache"), "OPTIONS": {"MAX_ENTRIES": 20000}},
    }
    settings.configure(
        DATABASES={"default": {  # as config/settings.py sets SQLite up
            "ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(folder, "db.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                        "PRAGMA busy_timeout=20000;"}}},
        CACHES={"default": caches[backend]}, USE_TZ=True, INSTALLED_APPS=[],
    )
    django.setup()


def work(backend: str, folder: str, pattern: str, seconds: float, worker: int) -> int:
    configure(backend, folder)
    from django.core.cache import cache

    page = b"x" * 20_000
    cache.set("gen", 1, None)
    cache.set("page", (1, page), 300)
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pattern == "throttle":
            key = f"throttle_anon_{worker}_{done % 50}"  # 50 callers per process
            history = cache.get(key, [])
            cache.set(key, [time.time(), *history[:20]], 60)
        elif pattern == "page_hit":
            cache.get_many(["gen", "page"])
        else:
            key = f"login:failures:{worker}_{done % 50}"
            cache.add(key, 0, 900)
            cache.incr(key)
        done += 1
    return done


def run(backend: str, pattern: str, processes: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "database":
            subprocess.run([sys.executable, __file__, "--create", backend, folder], check=True)
        children = [subprocess.Popen([sys.executable, __file__, "--work", backend, folder, pattern, str(seconds),
                                      str(index)], stdout=subprocess.PIPE, text=True) for index in range(processes)]
        return sum(int(child.communicate()[0]) for child in children) / seconds


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    results = {}
    for processes in (1, 2):
        for pattern in PATTERNS:
            for backend in BACKENDS:
                results[(processes, pattern, backend)] = run(backend, pattern, processes, seconds)
    print(f"{'processes':>9} {'pattern':<9} " + " ".join(f"{b + ' ops/s':>15}" for b in BACKENDS)
          + "   database/floor  file/floor")
    for processes in (1, 2):
        for pattern in PATTERNS:
            row = [results[(processes, pattern, backend)] for backend in BACKENDS]
            print(f"{processes:>9} {pattern:<9} " + " ".join(f"{value:>15,.0f}" for value in row)
                  + f"   {row[1] / row[0]:>14.3f}  {row[2] / row[0]:>10.3f}")
    print(json.dumps({f"{p}/{pat}/{b}": round(v) for (p, pat, b), v in results.items()}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--create"]:
        configure(sys.argv[2], sys.argv[3])
        from django.core.management import call_command

        call_command("createcachetable", verbosity=0)
    elif sys.argv[1:2] == ["--work"]:
        backend, folder, pattern, seconds, worker = sys.argv[2:7]
        print(work(backend, folder, pattern, float(seconds), int(worker)))
    else:
        main()
