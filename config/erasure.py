"""Erasing a person's details from stored text and JSON (payloads, notifications, audit changes): the ground floor,
so the audit log's recorder and the privacy app scrub the same way."""

import re
from typing import Any

from django.db.models import Q, TextField
from django.db.models.functions import Cast

ERASED = "[erased]"
# keys whose value is a person's detail wherever they appear in a payload (an order's, an address)
PERSONAL_KEYS = frozenset({"email", "customer_email", "customer_name", "phone", "shipping_address",
                           "billing_address", "address", "line1", "line2", "first_name", "last_name"})


def scrub(value: Any, *, texts: list[str], keys: bool = False) -> Any:
    """``value`` with every occurrence of each of ``texts`` (any letter case) in its strings replaced by ERASED, at any
    depth; with ``keys``, the values of PERSONAL_KEYS too (for payloads that describe the person, e.g. an order's)."""
    texts = [text for text in texts if text]
    pattern = re.compile("|".join(re.escape(text) for text in texts), re.IGNORECASE) if texts else None
    return _scrub(value, pattern, keys)


def _scrub(value: Any, pattern, keys: bool) -> Any:
    if isinstance(value, dict):
        return {key: (_erased(item) if keys and key in PERSONAL_KEYS else _scrub(item, pattern, keys))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, pattern, keys) for item in value]
    if isinstance(value, str) and pattern is not None:
        return pattern.sub(ERASED, value)
    return value


def _erased(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, str) and value:
        return ERASED
    return value


def inbound_events_scrub(events, *, email: str, names: list[str]) -> int:
    """The stored inbound events among ``events`` (a queryset of a model with a JSON ``payload`` and a text
    ``error``: a gateway's notifications, Stripe's billing events) that mention ``email``: the email, ``names`` and
    PERSONAL_KEYS' values become ERASED in the payload and the error; ids, amounts and statuses stay. Returns how
    many were changed."""
    if not email:
        return 0
    texts = [email, *[name for name in names if name]]
    matching = events.annotate(_payload=Cast("payload", TextField())).filter(
        Q(_payload__icontains=email) | Q(error__icontains=email))
    changed = 0
    for event in matching.only("pk", "payload", "error"):
        changed += events.model.objects.filter(pk=event.pk).update(
            payload=scrub(event.payload, texts=texts, keys=True), error=scrub(event.error, texts=texts))
    return changed
