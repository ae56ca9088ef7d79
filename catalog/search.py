"""Catalog search: ranked full-text search and typo-tolerant suggestions.

PostgreSQL: ``Product.search_vector`` holds name (weight A), brand and category
name (B) and description (C). It is maintained by triggers (migrations 0002 and
0004), not by Python code: a product trigger recomputes the vector on INSERT
and on UPDATE OF name, brand, description or category_id, and a category
trigger touches its products when a category is renamed. Triggers were chosen
because they also cover bulk_create, queryset.update(), the CSV import, the
admin and raw SQL, which a save()-based refresh would miss. The vector is
GIN-indexed; product names also have a trigram GIN index (pg_trgm) for
suggestions and a (store, status, lower(name) COLLATE "C") index for prefixes.

The query is the user's words as ``websearch_to_tsquery('english')``; when nothing
matches them, the same with the last word as a prefix (``'blue' & 'cot':*``), so a
half-typed last word still matches. The work per query is bounded: the newest
``SEARCH_MAX_RESULTS`` (500) matches are the candidates (an index walk or a bitmap
scan, whichever the planner finds cheaper), and only they are ranked, by ``ts_rank``
over the weights stored in the vector, newest first among equals. A search answers
at most that many products, and ``pagination.total`` counts them. A word in a fifth
of the catalog ("tee") no longer ranks every match.

SQLite: every word must appear (icontains) in the name, brand, category name or
description; the rank prefers exact, then starting, then containing names.
Same API, same answers for plain words.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Collate, Lower

from stores.models import Store

from .models import Product, ProductStatus
from .output import PRODUCT_SELECT_COLUMNS, children_sql, product_rows_of

MAX_WORDS = 10
SUGGESTION_MIN_SIMILARITY = 0.4


def max_results() -> int:
    """SEARCH_MAX_RESULTS: how many matches, the newest, a search ranks and answers."""
    return int(getattr(settings, "SEARCH_MAX_RESULTS", 500))


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def words_of(q: str) -> list[str]:
    return [word for word in q.split() if word][:MAX_WORDS]


def _ts_word(word: str) -> str:
    """A word safe inside a raw tsquery (letters and digits only)."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


def prefix_terms(q: str) -> tuple[str, str] | None:
    """``q`` split for a prefix search: (the other words in websearch syntax or "", the last word as a
    raw prefix term ``cot:*``), or None where a prefix means nothing.

    Only the last word: it is the one still being typed. It is tried as typed ('simple': names,
    brands) and stemmed ('english': descriptions hold stems only), so "useful thi" finds "a useful thing".
    """
    words = words_of(q)
    if any(word.lower() == "or" or word.startswith('"') for word in words):
        return None  # OR and phrase searches: websearch syntax alone says what the user meant
    last = _ts_word(words[-1]) if words else ""
    if not last or words[-1].startswith("-"):
        return None
    # the rest as websearch too, so "-word" still excludes
    return " ".join(word for word in words[:-1] if _ts_word(word)), f"{last}:*"


def prefix_query(q: str):
    """``q`` with its last word as a prefix (``'blue' & 'cot':*``), or None where that means nothing
    (see prefix_terms)."""
    from django.contrib.postgres.search import SearchQuery

    terms = prefix_terms(q)
    if terms is None:
        return None
    others, last = terms
    prefix = (SearchQuery(last, search_type="raw", config="simple")
              | SearchQuery(last, search_type="raw", config="english"))
    if others:
        prefix = SearchQuery(others, search_type="websearch", config="english") & prefix
    return prefix


