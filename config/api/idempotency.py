"""Idempotency-Key for POSTs that must not run twice (checkout, payments, refunds).

Same key, owner, method and path with the same body: the first answer is
replayed (header ``Idempotent-Replayed: true``). Same key with another body:
409 IDEMPOTENCY_CONFLICT. Keys live 24 hours.

The key is bound to the work it protects: the decorator opens one transaction,
claims the key in it (one INSERT … ON CONFLICT DO NOTHING on the unique key; an
expired row in the way is deleted and the key claimed afresh), runs the view inside it
(services' own ``transaction.atomic`` blocks become savepoints, their
``on_commit`` callbacks run after the outer COMMIT) and stores the answer
before COMMIT. Either the work and its answer are committed together, or
neither is: an exception or a 5xx answer rolls back the work and the key, so a
retry after a crash anywhere (before, during or after COMMIT) either replays
the answer or runs the work again, never neither.

A duplicate sent while the first request runs waits for it: on PostgreSQL its
INSERT waits on the unique index until the first transaction ends, then it
inserts nothing and replays the committed answer (or, if the first rolled back, runs the work
itself); on SQLite (BEGIN IMMEDIATE) it waits for the write lock, and answers
503 SERVICE_UNAVAILABLE if the busy timeout runs out. The 409 CONFLICT "still
being processed" remains only for a key row committed without an answer, which
this code never writes (rows left by the former two-step code, or a backend
whose duplicate INSERT returns at once instead of waiting), and for a clashing
row that is gone by the time it is read.

The cost: a decorated view holds one database transaction open for its whole
run, so it should not wait long on anything outside the database.

A view whose work calls out mid-way (a refund through a payment gateway) cannot
run in one transaction with its key: the money leaves whether or not we commit.
It uses the steps instead: ``idempotency_claim`` inside the transaction of the
work's first step (the key commits with it; an exception rolls both back), the
call outside any transaction, then ``idempotency_answer_store``. A duplicate
sent meanwhile is 409 CONFLICT "still being processed" (the work is on its way,
not to be started twice), as is every retry if the process died before the answer
was stored: the work may have happened, so it is never run again for that key.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder as AnswerEncoder  # the one the renderer writes with

from config.db import statement_cursor

from .errors import DomainError, IdempotencyConflict, ValidationFailed
from .models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
HEADER = "Idempotency-Key"


class IdempotentRequestInProgress(DomainError):
    default_message = "A request with this Idempotency-Key is still being processed."


def idempotent(view_method):
    """Decorates a DRF view method (``def post(self, request, ...)``): runs it at most once per key,
    in one transaction with the key and its stored answer."""

    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > 255:
            raise ValidationFailed("Idempotency-Key is too long.", idempotency_key=["At most 255 characters."])

        with transaction.atomic():  # an exception leaving it rolls back the work and the key
            record_id, replay = _claim(key=key, request=request)
            if replay is not None:
                return replay
            response = view_method(view, request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # a failed attempt is forgotten, its work too
                return response
            idempotency_answer_store(record_id, response)
        return response

    return wrapper


def _claim(*, key: str, request) -> tuple[int | None, Response | None]:
    """Inside the caller's transaction: the new key row's id, or the stored answer to replay.

    Raises IdempotencyConflict (another body) or IdempotentRequestInProgress (no answer stored)."""
    fields = {"key": key, "owner": _owner(request), "method": request.method, "path": request.path.rstrip("/")}
    request_hash = _hash(request.data)
    claimed = _key_insert(fields=fields, request_hash=request_hash)
    if claimed is not None:
        return claimed, None
    # on PostgreSQL the INSERT returns nothing once the holder of the key has committed
    existing = IdempotencyKey.objects.filter(**fields).first()
    if existing is not None and existing.created_at < timezone.now() - KEY_LIFETIME:  # expired: claimed afresh
        IdempotencyKey.objects.filter(pk=existing.pk).delete()
        claimed = _key_insert(fields=fields, request_hash=request_hash)
        if claimed is not None:
            return claimed, None
        existing = IdempotencyKey.objects.filter(**fields).first()  # a concurrent request claimed it first
    if existing is None:  # the clashing row is gone already (expired and purged): the client may retry
        raise IdempotentRequestInProgress()
    if existing.request_hash != request_hash:
        raise IdempotencyConflict()
    if existing.response_status is None:
        raise IdempotentRequestInProgress()
    stored = existing.response_body
    replay = Response(stored["data"], status=existing.response_status, headers={"Idempotent-Replayed": "true"})
    replay.enveloped = stored["enveloped"]
    replay.message = stored.get("message")
    return existing.pk, replay


def _key_insert(*, fields: dict, request_hash: str) -> int | None:
    """The key row inserted unless one exists (INSERT … ON CONFLICT DO NOTHING RETURNING id: one statement, no
    savepoint, on PostgreSQL and SQLite alike); its id, or None when it exists. On PostgreSQL a row another
    transaction is inserting makes it wait for that transaction's end."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("key", "owner", "method", "path", "request_hash", "created_at"))
    cursor = statement_cursor()
    cursor.execute(
        f"INSERT INTO {quote(IdempotencyKey._meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT DO NOTHING RETURNING {quote('id')}",
        [fields["key"], fields["owner"], fields["method"], fields["path"], request_hash,
         connection.ops.adapt_datetimefield_value(timezone.now())])
    row = cursor.fetchone()
    return row[0] if row else None


def _owner(request) -> str:
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"apikey:{api_key.pk}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return "anon"


def _hash(data) -> str:
    try:
        canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    except TypeError:
        canonical = repr(data)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_keys_purge() -> int:
    """Deletes keys older than their lifetime; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEY_LIFETIME).delete()
    return deleted


def idempotency_claim(request) -> tuple[int | None, Response | None]:
    """The steps' first half (see the module's docstring): call it inside the transaction of the work's first step.
    Answers (None, None) without an Idempotency-Key, (the key row's id, None) to do the work, (id, replay) to answer
    the replay instead. Raises ValidationFailed (a key over 255 characters), IdempotencyConflict (the key with
    another body), IdempotentRequestInProgress (the key's work is on its way or ended without an answer)."""
    key = request.headers.get(HEADER)
    if not key:
        return None, None
    if len(key) > 255:
        raise ValidationFailed("Idempotency-Key is too long.", idempotency_key=["At most 255 characters."])
    return _claim(key=key, request=request)


def idempotency_answer_store(record_id: int | None, response: Response) -> None:
    """The steps' second half: stores the answer a retry with the key replays (nothing without a key). A 5xx is not
    stored: the key stays unanswered, and its retries are told the request is still being processed."""
    if record_id is None or response.status_code >= 500:
        return
    # stored as the renderer writes it (datetimes keep their microseconds), with the answer's message, so a replay
    # says exactly what the first answer said. One fixed UPDATE, the JSON encoded once: every keyed POST (each
    # checkout) pays it, and the ORM's update() cost 0.5 ms more on the 2-core machine (docs/PERFORMANCE.md)
    body = json.dumps({"enveloped": getattr(response, "enveloped", False), "data": response.data,
                       "message": getattr(response, "message", None)}, cls=AnswerEncoder)
    quote = connection.ops.quote_name
    cursor = statement_cursor()
    cursor.execute(f"UPDATE {quote(IdempotencyKey._meta.db_table)} SET {quote('response_status')} = %s, "
                   f"{quote('response_body')} = %s WHERE {quote('id')} = %s",
                   [response.status_code, body, record_id])
