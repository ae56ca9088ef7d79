from celery import shared_task

from .consents import marketing_email_send
from .services import password_reset_email_send


@shared_task
def password_reset_email_send_task(email: str, ip: str | None = None) -> None:
    password_reset_email_send(email=email, ip=ip)


@shared_task
def marketing_email_send_task(user_id: int, template: str, context: dict) -> bool:
    return marketing_email_send(user_id=user_id, template=template, context=context)  # consent asked again here
