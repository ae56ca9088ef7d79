"""Recording audit entries. Callers write them inside their own transaction."""

import ipaddress
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from config.api.middleware import current_request_var, request_id_var
from config.db import row_insert

from .models import AuditLog

REDACTED = "••••"
SECRET_MARKERS = ("password", "secret", "token", "key", "otp")


def audit_record(
    *,
    store,
    actor=None,
    action: str,
    target: models.Model | None = None,
    changes: dict | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
) -> AuditLog:
    """Appends one entry in the caller's transaction (rolled back with it); secrets in ``changes`` are redacted.

    ``actor`` is a User, an API key (any object with a pk) or None (the system; an anonymous
    user counts as None). IP, user agent and request id come from the request being served
    (``config.api.middleware``), none outside a request.
    """
    actor_user, actor_label, actor_id = _describe_actor(actor)
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless the proxy rewrites it.
    origin = current_request_var.get()
    meta = origin.META if origin is not None else {}
    entry = AuditLog(
        store=store,
        actor_user=actor_user,
        actor_label=actor_label[:255],
        actor_id=actor_id[:64],
        action=action[:100],
        object_type=(object_type or "")[:100],
        object_id=str(object_id or "")[:64],
        changes=redact(jsonable(changes or {})),
        ip=_ip_or_none(meta.get("REMOTE_ADDR")),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:512],
        request_id=(getattr(origin, "request_id", "") or request_id_var.get())[:128],
    )
    row_insert(entry)  # every write writes one (a checkout two): ORM create() cost 0.15 ms more per row
    return entry


def audit_diff(before: dict, after: dict) -> dict:
    """``{field: [old, new]}`` for every field whose value differs (a missing field counts as None)."""
    return {
        field: [before.get(field), after.get(field)]
        for field in sorted(set(before) | set(after), key=str)
        if before.get(field) != after.get(field)
    }


def redact(value: Any) -> Any:
    """Replaces the value of any key naming a secret (password, secret, token, key, otp), at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def jsonable(value: Any) -> Any:
    """Decimals, dates, UUIDs, model instances and files as JSON-friendly values."""
    return json.loads(json.dumps(value, cls=_Encoder))


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, models.Model):
            return o.pk
        if hasattr(o, "name") and hasattr(o, "url"):  # a FieldFile
            return o.name or None
        if isinstance(o, set | frozenset | tuple):
            return list(o)
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _is_secret(key: Any) -> bool:
    lowered = str(key).lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def _describe_actor(actor) -> tuple[Any, str, str]:
    """(actor_user, actor_label, actor_id) for a User, an API key or None."""
    from django.contrib.auth import get_user_model

    if actor is None or getattr(actor, "is_anonymous", False) is True:
        return None, "system", ""
    if isinstance(actor, get_user_model()):
        return actor, actor.email, str(actor.pk)
    kind = "apikey" if "key" in type(actor).__name__.lower() else type(actor).__name__.lower()
    return None, f"{kind}:{actor.pk}", str(actor.pk)


def _ip_or_none(value) -> str | None:
    """``value`` when it is an IP address, else None (a unix socket's REMOTE_ADDR would break an inet column)."""
    if not value or not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def actor_describe(actor) -> tuple[Any, str, str]:
    """(actor_user, actor_label, actor_id) as the audit log records them: for other append-only ledgers
    (catalog's InventoryMovement) that name who acted the same way."""
    return _describe_actor(actor)