def search_query(queryset: QuerySet[Product], q: str):
    """The PostgreSQL tsquery for ``q`` within ``queryset``: the words as typed (websearch syntax)
    while anything matches them, else the same with the last word as a prefix.

    A prefix term is the expensive part of a GIN lookup (it walks every word it starts: ~12 ms
    instead of ~0.6 ms for "classic tee" over 100,000 products), so it is only paid for when the
    words alone find nothing, which is when the last word is half typed. The check is one
    indexed EXISTS.
    """
    from django.contrib.postgres.search import SearchQuery

    query = SearchQuery(q, search_type="websearch", config="english")
    prefix = prefix_query(q)
    if prefix is None or queryset.filter(search_vector=query).exists():
        return query
    return prefix


def text_match(queryset: QuerySet[Product], q: str, *, rank: bool) -> QuerySet[Product]:
    """Products of ``queryset`` matching ``q``; with ``rank``, annotated ``rank`` (higher is better)."""
    words = words_of(q)
    if not words:
        return queryset.annotate(rank=Value(0.0)) if rank else queryset
    queryset, rank_expression = _matching(queryset, q, words)
    return queryset.annotate(rank=rank_expression) if rank else queryset


def _matching(queryset: QuerySet[Product], q: str, words: list[str]):
    """``queryset`` narrowed to the matches of ``q``, and the rank expression for them."""
    if on_postgres():
        from django.contrib.postgres.search import SearchRank

        query = search_query(queryset, q)
        return queryset.filter(search_vector=query), SearchRank(F("search_vector"), query)
    condition = Q()
    for word in words:
        condition &= (Q(name__icontains=word) | Q(brand__icontains=word) | Q(category__name__icontains=word)
                      | Q(description__icontains=word))
    return queryset.filter(condition), Case(
        When(name__iexact=q.strip(), then=Value(4.0)),
        When(name__istartswith=words[0], then=Value(3.0)),
        When(name__icontains=words[0], then=Value(2.0)),
        When(Q(brand__icontains=words[0]) | Q(category__name__icontains=words[0]), then=Value(1.0)),
        default=Value(0.5), output_field=FloatField(),
    )


def published(store: Store) -> QuerySet[Product]:
    """What search sees: published products of the store (the views answer 404 for inactive stores)."""
    return Product.objects.filter(store=store, status=ProductStatus.PUBLISHED)


def product_search(*, store: Store, q: str) -> QuerySet[Product]:
    """Published products matching ``q``, best match first (newest first among equals): the newest
    ``max_results()`` matches, ranked. PostgreSQL's GET search answers the same by ``search_page``."""
    words = words_of(q)
    if not words:
        return published(store).none()
    matches, rank = _matching(published(store), q, words)
    candidates = matches.order_by("-created_at", "-id").values("pk")[: max_results()]
    return published(store).filter(pk__in=candidates).annotate(rank=rank).order_by("-rank", "-created_at", "-id")


# PostgreSQL: GET search as one statement. The candidates are the newest matches (LIMIT: the bound on
# the rows read and ranked), the words as typed first; the prefix branch runs only when they found
# nothing (its NOT EXISTS is a one-time filter): the EXISTS check of search_query without a round
# trip of its own. Then the page of the ranked candidates with its rows, and how many there are.
# The rank takes the tsquery as a one-time subquery's value: with the words bound as a parameter
# (server-side binding) a tsquery function in the rank would be run again for every match; written out
# (Django's client-side binding) PostgreSQL folds it to a constant either way.
_CANDIDATES = """{name} AS MATERIALIZED (
    SELECT p.id, p.created_at, ts_rank(p.search_vector, (SELECT {query})) AS rank
    FROM catalog_product p
    WHERE p.store_id = %s AND p.status = 'published' AND p.search_vector @@ {query}{unless}
    ORDER BY p.created_at DESC, p.id DESC LIMIT %s)"""
_WORDS = "websearch_to_tsquery('english', %s)"
_PREFIX = "(to_tsquery('simple', %s) || to_tsquery('english', %s))"
_PAGE = """
, page AS (SELECT id, rank, created_at FROM found ORDER BY rank DESC, created_at DESC, id DESC LIMIT %s OFFSET %s)
SELECT {columns}, (SELECT count(*) FROM found)
FROM (SELECT 1) one
LEFT JOIN (page JOIN catalog_product p ON p.id = page.id LEFT JOIN catalog_category c ON c.id = p.category_id)
    ON true
ORDER BY page.rank DESC, page.created_at DESC, page.id DESC"""


