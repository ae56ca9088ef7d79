"""Idempotency-Key for POSTs that must not run twice (checkout, payments, refunds).

Same key, owner, method and path with the same body: the first answer is
replayed. Same key with another body: 409 IDEMPOTENCY_CONFLICT. A retry while
the first request is still running: 409 CONFLICT. Failed first attempts (an
exception or a 5xx) are forgotten so that a retry runs again.
"""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from .errors import DomainError, IdempotencyConflict, ValidationFailed
from .models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
HEADER = "Idempotency-Key"


class IdempotentRequestInProgress(DomainError):
    default_message = "A request with this Idempotency-Key is still being processed."


def idempotent(view_method):
    """Decorates a DRF view method (``def post(self, request, ...)``)."""

    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > 255:
            raise ValidationFailed("Idempotency-Key is too long.", idempotency_key=["At most 255 characters."])

        record, replay = _claim(key=key, request=request)
        if replay is not None:
            return replay
        try:
            response = view_method(view, request, *args, **kwargs)
        except BaseException:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
        else:
            body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            IdempotencyKey.objects.filter(pk=record.pk).update(
                response_status=response.status_code,
                response_body={"enveloped": getattr(response, "enveloped", False), "data": body},
            )
        return response

    return wrapper


def _claim(*, key: str, request) -> tuple[IdempotencyKey, Response | None]:
    fields = {"key": key, "owner": _owner(request), "method": request.method, "path": request.path.rstrip("/")}
    request_hash = _hash(request.data)
    IdempotencyKey.objects.filter(**fields, created_at__lt=timezone.now() - KEY_LIFETIME).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(**fields, request_hash=request_hash), None
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.filter(**fields).first()
    if existing is None:  # the first attempt failed and was forgotten meanwhile: the client may retry
        raise IdempotentRequestInProgress()
    if existing.request_hash != request_hash:
        raise IdempotencyConflict()
    if existing.response_status is None:
        raise IdempotentRequestInProgress()
    stored = existing.response_body
    replay = Response(stored["data"], status=existing.response_status, headers={"Idempotent-Replayed": "true"})
    replay.enveloped = stored["enveloped"]
    return existing, replay


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
