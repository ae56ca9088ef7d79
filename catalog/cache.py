"""Anonymous catalog reads served from the Django cache (Redis when REDIS_URL is set, else the database cache that
every server process shares).

How it stays correct:

- Every store has a *generation* number in the cache. Each write that can
  change what the public sees calls ``catalog_cache_invalidate(store_id)``,
  which bumps it at once and again after COMMIT (a reader that rendered from
  the old snapshot in between cannot outlive the second bump).
- A cached page is stored under the store id and the normalized request
  (path, host, sorted known query parameters) together with the generation
  it was rendered at; an entry whose generation is not the current one is a
  miss. Reading both is one ``get_many`` round trip.
- Only anonymous requests use the cache (no ``Authorization``, no
  ``X-API-Key``): members, customers with a token and API keys always get a
  fresh answer, so a merchant never sees a stale page after saving.
- Only 200 answers are stored; the body is cached as rendered bytes without
  the envelope's ``timestamp``, which is added fresh to every answer.
- If the cache is down, reads fall through to the database and writes still
  succeed (the entries expire after ``CATALOG_CACHE_SECONDS`` anyway).

``CATALOG_CACHE_SECONDS=0`` switches page caching off. List totals (the
``COUNT(*)`` behind ``pagination.total``) are cached for anonymous callers
under the same generation for ``CATALOG_COUNT_CACHE_SECONDS`` (0 = off).
"""

import functools
import hashlib
import logging
import time
from types import SimpleNamespace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from rest_framework.settings import api_settings

from config.api.envelope import now_iso
from config.api.pagination import PagePagination, _positive_int

logger = logging.getLogger(__name__)

# Query parameters that can change a cached answer; anything else is ignored by the views,
# so it is left out of the key (random parameters cannot fill the cache with copies).
KNOWN_PARAMS = frozenset({"q", "category", "price_min", "price_max", "brand", "in_stock", "status", "featured",
                          "sort", "page", "limit", "tree"})
CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY")
TIMESTAMP_MARK = b',"timestamp":"'
KEPT_HEADERS = ("Content-Type", "Allow", "Vary")


def local_seconds() -> float:
    """CATALOG_CACHE_LOCAL_MS (default 250; 0: off): how long a worker may trust the generation it
    last read and answer hot pages from its own memory without asking the cache. Other workers
    then show a write up to that long after it (the writing worker at once); members never use
    the cache at all. The hit costs no network round trip, which is most of a strict hit."""
    return int(getattr(settings, "CATALOG_CACHE_LOCAL_MS", 250)) / 1000


def page_seconds() -> int:
    return int(getattr(settings, "CATALOG_CACHE_SECONDS", 300))


def count_seconds() -> int:
    return int(getattr(settings, "CATALOG_COUNT_CACHE_SECONDS", 300))


# --- generations ----------------------------------------------------------------
def _generation_key(store_id: int) -> str:
    return f"catalog:gen:{store_id}"


_last_generation = 0


