"""The thread-race harness every race test uses: real threads, each on its own database connection."""

import threading

from django.db import connection


def race(*jobs) -> list:
    """Runs the jobs at once, each on its own connection; answers what each returned or raised, in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - the race's outcome is what is asserted
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
