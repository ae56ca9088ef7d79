from smtplib import SMTPException

from celery import shared_task

from .emails import email_send


@shared_task(autoretry_for=(SMTPException, ConnectionError, TimeoutError), retry_backoff=30,
             retry_backoff_max=3600, retry_jitter=True, max_retries=8)
def email_send_task(template: str, to: list[str], context: dict) -> None:
    email_send(template=template, to=to, context=context)
