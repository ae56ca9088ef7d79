import json

from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .envelope import success_body


class EnvelopeJSONRenderer(JSONRenderer):
    """Wraps every answer in the success envelope unless it is one already.

    Error answers and paginated lists are built as whole envelopes (they set
    ``response.enveloped``); everything else is wrapped here.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            if response.status_code == 204:
                return b""
            if not getattr(response, "enveloped", False):
                data = success_body(data, getattr(response, "message", None))
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            # A lone surrogate from the client ("\ud800" is not a valid choice) echoed in a message
            # cannot be UTF-8; escaped, as JSON allows, the answer is still valid JSON.
            return json.dumps(data, cls=self.encoder_class, ensure_ascii=True, separators=(",", ":")).encode()


def ok(data, *, message: str | None = None, status: int = 200, headers=None) -> Response:
    """A success answer with an optional human message."""
    response = Response(data, status=status, headers=headers)
    response.message = message
    return response
