"""Mounted under /api/bench/ only when BENCH_FLOORS is set (config/urls.py)."""

from django.urls import path

from . import floors

urlpatterns = [
    path("floor/static", floors.static_floor, name="bench-floor-static"),
    path("floor/query", floors.query_floor, name="bench-floor-query"),
    path("floor/filtered", floors.filtered_floor, name="bench-floor-filtered"),
    path("floor/search", floors.search_floor, name="bench-floor-search"),
]
