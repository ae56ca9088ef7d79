"""One exception handler: every error becomes the contract's envelope, never a traceback."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from .envelope import error_body
from .errors import DomainError, RetryLater

logger = logging.getLogger("config.api")

# The database or the cache could not be reached, or refused for now (lost connection, deadlock,
# lock or statement timeout, "database is locked"): the request may succeed if retried, so 503
# SERVICE_UNAVAILABLE with Retry-After rather than INTERNAL_ERROR. Nothing was committed: services
# own their transactions, and a failed statement rolls its transaction back.
SERVICE_OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError, RedisConnectionError,
                                                RedisTimeoutError, ConnectionInterrupted)
OUTAGE_RETRY_AFTER_SECONDS = 5
OUTAGE_MESSAGE = "A service this request needs is unavailable; try again shortly."

# DRF exception class -> (code, default message); the first match in order wins.
DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.NotAuthenticated, "AUTHENTICATION_REQUIRED"),
    (drf.AuthenticationFailed, "INVALID_TOKEN"),
    (drf.PermissionDenied, "PERMISSION_DENIED"),
    (drf.NotFound, "NOT_FOUND"),
    (drf.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (drf.NotAcceptable, "NOT_ACCEPTABLE"),
    (drf.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (drf.Throttled, "RATE_LIMITED"),
    (drf.ParseError, "VALIDATION_ERROR"),
    (drf.ValidationError, "VALIDATION_ERROR"),
]


def error_response(code: str, message: str, status: int, details: dict | None = None, headers=None) -> Response:
    response = Response(error_body(code, message, details), status=status, headers=headers)
    response.enveloped = True
    return response


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RetryLater) else None
        return error_response(exc.code, exc.message, exc.status_code, exc.details, headers)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(detail=_django_validation_details(exc))
    elif isinstance(exc, RequestDataTooBig):
        return error_response("PAYLOAD_TOO_LARGE", "The request body is too large.", 413)
    elif isinstance(exc, SuspiciousOperation):
        # Client input Django refuses while parsing it (more than DATA_UPLOAD_MAX_NUMBER_FIELDS
        # query or form fields, too many files): a bad request, not an INTERNAL_ERROR.
        return error_response("VALIDATION_ERROR", "The request could not be read (too many fields or files?).", 400)
    elif isinstance(exc, (InvalidToken, TokenError)):
        auth_header = getattr(exc, "auth_header", None)  # a 401 names its scheme (RFC 7235)
        headers = {"WWW-Authenticate": auth_header} if auth_header else None
        return error_response("INVALID_TOKEN", "The token is invalid or expired.", 401, headers=headers)

    if isinstance(exc, drf.APIException):
        return _drf_response(exc)

    request = context.get("request")
    if isinstance(exc, SERVICE_OUTAGES):
        logger.exception("A backing service failed on %s", getattr(request, "path", "?"))
        return error_response("SERVICE_UNAVAILABLE", OUTAGE_MESSAGE, 503,
                              headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})
    logger.exception("Unhandled error on %s", getattr(request, "path", "?"))
    return error_response("INTERNAL_ERROR", "An unexpected error occurred.", 500)


def _drf_response(exc: drf.APIException) -> Response:
    code = next((code for cls, code in DRF_CODES if isinstance(exc, cls)), None)
    headers = {}
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    custom_code = getattr(exc, "error_code", None)  # authentication classes name theirs
    details: dict = {}
    if isinstance(exc, drf.ValidationError):
        details = _validation_details(exc.detail)
        message = "Invalid input."
    elif isinstance(exc, drf.ParseError):
        message = "Malformed request body: " + str(exc.detail)
    else:
        message = _message(exc.detail)
    return error_response(custom_code or code or "ERROR", message, exc.status_code, details, headers or None)


def _message(detail) -> str:
    """A human sentence from an APIException's detail; simplejwt raises some with a dict
    (``{"detail": ..., "code": ...}``), whose repr must not become the message."""
    if isinstance(detail, dict):
        detail = detail.get("detail") or next(iter(detail.values()), "")
    if isinstance(detail, list):
        detail = detail[0] if detail else ""
    return str(detail) or "The request was refused."


def _validation_details(detail) -> dict[str, list[str]]:
    """VALIDATION_ERROR ``details``: each top-level field → a flat list of messages (API.md).
    Errors not tied to a field go under DRF's own key, ``non_field_errors``."""
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: _messages(detail)}


def _messages(value, path: tuple[str, ...] = ()) -> list[str]:
    """A field's errors as a flat list of strings. An error nested inside the field (a list item,
    a nested object's field) is prefixed with its path within the field, one ``segment: `` per
    level: ``"Item 0: …"`` for a list item, ``"in_app: …"`` for a nested field, so
    ``"Item 2: quantity: …"`` for a field of a list's third item. Items are numbered from 0,
    as the body's JSON array indexes them."""
    if isinstance(value, dict):
        # a nested serializer or DictField names its fields; a ListField numbers its items (ints);
        # a nested object's own errors (``non_field_errors``) are about the object at ``path``
        return [message for key, item in value.items()
                for message in _messages(item, path if key == api_settings.NON_FIELD_ERRORS_KEY
                                         else (*path, _segment(key)))]
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            # a ListSerializer (many=True): one entry per item, ``{}`` for an item without errors
            return _messages(dict(enumerate(value)), path)
        return [_prefixed(path, item) for item in value]
    return [_prefixed(path, value)]


def _segment(key) -> str:
    return f"Item {key}" if isinstance(key, int) else str(key)


def _prefixed(path: tuple[str, ...], message) -> str:
    return ": ".join((*path, str(message)))


def _django_validation_details(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(message) for error in errors for message in error.messages]
                for field, errors in exc.error_dict.items()}
    return {"non_field_errors": exc.messages}
