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

Stock is not a catalog edit (docs/CATALOG.md "Cache and stock"): a stock change (a checkout's reservation, a
sale, a cancellation, a return, an inventory adjustment) leaves the generation alone and calls
``catalog_stock_changed``, which after COMMIT writes the variants' new counts into the store's *stock map*
(``catalog:stock:<store>`` and its recent changes ``catalog:stockrecent:<store>``, read in the same ``get_many``
as the generation). A cached page keeps its stock
fields (variant ``stock_quantity``, ``reserved``, ``available``, ``in_stock``, ``updated_at``; product
``in_stock``) as slots, filled on every hit from the map where it names the variant or product, else with
what was rendered. Pages whose *membership* depends on stock (an ``in_stock`` filter) also carry the map's
``flip`` stamp, renewed when some product's ``in_stock`` may have flipped.
"""

import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from contextvars import ContextVar
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
from config.cache import redis_client

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


def _stock_key(store_id: int) -> str:
    return f"catalog:stock:{store_id}"


def _recent_key(store_id: int) -> str:
    return f"catalog:stockrecent:{store_id}"


def _stock_keys(store_id: int) -> list[str]:
    """The stock map's two keys, read together: the map (large, rewritten every STOCK_RECENT_MAX changes) and
    its recent changes (small, rewritten by every publication)."""
    return [_stock_key(store_id), _recent_key(store_id)]


def _bump(store_id: int) -> None:
    _local_generations.pop(store_id, None)
    try:
        # A new number, not incr: without Redis (the database cache) incr is a read then a write, so two writers
        # committing at once could both write the same number and leave current a page rendered between them.
        # The stock map starts empty with it (its epoch and flip stamp the generation itself).
        value = _fresh_generation()
        cache.set_many({_generation_key(store_id): value, _stock_key(store_id): (value, value, value, {}),
                        _recent_key(store_id): (value, value, value, {}, value)}, timeout=None)
    except Exception:  # a cache outage must not fail a write; entries expire on their own
        logger.warning("catalog cache: could not bump the generation of store %s", store_id, exc_info=True)


# Per process, while CATALOG_CACHE_LOCAL_MS > 0: store id -> (state, trusted until), the state being what
# _state reads (generation, stock epoch, flip stamp, stock overlay), and page key -> cached entry; bounded,
# dropped wholesale when full.
_local_generations: dict[int, tuple[tuple, float]] = {}
_local_pages: dict[str, tuple] = {}
_local_bodies: dict[str, tuple] = {}  # page key -> (entry, stock overlay, the entry's body with the overlay in it)
LOCAL_PAGES_MAX = 2000


def local_forget() -> None:
    """Drops this process's trusted generations and pages (tests: one process plays every worker)."""
    _local_generations.clear()
    _local_pages.clear()
    _local_bodies.clear()


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


EMPTY: dict = {}


def _state(store_id: int, found: dict) -> tuple:
    """(generation, stock epoch, flip stamp, stock overlay) from a ``get_many`` answer holding the generation and
    the stock map's keys (the map; its recent changes: generation, epoch, flip, changes, a stamp new at each write).
    An entry rendered under a map must find the same epoch, so a lost map makes it a miss, never a stale hit:

    - no recent changes of this generation (never written, or evicted): no map, epoch None (the next publication
      starts a new epoch, so entries stored meanwhile miss after it);
    - recent changes without their map (the map evicted, or written by a writer that raced a bump): the epoch is
      the recent changes' stamp and nothing is overlaid, so every publication (which writes them) makes the
      entries stored meanwhile misses, until a fold writes both again under a new epoch."""
    current = _current_generation(store_id, found.get(_generation_key(store_id)))
    stock, recent = found.get(_stock_key(store_id)), found.get(_recent_key(store_id))
    if recent is None or recent[0] != current:
        return current, None, None, EMPTY
    if stock is None or recent[:2] != stock[:2]:
        return current, ("recent", recent[4]), None, EMPTY
    return current, stock[1], recent[2], {**stock[3], **recent[3]} if recent[3] else stock[3]


def _version(state: tuple, filtered: bool) -> tuple:
    """What an entry must carry to be current: the generation and stock epoch; the flip stamp too when the
    answer's membership depends on stock (an ``in_stock`` filter)."""
    return state[0], state[1], state[2] if filtered else None


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


