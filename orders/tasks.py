"""Celery tasks: thin, the services do the work (CELERY_BEAT_SCHEDULE runs them)."""

from celery import shared_task

from .services import orders_expire


@shared_task
def orders_expire_task() -> int:
    return orders_expire()
