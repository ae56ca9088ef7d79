"""gunicorn's settings file: ``gunicorn config.wsgi -c config/gunicorn.py --workers 4 --bind 0.0.0.0:8000``.

With PROMETHEUS_MULTIPROC_DIR set (README "Metrics"), every worker writes its metrics to files in that folder
(``counter_<pid>.db``, …) and GET /metrics adds them up. Files of processes that are gone (an earlier run) would be
added in for ever: the master drops them when it starts, keeping those of live processes (Celery workers sharing the
folder); Prometheus reads the drop as a counter reset. A worker that exits is marked dead (its live gauges go).

Each worker freezes what loading the app made (modules, settings, URL patterns, models: about 170,000 tracked
objects) once it is loaded, so the garbage collector's full passes skip them (gc.freeze).
"""

import gc
import os
import re
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for entry in path.glob("*.db"):
            found = re.search(r"_(\d+)\.db$", entry.name)
            if found and not _alive(int(found.group(1))):
                entry.unlink(missing_ok=True)


def post_worker_init(worker) -> None:
    gc.collect()
    gc.freeze()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
