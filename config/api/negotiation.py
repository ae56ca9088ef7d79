"""Content negotiation: JSON out, whatever the Accept header asks for; a body no parser of the
view reads is refused up front."""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that

    - an Accept header no renderer offers (``application/xml``, ``text/html`` alone) gets the
      view's first renderer, the JSON envelope, instead of a 406, a status the contract does not have;
    - a request body of a content type none of the view's parsers takes (a form sent to a JSON
      endpoint) is 415 UNSUPPORTED_MEDIA_TYPE before anything else runs. DRF alone would only
      notice when the view reads ``request.data``: an action that takes no body (publish, mark
      read, redeliver) would run anyway, and an anonymous caller would learn what exists first.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        if hasattr(request, "parsers") and not getattr(request, "_body_type_checked", False):
            request._body_type_checked = True  # once: the error's own rendering negotiates again
            if _has_body(request) and self.select_parser(request, request.parsers) is None:
                raise exceptions.UnsupportedMediaType(request.content_type)
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


def _has_body(request) -> bool:
    """What DRF counts as a body (``Request._load_stream``): a positive Content-Length."""
    meta = request._request.META
    try:
        return int(meta.get("CONTENT_LENGTH", meta.get("HTTP_CONTENT_LENGTH", 0)) or 0) > 0
    except (TypeError, ValueError):
        return False
