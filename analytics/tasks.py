"""Celery tasks: thin, the services do the work (CELERY_BEAT_SCHEDULE runs the periodic ones)."""

from celery import shared_task

from .services import export_run, exports_purge, metrics_refresh


@shared_task
def metrics_refresh_task() -> int:
    return metrics_refresh()


@shared_task
def exports_purge_task() -> int:
    return exports_purge()


@shared_task
def export_run_task(export_id: int) -> None:
    export_run(export_id=export_id)  # a duplicate delivery finds it claimed and does nothing
