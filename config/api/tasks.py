from celery import shared_task

from config.emails import email_send_task  # noqa: F401 - registers it in workers (autodiscovered here)

from .idempotency import idempotency_keys_purge


@shared_task
def idempotency_keys_purge_task() -> int:
    return idempotency_keys_purge()