# --- stock slots ------------------------------------------------------------------------------
# While a cached read renders (catalog.output asks stock_recording()), each variant's stock fields and each product's
# in_stock are rendered as placeholders carrying a per-process random nonce (a merchant's text cannot forge one) and
# their real values are recorded. The answer is the body with the recorded values in place; the cache keeps it with
# where each value sits, and a hit whose page shows a variant or product the store's stock map names puts the map's
# values there.
_NONCE = secrets.token_hex(8)
_SLOT = re.compile(rb'"\\u0000' + _NONCE.encode() + rb'([vp]\d+)([qraiu])\\u0000"')
FIELDS = {b"q": 0, b"r": 1, b"a": 2, b"i": 3, b"u": 4}
VARIANT_FIELDS = (("stock_quantity", "q"), ("reserved", "r"), ("available", "a"), ("in_stock", "i"),
                  ("updated_at", "u"))
_recording: ContextVar[dict | None] = ContextVar("catalog_stock_recording", default=None)


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _bool(value) -> bytes:
    return b"true" if value else b"false"


def stock_recording() -> dict | None:
    """The recorder of the cached read being rendered in this context, else None (render values as they are)."""
    return _recording.get()


def stock_slots_variant(out: dict, recorder: dict) -> None:
    """Records a variant dict's stock fields and puts placeholders in their place (catalog.output.variant_dict)."""
    ident = f"v{out['id']}"
    recorder[ident.encode()] = (b"%d" % out["stock_quantity"], b"%d" % out["reserved"], b"%d" % out["available"],
                                _bool(out["in_stock"]), _json(out["updated_at"]))
    for name, field in VARIANT_FIELDS:
        out[name] = f"\x00{_NONCE}{ident}{field}\x00"


def stock_slots_product(out: dict, recorder: dict) -> None:
    """Records a product dict's in_stock and puts a placeholder in its place (catalog.output.product_dict)."""
    ident = f"p{out['id']}"
    recorder[ident.encode()] = (None, None, None, _bool(out["in_stock"]), None)
    out["in_stock"] = f"\x00{_NONCE}{ident}i\x00"


def _template(raw: bytes, recorded: dict) -> tuple[bytes, tuple | None]:
    """A rendered body with its placeholders filled with the recorded values, and its template: where each value
    sits in it ((start, end, ident, field), in order) and which variants and products it shows; None when the body
    has no placeholders."""
    parts = _SLOT.split(raw)
    if len(parts) == 1:
        return raw, None
    out, spans, position = [parts[0]], [], len(parts[0])
    for index in range(1, len(parts), 3):
        ident, field = parts[index], FIELDS[parts[index + 1]]
        value, text = recorded[ident][field], parts[index + 2]
        spans.append((position, position + len(value), ident, field))
        out += (value, text)
        position += len(value) + len(text)
    return b"".join(out), (tuple(spans), frozenset(recorded))


def _overlaid(body: bytes, spans: tuple, overlay: dict) -> bytes:
    """``body`` with the values the stock map holds put in their slots (only those differ from the body)."""
    out, previous = [], 0
    for start, end, ident, field in spans:
        changed = overlay.get(ident)
        if changed is not None:
            out += (body[previous:start], changed[1][field])
            previous = end
    out.append(body[previous:])
    return b"".join(out)


def _render(view, request, args, kwargs):
    """The view's answer, rendered, its placeholders filled. Returns the answer and its body's template (None:
    nothing to fill)."""
    recorder: dict = {}
    token = _recording.set(recorder)
    try:
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
    finally:
        _recording.reset(token)
    template = None
    if recorder and not getattr(response, "streaming", False):
        response.content, template = _template(bytes(response.content), recorder)
    return response, template


# --- the view wrapper --------------------------------------------------------------
# An entry: (version, rendered at (wall clock), body before the timestamp with the stock as rendered, kept headers,
# template of that body (None: no stock in it)).
def _body(key: str, entry: tuple, overlay: dict) -> bytes:
    template = entry[4]
    if template is None or not overlay or overlay.keys().isdisjoint(template[1]):
        return entry[2]
    # the same page under the same map (a worker trusts one for CATALOG_CACHE_LOCAL_MS): filled once
    known = _local_bodies.get(key)
    if known is not None and known[0] is entry and known[1] is overlay:
        return known[2]
    body = _overlaid(entry[2], template[0], overlay)
    if len(_local_bodies) >= LOCAL_PAGES_MAX:
        _local_bodies.clear()
    _local_bodies[key] = (entry, overlay, body)
    return body


