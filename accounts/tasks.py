from celery import shared_task

from .services import password_reset_email_send


@shared_task
def password_reset_email_send_task(email: str) -> None:
    password_reset_email_send(email=email)
