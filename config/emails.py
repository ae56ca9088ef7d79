"""Templated email: templates/emails/<name>.txt and .html, subject from <name>_subject.txt.

The ground floor: accounts, teams and notifications send through it; it knows none of them."""

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from config.celery import task_publish_on_commit


def email_render(*, template: str, context: dict) -> tuple[str, str, str]:
    """Renders (subject, text, html) for ``templates/emails/<template>``."""
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def email_send(*, template: str, to: list[str], context: dict, from_email: str = "") -> None:
    """Renders and sends now (workers call this; requests enqueue ``email_enqueue``). ``from_email``: the sender
    (a store's own, when its plan includes it), else DEFAULT_FROM_EMAIL."""
    subject, text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(subject, text, from_email or settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    message.send()


def email_enqueue(*, template: str, to: list[str], context: dict, from_email: str = "") -> None:
    """Sends by a Celery task after the current transaction commits (never on rollback).

    ``context`` must be JSON-serialisable: ids and strings, not model instances.
    """
    if from_email:
        task_publish_on_commit(email_send_task, template, to, context, from_email)
    else:  # the message as before: a worker of the previous release still takes it
        task_publish_on_commit(email_send_task, template, to, context)


# OSError: refused or dropped connections, timeouts and a mail host that does not resolve (gaierror).
# The name is the one the task had in notifications.tasks: messages already queued still find it.
@shared_task(name="notifications.tasks.email_send_task", autoretry_for=(SMTPException, OSError), retry_backoff=30,
             retry_backoff_max=3600, retry_jitter=True, max_retries=8)
def email_send_task(template: str, to: list[str], context: dict, from_email: str = "") -> None:
    email_send(template=template, to=to, context=context, from_email=from_email)