def _serve(key: str, entry: tuple, state: tuple, request) -> HttpResponse:
    response = HttpResponse(_body(key, entry, state[3]) + TIMESTAMP_MARK + now_iso().encode() + b'"}')
    for name, value in entry[3]:
        response[name] = value
    response["X-Cache"] = "hit"
    return response


def _current(entry: tuple, state: tuple, filtered: bool) -> bool:
    # entries in process memory may outlive their shared copy; the stock map forgets changes older than that
    return entry[0] == _version(state, filtered) and entry[1] > time.time() - page_seconds()


def _remember_page(key: str, entry: tuple) -> None:
    if len(_local_pages) >= LOCAL_PAGES_MAX:
        _local_pages.clear()
    _local_pages[key] = entry


def _store(response, template, key: str, version: tuple) -> None:
    if response.status_code != 200 or getattr(response, "streaming", False):
        return
    body = bytes(response.content)
    cut = body.rfind(TIMESTAMP_MARK)
    if cut < 0 or not body.endswith(b'"}'):
        return
    if template is not None and template[0][-1][1] > cut:  # the stock comes before the timestamp
        return
    headers = tuple((name, response[name]) for name in KEPT_HEADERS if response.has_header(name))
    entry = (version, time.time(), body[:cut], headers, template)
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
        filtered = "in_stock" in request.GET
        trust = local_seconds()
        if trust > 0:
            known = _local_generations.get(store_id)
            if known is not None and known[1] > time.monotonic():
                entry = _local_pages.get(key)
                if entry is not None and _current(entry, known[0], filtered) and not _throttled(request):
                    return _serve(key, entry, known[0], request)
        try:
            found = cache.get_many([_generation_key(store_id), *_stock_keys(store_id), key])
        except Exception:
            return view(request, *args, **kwargs)
        # The generation is read before the view reads the database, so what gets stored
        # is never older than the generation it is stored under.
        state = _state(store_id, found)
        if trust > 0:
            _local_generations[store_id] = (state, time.monotonic() + trust)
        entry = found.get(key)
        if entry is not None and _current(entry, state, filtered) and not _throttled(request):
            if trust > 0:
                _remember_page(key, entry)
            return _serve(key, entry, state, request)
        response, template = _render(view, request, args, kwargs)
        store = getattr((getattr(response, "renderer_context", None) or {}).get("view"), "store", None)
        if store is None:
            return response
        if store.pk != store_id:
            _remember_store(slug, store.pk)
            return response
        _store(response, template, key, _version(state, filtered))
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

    def paginate_rows(self, fetch, count, request, view=None, *, cached=True):
        """A page from ``fetch(start, limit)``; the total from ``count()`` unless the page or (``cached``: the
        count is a COUNT(*) worth keeping) the cache tells it."""
        self.request = request
        self.limit = self.get_page_size(request)
        self.page_number = _positive_int(request.query_params.get(self.page_query_param), 1)
        start = (self.page_number - 1) * self.limit
        rows = fetch(start, self.limit)
        if start == 0 and len(rows) < self.limit:
            self.total = len(rows)  # the whole result is on this page: no COUNT needed
        else:
            self.total = self._count(count, request, view) if cached else count()
        return rows

    @staticmethod
    def counts_cached(view) -> bool:
        """Whether a total of this view's request may come from the count cache (anonymous callers, the count cache
        on)."""
        access = getattr(view, "access", None)
        return count_seconds() > 0 and getattr(view, "store", None) is not None and access is not None and (
            not access.is_member)

    def _count(self, count, request, view) -> int:
        if not self.counts_cached(view):
            return count()
        store = view.store
        raw = f"{request.path}?{normalized_query(request.query_params, drop=frozenset({'page', 'limit'}))}"
        key = f"catalog:count:{store.pk}:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"
        filtered = "in_stock" in request.query_params  # the total moves with stock: the flip stamp counts too
        try:
            found = cache.get_many([_generation_key(store.pk), key, *(_stock_keys(store.pk) if filtered else [])])
        except Exception:
            return count()
        version = _version(_state(store.pk, found), filtered) if filtered else (
            _current_generation(store.pk, found.get(_generation_key(store.pk))),)
        entry = found.get(key)
        if entry is not None and entry[0] == version:
            return entry[1]
        total = count()
        try:
            cache.set(key, (version, total), timeout=count_seconds())
        except Exception:
            pass
        return total


