"""Where the current request comes from, for entries written by services that are not handed the request.

Catalog services (and any admin that saves through services) call ``audit_record`` without
``request``; the entry still gets the client's IP and user agent from here, the way the
request id comes from ``config.api.middleware.request_id_var``. Set from the WSGI environ when
a request starts (gunicorn, runserver, the test client), cleared when it finishes. Under ASGI
Django sends ``request_started`` from a task of its own, so the value would not reach the view:
there only callers that pass ``request`` record IP and user agent.
"""

import contextvars
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str


request_origin_var: contextvars.ContextVar[RequestOrigin | None] = contextvars.ContextVar(
    "audit_request_origin", default=None
)


def ip_or_none(value) -> str | None:
    """``value`` when it is an IP address, else None (a unix socket's REMOTE_ADDR would break an inet column)."""
    if not value or not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def request_origin_remember(sender, environ=None, **kwargs) -> None:
    origin = None
    if environ is not None:
        origin = RequestOrigin(ip_or_none(environ.get("REMOTE_ADDR")), environ.get("HTTP_USER_AGENT", ""))
    request_origin_var.set(origin)


def request_origin_forget(sender, **kwargs) -> None:
    request_origin_var.set(None)
