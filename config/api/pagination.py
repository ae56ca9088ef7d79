import math

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from .envelope import success_body


class PagePagination(PageNumberPagination):
    """`?page=&limit=` (limit ≤ 100, default 20); answers the contract's list envelope.

    Out-of-range or malformed numbers are clamped rather than refused, so a
    storefront following an old link gets an empty page, not an error.
    """

    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_page_size(request)
        self.page_number = _positive_int(request.query_params.get(self.page_query_param), 1)
        self.total = len(queryset) if isinstance(queryset, list) else queryset.count()
        start = (self.page_number - 1) * self.limit
        return list(queryset[start : start + self.limit])

    def paginate_counted(self, fetch, request) -> list:
        """A page from ``fetch(start, limit)``, which answers the page's rows and the total together."""
        self.request = request
        self.limit = self.get_page_size(request)
        self.page_number = _positive_int(request.query_params.get(self.page_query_param), 1)
        rows, self.total = fetch((self.page_number - 1) * self.limit, self.limit)
        return rows

    def get_page_size(self, request):
        requested = _positive_int(request.query_params.get(self.page_size_query_param), self.page_size)
        return min(requested, self.max_page_size)

    def get_paginated_response(self, data):
        body = success_body(data)
        body["pagination"] = {
            "page": self.page_number,
            "limit": self.limit,
            "total": self.total,
            "totalPages": max(1, math.ceil(self.total / self.limit)) if self.total else 0,
        }
        body["timestamp"] = body.pop("timestamp")
        response = Response(body)
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        from .schema import envelope  # the OpenAPI side, loaded only when a document is generated

        return envelope(schema, paginated=True)


# Far past any real page, yet (page - 1) * limit still fits a 64-bit SQL OFFSET.
MAX_PAGE_NUMBER = 1_000_000_000


def _positive_int(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except (TypeError, ValueError):
        return default
    return min(value, MAX_PAGE_NUMBER) if value > 0 else default