# --- stock changes ------------------------------------------------------------------------------------
STOCK_MAP_MAX = 2000  # variants and products in a store's map; more, and the generation is bumped instead
STOCK_RECENT_MAX = 64  # changes kept apart from the map (written alone) before they are folded into it
STOCK_SLACK_SECONDS = 60  # a change is kept this long beyond CATALOG_CACHE_SECONDS (slow renders, clock skew)
STOCK_LOCK_SECONDS = 5  # the map's writer lock expires after this long (a writer that died holding it)
STOCK_LOCK_WAIT_SECONDS = 2.0  # a writer waits this long for the lock, then bumps the generation instead


def catalog_stock_changed(store_id: int | None, variant_ids, *, flipped: bool = False) -> None:
    """After COMMIT, writes the variants' stock as committed into the store's stock map, so every cached page
    showing them shows the new counts (other workers within CATALOG_CACHE_LOCAL_MS), without making the store's
    other pages stale. ``flipped``: some product's ``in_stock`` may have changed, so answers filtered on
    ``in_stock`` (pages, totals) are stale. The catalog.services.stock functions call it; a change of anything
    else (price, name, status, a variant added or removed) calls catalog_cache_invalidate. Never raises: when the
    map cannot be written, the store's generation is bumped instead."""
    ids = set(variant_ids)
    if store_id is None or not ids:
        return
    # one publication per store after COMMIT, however many changes the transaction made (an import of 1,000 rows:
    # one lock, one query): the changes wait in this thread's pending set, and the first callback takes them all.
    # A callback dropped with a rolled-back savepoint leaves its ids to the next one (published as committed:
    # harmless); a rolled-back transaction leaves them to the next transaction's publication (the same).
    pending = _pending_changes()
    known = pending.setdefault(store_id, [set(), False])
    known[0] |= ids
    known[1] = known[1] or flipped
    transaction.on_commit(_stock_publish_pending)


_pending = threading.local()


def _pending_changes() -> dict:
    if not hasattr(_pending, "changes"):
        _pending.changes = {}
    return _pending.changes


def _stock_publish_pending() -> None:
    changes, _pending.changes = _pending_changes(), {}
    for store_id, (ids, flipped) in changes.items():
        _stock_publish(store_id, tuple(sorted(ids)), flipped)


def _stock_publish(store_id: int, variant_ids: tuple, flipped: bool) -> None:
    _local_generations.pop(store_id, None)  # this worker sees its own change at once
    if page_seconds() <= 0 and count_seconds() <= 0:
        return
    try:
        client = redis_client()
        if client is not None:
            _stock_hand_over(client, store_id, variant_ids, flipped)
        else:
            _stock_publish_locked(store_id, variant_ids, flipped)
    except Exception:
        logger.warning("catalog cache: could not write the stock map of store %s", store_id, exc_info=True)
        _bump(store_id)
    _local_generations.pop(store_id, None)


def _stock_publish_locked(store_id: int, variant_ids: tuple, flipped: bool) -> None:
    """Any cache (the database cache of the embedded default): the map is written under the store's lock,
    waiting for it up to STOCK_LOCK_WAIT_SECONDS."""
    lock, token = f"catalog:stocklock:{store_id}", uuid.uuid4().hex
    if not _lock_take(lock, token):
        logger.warning("catalog cache: the stock map of store %s stayed locked; bumping its generation", store_id)
        _bump(store_id)
        return
    try:
        found = cache.get_many([_generation_key(store_id), _recent_key(store_id)])
        update = _stock_map_update(store_id, variant_ids, flipped, found.get(_generation_key(store_id)),
                                   found.get(_recent_key(store_id)))
        if update is _BUMP or (update and cache.get(lock) != token):  # the lock expired: another writer may be in
            _bump(store_id)
        elif update:
            # the map first: a reader between the two writes finds the new map under the old recent changes (a
            # variant in both shows its previous value until the second write), never recent changes without a map
            recent, stock = update
            cache.set_many({**({_stock_key(store_id): stock} if stock else {}), _recent_key(store_id): recent},
                           timeout=None)
    finally:
        if cache.get(lock) == token:
            cache.delete(lock)


