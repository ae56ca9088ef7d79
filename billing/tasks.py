"""Celery tasks: thin, taking ids; the services make a second run a no-op."""

from celery import shared_task
from django.db import OperationalError


# A deadlock or a lost connection rolls the processing back whole: retried with backoff. Any other error is
# recorded on the event (failed) by the service.
@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def billing_event_process_task(event_id: int) -> None:
    from .services import billing_event_process

    billing_event_process(event_id=event_id)


@shared_task(ignore_result=True)
def subscriptions_expire_task() -> int:
    """Past-due subscriptions past their grace period and cancelled ones past their paid period fall back to the
    default plan."""
    from .services import subscriptions_expire

    return subscriptions_expire()
