"""Recording audit entries. Callers write them inside their own transaction."""

import ipaddress
import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models.functions import Cast
from django.utils import timezone

from config.api.middleware import current_request_var, request_id_var
from config.db import row_insert
from config.erasure import scrub

from .models import AuditLog, maintenance_var

PRUNE_BATCH = 5000

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


# --- The two rules that may change the log: a person's erasure and the retention period ---------------------------


@contextmanager
def audit_maintenance():
    """Lets the block change and delete audit entries, in its own transaction (a savepoint in the caller's): on
    PostgreSQL the append-only trigger is told so for that transaction alone. Only ``audit_person_erase`` and
    ``audit_entries_prune`` use it."""
    with transaction.atomic():
        token = maintenance_var.set(True)
        try:
            _trigger_maintenance("on")
            yield
            _trigger_maintenance("off")
        finally:
            maintenance_var.reset(token)


def _trigger_maintenance(value: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('auditlog.maintenance', %s, true)", [value])


def audit_person_erase(*, texts: list[str], user_id: int | None = None, store=None, label: str = "deleted customer"
                       ) -> int:
    """Erases a person from the log without removing what happened: entries they made (by ``user_id``, or labelled
    with one of ``texts``, their email) name ``label`` instead, without IP or user agent; any of ``texts`` in an
    entry's ``changes`` becomes "[erased]". Only ``store``'s entries when given. Returns how many entries changed."""
    entries = AuditLog.objects.all() if store is None else AuditLog.objects.filter(store=store)
    texts = [text for text in texts if text]
    changed = set()
    with audit_maintenance():
        by_actor = models.Q(actor_label__in=texts)
        if user_id is not None:
            by_actor |= models.Q(actor_user_id=user_id)
        changed |= set(entries.filter(by_actor).values_list("pk", flat=True))
        entries.filter(pk__in=changed).update(actor_label=label, ip=None, user_agent="")
        for text in texts:
            mentioning = entries.annotate(_text=Cast("changes", models.TextField())).filter(_text__icontains=text)
            for pk, found in mentioning.values_list("pk", "changes"):
                AuditLog.objects.filter(pk=pk).update(changes=scrub(found, texts=texts))
                changed.add(pk)
    return len(changed)


def audit_entries_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes entries older than AUDIT_RETENTION_DAYS (0: kept for ever) in batches; returns how many (dry: would)."""
    days = settings.AUDIT_RETENTION_DAYS
    if not days:
        return 0
    expired = AuditLog.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return expired.count()
    deleted = 0
    while True:
        ids = list(expired.order_by().values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        with audit_maintenance():
            deleted += AuditLog.objects.filter(pk__in=ids).delete()[0]
