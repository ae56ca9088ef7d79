"""Templated email: templates/emails/<name>.txt and .html, subject from <name>_subject.txt."""

from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string


def email_render(*, template: str, context: dict) -> tuple[str, str, str]:
    """Renders (subject, text, html) for ``templates/emails/<template>``."""
    context = {"frontend_url": settings.FRONTEND_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def email_send(*, template: str, to: list[str], context: dict) -> None:
    """Renders and sends now (workers call this; requests enqueue ``email_enqueue``)."""
    subject, text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    message.send()


def email_enqueue(*, template: str, to: list[str], context: dict) -> None:
    """Sends by a Celery task after the current transaction commits (never on rollback).

    ``context`` must be JSON-serialisable: ids and strings, not model instances.
    """
    from .tasks import email_send_task

    transaction.on_commit(partial(email_send_task.delay, template, to, context))
