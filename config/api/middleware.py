import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.http import JsonResponse

from .envelope import error_body
from .exceptions import OUTAGE_MESSAGE, OUTAGE_RETRY_AFTER_SECONDS, SERVICE_OUTAGES

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# The request being served, for code that is not handed it (audit entries written by services).
current_request_var: contextvars.ContextVar = contextvars.ContextVar("current_request", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIDMiddleware:
    """Gives every request an id (the client's X-Request-ID when it is sane) and echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        request_token = current_request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request_var.reset(request_token)
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs a 4xx/5xx after the middleware chain has returned (the context
            # variable is reset by then), but it passes the request along.
            request = getattr(record, "request", None)
            record.request_id = request_id_var.get() or getattr(request, "request_id", "")
        return True


class BodySizeLimitMiddleware:
    """Refuses API bodies over the configured limits before anything reads them.

    DRF's parsers read the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    alone would not stop a huge JSON body; multipart uploads get the image limit, and a raw PUT of a
    3D model (maker's local upload URL) MAKER_UPLOAD_MAX_BYTES.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.content_type == "multipart/form-data"
            limit = settings.IMAGE_UPLOAD_MAX_BYTES + 64 * 1024 if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if request.method == "PUT" and request.content_type == "application/octet-stream":
                limit = settings.MAKER_UPLOAD_MAX_BYTES  # a model's bytes to a signed upload URL (maker, local storage)
            if length > limit:
                return JsonResponse(
                    error_body("PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes."), status=413
                )
        return self.get_response(request)


class ServiceOutageMiddleware:
    """An outage of the database or the cache raised by an API view outside DRF's exception handling (a wrapper
    around the view: the catalog's cached reads look the store up before DRF runs) answers as DRF's handler does:
    503 SERVICE_UNAVAILABLE with Retry-After in the envelope, not Django's 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/") or not isinstance(exception, SERVICE_OUTAGES):
            return None
        logging.getLogger("config.api").exception("A backing service failed on %s", request.path)
        return JsonResponse(error_body("SERVICE_UNAVAILABLE", OUTAGE_MESSAGE), status=503,
                            headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})
