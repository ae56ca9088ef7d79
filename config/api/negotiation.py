"""Content negotiation: JSON out, whatever the Accept header asks for."""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an Accept header no renderer offers (``application/xml``,
    ``text/html`` alone) gets the view's first renderer, the JSON envelope, instead of a 406,
    a status the contract does not have."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type