def _lock_take(lock: str, token: str) -> bool:
    deadline = time.monotonic() + STOCK_LOCK_WAIT_SECONDS
    pause = 0.001
    while not cache.add(lock, token, timeout=STOCK_LOCK_SECONDS):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    return True


# Redis scripts of the hand-over, one round trip each. Keys: pending set, lock, generation, recent changes, map.
# _TAKE (args: token, lock seconds, pending seconds, changes): nothing when the store has no generation (no page
# cached: nothing to update); else the changes join the pending set and the lock is tried once: [1, every pending
# change, the generation, the recent changes] to its new holder, [0, the lock's value] to a publisher that found it
# taken. _WRITE (args: token, lock seconds, recent changes, map: each empty when unchanged), the holder's write:
# nothing written and [-1] if the lock expired under the holder (the next publisher takes what is pending); else
# the write, then [1, the changes added meanwhile, the generation, the recent changes] with the lock kept, or [0]
# and the lock released.
_TAKE = """if redis.call('exists', KEYS[3]) == 0 then return {-1} end
redis.call('sadd', KEYS[1], unpack(ARGV, 4))
redis.call('expire', KEYS[1], ARGV[3])
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then
    local changes = redis.call('smembers', KEYS[1])
    redis.call('del', KEYS[1])
    return {1, changes, redis.call('get', KEYS[3]), redis.call('get', KEYS[4])}
end
return {0, redis.call('get', KEYS[2])}"""
_WRITE = """if redis.call('get', KEYS[2]) ~= ARGV[1] then return {-1} end
if ARGV[4] ~= '' then redis.call('set', KEYS[5], ARGV[4]) end
if ARGV[3] ~= '' then redis.call('set', KEYS[4], ARGV[3]) end
if redis.call('scard', KEYS[1]) == 0 then
    redis.call('del', KEYS[2])
    return {0}
end
redis.call('expire', KEYS[2], ARGV[2])
local changes = redis.call('smembers', KEYS[1])
redis.call('del', KEYS[1])
return {1, changes, redis.call('get', KEYS[3]), redis.call('get', KEYS[4])}"""


def _stock_hand_over(client, store_id: int, variant_ids: tuple, flipped: bool) -> None:
    """With Redis, the store's publishers never wait for each other (under checkouts all of them publish to the
    same store: waiting for the lock in turn halved checkout throughput, bench/checkout.sh). Each adds its changes
    to the store's pending set and tries the lock once (_TAKE). The one that gets it writes everything pending and
    takes what was added meanwhile (_WRITE) until nothing is left; one that finds the lock taken leaves its
    changes to the holder and answers. A lock held longer than STOCK_LOCK_WAIT_SECONDS (a writer stuck or dead)
    bumps the generation, as the locked path does. Two round trips for a publication that finds the lock free."""
    keys = [cache.make_key(name) for name in (f"catalog:stockpending:{store_id}", f"catalog:stocklock:{store_id}",
                                              _generation_key(store_id), _recent_key(store_id), _stock_key(store_id))]
    token = b"%.6f:%s" % (time.time(), uuid.uuid4().hex.encode())
    members = [b"%d" % pk for pk in variant_ids] + ([b"flip"] if flipped else [])
    answer = client.register_script(_TAKE)(keys=keys, args=[token, STOCK_LOCK_SECONDS,
                                                            page_seconds() + STOCK_SLACK_SECONDS, *members])
    if answer[0] == 0 and _lock_age(answer[1]) > STOCK_LOCK_WAIT_SECONDS:
        logger.warning("catalog cache: the stock map of store %s stayed locked; bumping its generation", store_id)
        _bump(store_id)
    write, decode, encode = client.register_script(_WRITE), cache.client.decode, cache.client.encode
    while answer[0] == 1:
        _, changes, current, recent = answer
        ids = tuple(sorted(int(member) for member in changes if member != b"flip"))
        try:
            update = _stock_map_update(store_id, ids, b"flip" in changes,
                                       None if current is None else decode(current),
                                       None if recent is None else decode(recent))
        except Exception:  # the database or the cache failed: the pages go instead; the lock is released below
            logger.warning("catalog cache: could not write the stock map of store %s", store_id, exc_info=True)
            update = _BUMP
        if update is _BUMP:
            _bump(store_id)
            update = None
        values = [b"" if value is None else encode(value) for value in update or (None, None)]
        answer = write(keys=keys, args=[token, STOCK_LOCK_SECONDS, *values])
        if answer[0] == -1:  # the lock expired under us (another writer may be in): nothing was written
            _bump(store_id)


