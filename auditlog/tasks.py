from celery import shared_task

from .security_reports import security_digests_send


@shared_task
def security_digests_send_task() -> int:
    """The daily summary of the security log to each store's owners (safe to run twice: one email per store a day)."""
    return security_digests_send()