def search_statement(q: str, *, store_id: int, start: int, limit: int) -> tuple[str, list]:
    """The statement of ``search_page`` and its parameters."""
    bound = max_results()
    sql = "WITH " + _CANDIDATES.format(name="words", query=_WORDS, unless="")
    params: list = [q, store_id, q, bound]
    prefix = prefix_terms(q)
    if prefix is None:
        sql += ", found AS (SELECT * FROM words)"
    else:
        others, last = prefix
        query, query_params = (f"({_WORDS} && {_PREFIX})", [others, last, last]) if others else (_PREFIX, [last, last])
        sql += ", " + _CANDIDATES.format(name="prefixed", query=query, unless=" AND NOT EXISTS (SELECT 1 FROM words)")
        params += [*query_params, store_id, *query_params, bound]
        sql += ", found AS (SELECT * FROM words UNION ALL SELECT * FROM prefixed)"
    return sql + _PAGE.format(columns=PRODUCT_SELECT_COLUMNS), [*params, limit, start]


def search_page(*, store_id: int, q: str, start: int, limit: int):
    """PostgreSQL: a page of GET search as rows, in ``product_search``'s order, with their variants and
    images (read by the next execute) and the number of results. Returns (rows, children, total)."""
    if not words_of(q):
        return [], None, 0
    sql, params = search_statement(q, store_id=store_id, start=start, limit=limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    total = found[0][-1] if found else 0
    rows = product_rows_of(row[:-1] for row in found if row[0] is not None)
    return rows, (children_sql([row.id for row in rows]) if rows else None), total


def product_suggestions(*, store: Store, q: str, limit: int = 10) -> list[dict]:
    """Up to ``limit`` published products for a search box: ``{id, name, slug}``.

    Names starting with ``q`` first, then names with a word starting with ``q``, then (PostgreSQL)
    names close to ``q`` despite typos (pg_trgm word similarity). At most three indexed queries,
    each run only while the list is short.
    """
    q = " ".join(q.split())[:100]
    if not q:
        return []
    base = published(store)
    fields = ("id", "name", "slug")
    # byte order on PostgreSQL: the order of its prefix index (migration 0005), so the scan stops at `limit`
    lower_name = Collate(Lower("name"), "C") if on_postgres() else Lower("name")
    found = list(base.annotate(lower_name=lower_name).filter(lower_name__startswith=q.lower())
                 .order_by("lower_name", "id").values(*fields)[:limit])
    if len(found) < limit:
        seen = [row["id"] for row in found]
        found += list(base.filter(name__icontains=f" {q}").exclude(pk__in=seen).order_by("name", "id")
                      .values(*fields)[: limit - len(found)])
    if len(found) < limit and on_postgres():
        found += _fuzzy(base, q, exclude=[row["id"] for row in found], limit=limit - len(found))
    return found


def _fuzzy(base: QuerySet[Product], q: str, *, exclude: list[int], limit: int) -> list[dict]:
    """Names with a word close to ``q`` (one or two typos), via the trigram index on name."""
    from django.contrib.postgres.search import TrigramWordSimilarity

    with transaction.atomic(), connection.cursor() as cursor:
        # `name %> q` (word similarity above this threshold) is what the trigram index answers;
        # pg_trgm's default (0.6) misses many one-letter typos in short words
        cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = %s", [SUGGESTION_MIN_SIMILARITY])
        return list(base.filter(name__trigram_word_similar=q).exclude(pk__in=exclude)
                    .annotate(similarity=TrigramWordSimilarity(Value(q), "name"))
                    .order_by("-similarity", "name", "id").values("id", "name", "slug")[:limit])
