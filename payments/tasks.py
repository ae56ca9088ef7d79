"""Celery tasks: thin, taking ids; the services do the work and make a second run a no-op."""

from celery import shared_task
from django.db import OperationalError

PENDING_RETRY_SECONDS = 30


# A deadlock or a lost connection rolls the processing back whole: retried with backoff. Any other error is
# recorded on the event (failed) by the service, for the admin's "Replay processing".
@shared_task(bind=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True, max_retries=8)
def webhook_event_process_task(self, event_id: int) -> None:
    from .models import WebhookEventStatus
    from .services import webhook_event_process

    event = webhook_event_process(event_id=event_id)
    # left pending: only a later run can tell (the service says why); eagerly (no broker) the resume job does it
    if event is not None and event.status == WebhookEventStatus.PENDING and not self.app.conf.task_always_eager:
        raise self.retry(countdown=PENDING_RETRY_SECONDS)


@shared_task(ignore_result=True)
def webhook_events_resume_task() -> int:
    """Enqueues again the events still pending a while after they arrived (a task lost with a broker outage)."""
    from .services import webhook_events_resume

    return webhook_events_resume()
