"""Consent: what each person agreed to, per purpose (settings.CONSENT_PURPOSES: purpose → the current version of its
wording), with when, where (api, checkout, admin) and to which wording.

``consent_granted`` is the one question every path that needs consent asks: the marketing email below
(``marketing_email_enqueue``, asked again by its task at send time) and storefront analytics
(``analytics.services.events_record``). Nobody has consented until they say so (opt-in); a withdrawal is one row,
read by the next question: it takes effect at once.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.api.errors import ValidationFailed
from config.celery import task_publish_on_commit
from config.emails import email_send

from .models import Consent, ConsentSource, User

MARKETING_EMAIL = "marketing_email"
ANALYTICS = "analytics"
PERSONALISATION = "personalisation"


@dataclass(frozen=True)
class ConsentState:
    granted: bool
    version: str | None  # of the wording answered; None: never asked
    updated_at: datetime | None
    source: str | None


NEVER_ASKED = ConsentState(granted=False, version=None, updated_at=None, source=None)


def consent_purposes() -> dict[str, str]:
    """Every purpose the platform asks consent for → the current version of its wording."""
    return dict(settings.CONSENT_PURPOSES)


def consent_granted(*, user, purpose: str) -> bool:
    """Whether ``user`` consents to ``purpose`` now: their newest answer, False when they never gave one (or for
    an anonymous caller, an API key or None). One indexed read."""
    if not isinstance(user, User) or user.pk is None or not user.is_active:
        return False
    newest = Consent.objects.filter(user_id=user.pk, purpose=purpose).order_by("-id").values_list("granted", flat=True)
    return bool(next(iter(newest[:1]), False))


def consents_get(*, user: User) -> dict[str, ConsentState]:
    """The person's answer now for every purpose the platform defines (never asked: not granted, no version)."""
    purposes = consent_purposes()
    states = dict.fromkeys(purposes, NEVER_ASKED)
    seen: set[str] = set()
    for row in Consent.objects.filter(user_id=user.pk, purpose__in=purposes).order_by("purpose", "-id"):
        if row.purpose not in seen:
            seen.add(row.purpose)
            states[row.purpose] = ConsentState(granted=row.granted, version=row.version, updated_at=row.created_at,
                                               source=row.source)
    return states


def consents_check(*, answers: dict) -> None:
    """Raises ValidationFailed (400, details by purpose) for a purpose the platform does not define or an answer
    that is not true or false."""
    purposes = consent_purposes()
    problems = {}
    for purpose, granted in answers.items():
        if purpose not in purposes:
            problems[str(purpose)] = [f"Unknown purpose; one of {', '.join(purposes)}."]
        elif not isinstance(granted, bool):
            problems[str(purpose)] = ["Must be true or false."]
    if not answers:
        problems["consents"] = [f"Give at least one of {', '.join(purposes)}."]
    if problems:
        raise ValidationFailed("Invalid consent.", **problems)


@transaction.atomic
def consents_set(*, user: User, answers: dict, source: str = ConsentSource.API) -> dict[str, ConsentState]:
    """Records the person's answers ({purpose: true|false}) against the current wording, one row per answer that
    differs from what is on record (a first answer, a change, or the same answer to new wording); returns every
    purpose's state. Raises ValidationFailed (400) as ``consents_check``."""
    consents_check(answers=answers)
    purposes, current, now = consent_purposes(), consents_get(user=user), timezone.now()
    Consent.objects.bulk_create([
        Consent(user=user, purpose=purpose, granted=granted, version=purposes[purpose], source=source, created_at=now)
        for purpose, granted in sorted(answers.items())
        if current[purpose].version != purposes[purpose] or current[purpose].granted != granted
    ])
    return consents_get(user=user)


# --- Marketing email: the one path, asking consent_granted twice -----------------------------------------------------


def marketing_email_enqueue(*, user: User, template: str, context: dict) -> bool:
    """Queues a marketing email (templates/emails/<template>) to ``user`` after COMMIT, if they consent to
    marketing_email now; the task asks again when it sends, so a withdrawal meanwhile stops it. Returns whether it
    was queued. ``context``: JSON-serialisable values."""
    if not consent_granted(user=user, purpose=MARKETING_EMAIL):
        return False
    from .tasks import marketing_email_send_task

    task_publish_on_commit(marketing_email_send_task, user.pk, template, context)
    return True


def marketing_email_send(*, user_id: int, template: str, context: dict) -> bool:
    """Sends the marketing email now if the person still consents (to their current address); returns whether."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not consent_granted(user=user, purpose=MARKETING_EMAIL):
        return False
    email_send(template=template, to=[user.email], context={"name": user.name, **context})
    return True
