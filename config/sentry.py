"""Error tracking through sentry-sdk, switched on by SENTRY_DSN (config/settings.py calls ``sentry_init``).

No personal data leaves: the SDK collects none (``data_collection``, what ``send_default_pii=False`` was), and
``before_send`` (and ``before_breadcrumb``) scrub every event whatever an integration or a log line put in it:
values under keys that name personal or secret data (emails, addresses, names, phones, tokens, passwords, secrets,
cookies, Authorization, API keys, signatures, card fields, IPs) become "[Filtered]", and in every other string
emails, bearer tokens, JWTs, gateway secrets, secret query parameters and card numbers (13-19 digits passing Luhn)
are replaced; request bodies, cookies and the WSGI environment are dropped whole. The request id (X-Request-ID,
also in the JSON logs) is attached as the ``request_id`` tag, so an event can be matched with its log lines.
"""

import logging
import re
from typing import Any

FILTERED = "[Filtered]"

# A key naming personal or secret data: its whole value goes, whatever it holds.
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|cookie|session|csrf|api[-_]?key|signature|otp|"
    r"e-?mail|address|street|line[12]|city|postal|post_?code|zip|phone|mobile|"
    r"(first|last|full|customer|buyer|user)_?name|"
    r"card|^pan$|cvc|cvv|cvn|iban|^exp(iry)?_?(month|year|date)?$|fingerprint|"
    r"^ip$|ip_?address|remote_addr|x-forwarded-for|x-real-ip|http_x_forwarded_for|http_authorization|http_cookie|"
    r"http_x_api_key|stripe-signature|webhook-signature",
    re.IGNORECASE,
)
# Keys of the event's own structure and of Sentry's contexts that carry no personal data (never scrubbed by name).
STRUCTURE_KEYS = frozenset({"event_id", "timestamp", "level", "logger", "platform", "server_name", "release",
                            "environment", "transaction", "fingerprint", "tags", "sdk", "modules", "type",
                            "module", "function", "filename", "abs_path", "lineno", "in_app", "context_line",
                            "pre_context", "post_context", "mechanism", "url", "method", "query_string"})

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
# gateway and webhook secrets (sk_live_…, rk_…, whsec_…, pi_…_secret_…) and this app's API keys (prefix.secret)
SECRETS = re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9+/=_-]{6,}|"
                     r"\b[A-Za-z0-9]+_secret_[A-Za-z0-9]{6,}")
QUERY_SECRET = re.compile(r"(?i)\b([\w-]*(?:token|secret|passw(?:or)?d|signature|api[-_]?key|e-?mail|otp)[\w-]*)="
                          r"([^&\s\"']+)")
CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
    return total % 10 == 0


def _card_replace(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return FILTERED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def scrub_text(text: str) -> str:
    """``text`` without emails, credentials and card numbers."""
    text = EMAIL.sub(FILTERED, text)
    text = JWT.sub(FILTERED, text)
    text = BEARER.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = SECRETS.sub(FILTERED, text)
    text = QUERY_SECRET.sub(lambda m: f"{m.group(1)}={FILTERED}", text)
    return CARD.sub(_card_replace, text)


def scrub(value: Any, key: str | None = None) -> Any:
    """``value`` with what a sensitive ``key`` holds filtered and every string scrubbed, recursively."""
    if key is not None and key not in STRUCTURE_KEYS and SENSITIVE_KEY.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # [name, value] pairs (headers, cookies, query strings as lists): the name decides for its value
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], dict | list | tuple):
            return [value[0], scrub(value[1], value[0])]
        return [scrub(item) for item in value]
    return value


def _request_id() -> str:
    from config.api.middleware import request_id_var

    return request_id_var.get()


def before_send(event: dict, hint: dict | None = None) -> dict:
    """Scrubs ``event`` (the whole of it) and tags it with the request being served."""
    user = event.get("user")
    event = scrub(event)
    if isinstance(user, dict):  # only an id identifies the user; nothing about them
        event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    request = event.get("request")
    if isinstance(request, dict):
        for name in ("cookies", "data", "env"):  # bodies and cookies are not needed to fix a bug
            if request.get(name):
                request[name] = FILTERED
    tags = event.get("tags")
    if not isinstance(tags, dict):
        tags = dict(tags or [])
    request_id = _request_id()
    if request_id:
        tags.setdefault("request_id", request_id)
    event["tags"] = tags
    return event


def before_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float = 0.0, **options) -> None:
    """Starts sentry-sdk with the Django, Celery and logging integrations (errors logged at ERROR become events,
    INFO and above breadcrumbs), no personal data and the scrubbers above."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn, environment=environment, release=release, traces_sample_rate=traces_sample_rate,
        # sentry-sdk 2.75's form of send_default_pii=False (which it deprecates): no user identity, no request
        # bodies, no local variables, no SQL parameters, no task arguments
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False,
                         "database_query_data": False, "queues": False},
        max_request_body_size="never", include_local_variables=False,
        integrations=[DjangoIntegration(), CeleryIntegration(),
                      LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        before_send=before_send, before_send_transaction=before_send, before_breadcrumb=before_breadcrumb,
        **options,
    )