def _fresh_generation() -> int:
    # Never reuses an old number even if the key was evicted: entries from before
    # the eviction carry smaller numbers and cannot match again.
    global _last_generation
    _last_generation = max(time.time_ns() // 1000, _last_generation + 1)
    return _last_generation


def _bump(store_id: int) -> None:
    _local_generations.pop(store_id, None)
    try:
        # A new number, not incr: without Redis (the database cache) incr is a read then a write, so two writers
        # committing at once could both write the same number and leave current a page rendered between them.
        cache.set(_generation_key(store_id), _fresh_generation(), timeout=None)
    except Exception:  # a cache outage must not fail a write; entries expire on their own
        logger.warning("catalog cache: could not bump the generation of store %s", store_id, exc_info=True)


# Per process, while CATALOG_CACHE_LOCAL_MS > 0: store id -> (generation, trusted until) and
# page key -> cached entry; bounded, dropped wholesale when full.
_local_generations: dict[int, tuple[int, float]] = {}
_local_pages: dict[str, tuple] = {}
LOCAL_PAGES_MAX = 2000


def local_forget() -> None:
    """Drops this process's trusted generations and pages (tests: one process plays every worker)."""
    _local_generations.clear()
    _local_pages.clear()


def catalog_cache_invalidate(store_id: int) -> None:
    """Makes every cached public catalog answer of the store stale, now and again after COMMIT.

    Call it after any write that can change what the public sees of a store's catalog:
    products, variants, images, categories, reviews, publish/archive, and the Store itself
    (update, currency change, deactivation). Never raises.
    """
    if store_id is None:
        return
    _bump(store_id)
    transaction.on_commit(functools.partial(_bump, store_id))


def generation(store_id: int) -> int | None:
    try:
        return cache.get(_generation_key(store_id))
    except Exception:
        return None


def _current_generation(store_id: int, value: int | None) -> int:
    if value is None:
        value = _fresh_generation()
        try:
            cache.add(_generation_key(store_id), value, timeout=None)
            value = cache.get(_generation_key(store_id), value)
        except Exception:
            pass
    return value


# --- keys ------------------------------------------------------------------------
def normalized_query(query_dict, *, drop: frozenset[str] = frozenset()) -> str:
    items = sorted((key, value) for key, values in query_dict.lists() if key in KNOWN_PARAMS and key not in drop
                   for value in values)
    return urlencode(items)


def _page_key(store_id: int, request) -> str | None:
    try:
        host = request.get_host()  # absolute image URLs depend on it
    except Exception:
        return None
    scheme = "https" if request.is_secure() else "http"
    raw = f"{scheme}://{host}{request.path}?{normalized_query(request.GET)}"
    return f"catalog:page:{store_id}:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"


def is_anonymous(request) -> bool:
    """No credentials at all: DRF would authenticate nobody (session cookies are not an API login)."""
    meta = request.META
    if any(meta.get(header) for header in CREDENTIAL_HEADERS):
        return False
    # DRF's test client logs in without headers (APIClient.force_authenticate)
    return getattr(request, "_force_auth_user", None) is None and getattr(request, "_force_auth_token", None) is None


# Per process: store slug → id. Ids never change and slugs are not edited; should a slug
# ever point at another store, the view's own store differs from the memo, nothing is
# stored and the memo is corrected.
_slug_ids: dict[str, int] = {}


def _store_id_for(slug: str) -> int | None:
    store_id = _slug_ids.get(slug)
    if store_id is None:
        from stores.models import Store

        store_id = Store.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if store_id is not None:
            _remember_store(slug, store_id)
    return store_id


def _remember_store(slug: str, store_id: int) -> None:
    if len(_slug_ids) > 10_000:
        _slug_ids.clear()
    _slug_ids[slug] = store_id


# --- throttling on the fast path -------------------------------------------------------
def _throttled(request) -> bool:
    """The default throttles, as DRF would apply them to an anonymous caller."""
    shim = SimpleNamespace(META=request.META, headers=request.headers, user=AnonymousUser(), api_key=None)
    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        throttle = throttle_class()
        if getattr(throttle, "rate", None) is None:
            continue
        if not throttle.allow_request(shim, None):
            return True
    return False


# --- the view wrapper --------------------------------------------------------------
def _serve(entry: tuple, request) -> HttpResponse:
    _generation, prefix, headers = entry
    response = HttpResponse(prefix + TIMESTAMP_MARK + now_iso().encode() + b'"}')
    for name, value in headers:
        response[name] = value
    response["X-Cache"] = "hit"
    return response


def _remember_page(key: str, entry: tuple) -> None:
    if len(_local_pages) >= LOCAL_PAGES_MAX:
        _local_pages.clear()
    _local_pages[key] = entry


def _store(response, key: str, store_id: int, current: int) -> None:
    if response.status_code != 200 or getattr(response, "streaming", False):
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    body = bytes(response.content)
    cut = body.rfind(TIMESTAMP_MARK)
    if cut < 0 or not body.endswith(b'"}'):
        return
    headers = tuple((name, response[name]) for name in KEPT_HEADERS if response.has_header(name))
    entry = (current, body[:cut], headers)
    if local_seconds() > 0:
        _remember_page(key, entry)
    try:
        cache.set(key, entry, timeout=page_seconds())
    except Exception:
        logger.warning("catalog cache: could not store a page", exc_info=True)
    response["X-Cache"] = "miss"


def catalog_cached_read(view, *, store_kwarg: str = "store"):
    """Wraps a catalog GET view so anonymous answers come from the cache when they are current."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if page_seconds() <= 0 or request.method != "GET" or not is_anonymous(request):
            return view(request, *args, **kwargs)
        slug = kwargs.get(store_kwarg, "")
        store_id = _store_id_for(slug)
        key = _page_key(store_id, request) if store_id is not None else None
        if key is None:
            return view(request, *args, **kwargs)
        trust = local_seconds()
        if trust > 0:
            known = _local_generations.get(store_id)
            if known is not None and known[1] > time.monotonic():
                entry = _local_pages.get(key)
                if entry is not None and entry[0] == known[0] and not _throttled(request):
                    return _serve(entry, request)
        try:
            found = cache.get_many([_generation_key(store_id), key])
        except Exception:
            return view(request, *args, **kwargs)
        # The generation is read before the view reads the database, so what gets stored
        # is never older than the generation it is stored under.
        current = _current_generation(store_id, found.get(_generation_key(store_id)))
        if trust > 0:
            _local_generations[store_id] = (current, time.monotonic() + trust)
        entry = found.get(key)
        if entry is not None and entry[0] == current and not _throttled(request):
            if trust > 0:
                _remember_page(key, entry)
            return _serve(entry, request)
        response = view(request, *args, **kwargs)
        store = getattr((getattr(response, "renderer_context", None) or {}).get("view"), "store", None)
        if store is None:
            return response
        if store.pk != store_id:
            _remember_store(slug, store.pk)
            return response
        _store(response, key, store_id, current)
        return response

    return wrapped


# --- list totals ----------------------------------------------------------------------
class CatalogPagination(PagePagination):
    """The contract's pagination; for the public, ``total`` comes from the cache while the
    store's generation is unchanged, so a page of a big catalog does not run COUNT(*) each time."""

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(queryset, list):
            self.request = request
            self.limit = self.get_page_size(request)
            self.page_number = _positive_int(request.query_params.get(self.page_query_param), 1)
            start = (self.page_number - 1) * self.limit
            self.total = len(queryset)
            return queryset[start : start + self.limit]
        return self.paginate_rows(lambda start, limit: list(queryset[start : start + limit]), queryset.count,
                                  request, view)

    def paginate_rows(self, fetch, count, request, view=None):
        """A page from ``fetch(start, limit)``; the total from ``count()`` unless the page or the cache tells it."""
        self.request = request
        self.limit = self.get_page_size(request)
        self.page_number = _positive_int(request.query_params.get(self.page_query_param), 1)
        start = (self.page_number - 1) * self.limit
        rows = fetch(start, self.limit)
        if start == 0 and len(rows) < self.limit:
            self.total = len(rows)  # the whole result is on this page: no COUNT needed
        else:
            self.total = self._count(count, request, view)
        return rows

    def _count(self, count, request, view) -> int:
        store = getattr(view, "store", None)
        access = getattr(view, "access", None)
        if count_seconds() <= 0 or store is None or access is None or access.is_member:
            return count()
        raw = f"{request.path}?{normalized_query(request.query_params, drop=frozenset({'page', 'limit'}))}"
        key = f"catalog:count:{store.pk}:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"
        try:
            found = cache.get_many([_generation_key(store.pk), key])
        except Exception:
            return count()
        current = _current_generation(store.pk, found.get(_generation_key(store.pk)))
        entry = found.get(key)
        if entry is not None and entry[0] == current:
            return entry[1]
        total = count()
        try:
            cache.set(key, (current, total), timeout=count_seconds())
        except Exception:
            pass
        return total


# --- direct saves -------------------------------------------------------------------------
def _row_changed(sender, instance, **kwargs) -> None:
    catalog_cache_invalidate(instance.store_id)


def connect_signals() -> None:
    """Images (alt, position) and reviews are also saved and deleted outside catalog.services
    (the image PATCH, the admin's inline, review deletion); those rows invalidate themselves.
    Everything else is invalidated by the services, which also cover queryset.update()."""
    from django.db.models.signals import post_delete, post_save

    from .models import ProductImage, Review

    for model in (ProductImage, Review):
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"catalog-cache-{model.__name__}-save")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"catalog-cache-{model.__name__}-delete")
