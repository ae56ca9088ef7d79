"""Celery tasks: thin, the services do the work (CELERY_BEAT_SCHEDULE runs privacy-retention)."""

from celery import shared_task

from .services import data_export_run, retention_enforce


@shared_task
def data_export_run_task(export_id: int) -> None:
    data_export_run(export_id=export_id)  # a duplicate delivery finds it claimed and does nothing


@shared_task
def retention_enforce_task() -> dict:
    return retention_enforce().results  # a second run finds nothing more to remove