def _lock_age(holder: bytes | None) -> float:
    try:
        return time.time() - float(holder.split(b":", 1)[0])
    except (AttributeError, ValueError):
        return float("inf")  # not a lock this code wrote


_BUMP = object()  # _stock_map_update's answer when the generation must be bumped instead


def _stock_map_update(store_id: int, variant_ids: tuple, flipped: bool, current, recent):
    """Under the lock, from the generation and the recent changes as read: the variants read from the database as
    committed (so of two writers the later one writes the later counts, whatever the order their changes committed
    in), and what to write: (recent changes, map or None when the map is unchanged); None when the store has no
    generation (nothing cached: the next reader starts a fresh one); _BUMP when the map would pass
    STOCK_MAP_MAX.

    The map is two keys: the map itself and its recent changes (each with the generation, epoch and flip stamp).
    A write rewrites the small one only; once it holds STOCK_RECENT_MAX changes they are folded into the map, both
    keys in one write. Readers take both in one ``get_many`` and lay the recent changes over the map. Rewriting the
    whole map on every write cost 3 ms of CPU per checkout once it held 1,800 changes (bench/checkout.sh, 7 Dec)."""
    if current is None:
        return None
    added = _stock_entries(store_id, variant_ids)
    if recent is not None and recent[0] == current and len(recent[3]) + len(added) <= STOCK_RECENT_MAX:
        flip = _fresh_generation() if flipped else recent[2]
        return (current, recent[1], flip, {**recent[3], **added}, _fresh_generation()), None
    stock = cache.get(_stock_key(store_id))
    if stock is None or recent is None or stock[0] != current or recent[:2] != stock[:2]:
        # no map for this generation (evicted, or overwritten by a writer that lost a race with a bump): a new
        # epoch, so entries rendered without a map, or under the lost one, are misses
        epoch = flip = _fresh_generation()
        changed = added
    else:
        epoch, flip = stock[1], recent[2]
        horizon = time.time() - page_seconds() - STOCK_SLACK_SECONDS  # every page rendered before that has expired
        changed = {ident: item for ident, item in (stock[3] | recent[3]).items() if item[0] >= horizon} | added
    if flipped:
        flip = _fresh_generation()
    if len(changed) > STOCK_MAP_MAX:  # too many changes to carry on every read
        return _BUMP
    return (current, epoch, flip, {}, _fresh_generation()), (current, epoch, flip, changed)


def _stock_entries(store_id: int, variant_ids: tuple) -> dict:
    """The map's entries for the variants and their products, as committed: ident -> (written at, fields)."""
    from django.utils import timezone

    from config.db import rows_values

    from .models import Product, Variant
    from .output import iso

    now, zone, entries = time.time(), timezone.get_current_timezone(), {}
    if not variant_ids:
        return entries
    field = Variant._meta.get_field
    rows = rows_values(
        "SELECT v.id, v.product_id, v.stock_quantity, v.reserved, v.track_inventory, v.allow_backorder, v.updated_at,"
        " p.in_stock FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id"
        f" WHERE v.store_id = %s AND v.id IN ({', '.join(['%s'] * len(variant_ids))})", [store_id, *variant_ids],
        (*(field(name) for name in ("id", "product", "stock_quantity", "reserved", "track_inventory",
                                    "allow_backorder", "updated_at")), Product._meta.get_field("in_stock")))
    for pk, product_id, on_hand, reserved, track, backorder, updated, product_in_stock in rows:
        purchasable = not track or backorder or on_hand - reserved > 0
        entries[b"v%d" % pk] = (now, (b"%d" % on_hand, b"%d" % reserved, b"%d" % (on_hand - reserved),
                                      _bool(purchasable), _json(iso(updated, zone))))
        entries[b"p%d" % product_id] = (now, (None, None, None, _bool(product_in_stock), None))
    return entries


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
