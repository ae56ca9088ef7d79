"""Throttles answer 429 RATE_LIMITED with Retry-After in the error envelope.

DRF reads the rates into ``SimpleRateThrottle.THROTTLE_RATES`` at import, so overriding
settings is not enough: the tests patch the class attribute.
"""

import pytest
from django.conf import settings as django_settings
from rest_framework.throttling import SimpleRateThrottle


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**overrides: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **overrides})

    return set_rates


def test_anonymous_rate_limit(api, db, rates):
    # given
    rates(anon="3/min")
    for _ in range(3):
        assert api.get("/api/version").status_code == 200
    # when
    response = api.get("/api/version")
    # then
    assert response.status_code == 429
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_scoped_auth_rate_limit(api, db, rates):
    rates(auth="1/hour")
    api.post("/api/v1/auth/login", {"email": "a@example.com", "password": "x"}, format="json")
    response = api.post("/api/v1/auth/login", {"email": "a@example.com", "password": "x"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert 60 < int(response["Retry-After"]) <= 3600


def test_api_key_callers_are_limited_per_key_not_by_the_anonymous_rate(db, store, rates):
    from rest_framework.test import APIClient

    from teams.services import api_key_create

    # given a key, and an anonymous rate far below the per-key (user) rate
    _, raw_key = api_key_create(store=store, name="sync", scopes=["catalog.write"], access=None)
    rates(anon="2/min", user="4/min")
    client = APIClient(HTTP_X_API_KEY=raw_key)
    # when the key makes more requests than the anonymous rate allows
    answers = [client.get(f"/api/v1/stores/{store.slug}").status_code for _ in range(5)]
    # then only the per-key rate applies
    assert answers == [200, 200, 200, 200, 429]


def test_a_client_writing_its_own_x_forwarded_for_is_still_counted_by_its_address(api, db, rates, settings):
    # NUM_PROXIES unset: X-Forwarded-For is the client's own word, so it must not open a fresh bucket each time
    settings.NUM_PROXIES = None
    rates(anon="2/min")
    answers = [api.get("/api/version", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)]
    assert answers == [200, 200, 429]


def test_behind_one_proxy_each_client_address_the_proxy_saw_is_counted_apart(api, db, rates, settings):
    settings.NUM_PROXIES = 1
    rates(anon="1/min")
    # the proxy appends the address it saw; what the client wrote further left is ignored
    first = api.get("/api/version", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1").status_code
    spoofed = api.get("/api/version", HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.1").status_code
    other = api.get("/api/version", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code
    assert (first, spoofed, other) == (200, 429, 200)


# --- the shared budget (config.api.throttles.budget_take) -------------------------------------------
def test_most_requests_are_counted_without_asking_the_cache(db, monkeypatch):
    from config.api import throttles

    asked = []
    take = throttles._shared_take
    monkeypatch.setattr(throttles, "_shared_take", lambda *args: asked.append(args) or take(*args))
    answers = [throttles.budget_take("throttle_test_a", 1000, 60)[0] for _ in range(100)]
    assert all(answers)
    assert len(asked) == 5  # leases of 1000 // 50 = 20 tokens


def test_a_spent_window_refuses_without_asking_the_cache_and_says_when_it_ends(db, monkeypatch):
    from config.api import throttles

    asked = []
    take = throttles._shared_take
    monkeypatch.setattr(throttles, "_shared_take", lambda *args: asked.append(args) or take(*args))
    answers = [throttles.budget_take("throttle_test_b", 2, 60) for _ in range(5)]
    assert [allowed for allowed, _ in answers] == [True, True, False, False, False]
    assert len(asked) == 3  # one token per lease below 50/window, then one refusal; the rest locally
    assert all(0 < wait <= 60 for _, wait in answers)


def test_a_window_ends_and_a_new_one_starts(db):
    import time

    from config.api import throttles

    assert throttles.budget_take("throttle_test_c", 1, 1)[0]
    assert not throttles.budget_take("throttle_test_c", 1, 1)[0]
    time.sleep(1.1)
    assert throttles.budget_take("throttle_test_c", 1, 1)[0]


def test_another_process_sees_the_same_window(db):
    # a fresh process has no lease: it asks the cache, which holds the other process's count
    from config.api import throttles

    assert [throttles.budget_take("throttle_test_d", 3, 60)[0] for _ in range(2)] == [True, True]
    throttles.leases_forget()
    assert [throttles.budget_take("throttle_test_d", 3, 60)[0] for _ in range(2)] == [True, False]


@pytest.mark.skipif(not django_settings.REDIS_URL,
                    reason="processes share a window through Redis (the database cache: a read, then a write)")
def test_processes_together_never_pass_more_than_the_rate(db):
    import multiprocessing

    from config.api import throttles

    limit, processes, each = 300, 3, 200  # leases of 6 tokens

    def run(queue):
        throttles.leases_forget()
        queue.put(sum(throttles.budget_take("throttle_test_e", limit, 60)[0] for _ in range(each)))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=run, args=(queue,)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    allowed = sum(queue.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    # never more than the rate; less only by tokens a process leased and did not use
    assert limit - processes * 5 <= allowed <= limit


@pytest.mark.parametrize("local_ms", [250, 0])  # from the worker's memory; from the shared cache
def test_cached_catalog_pages_are_throttled_too(api, store, product_factory, rates, settings, local_ms):
    from catalog import cache as catalog_cache

    catalog_cache._slug_ids.clear()  # store ids are reused across tests on PostgreSQL
    settings.CATALOG_CACHE_LOCAL_MS = local_ms
    product_factory(store=store, name="Lamp")
    rates(anon="3/min")
    answers = [api.get(f"/api/v1/stores/{store.slug}/products") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.get("X-Cache") for answer in answers[:3]] == ["miss", "hit", "hit"]
    assert answers[3].json()["error"]["code"] == "RATE_LIMITED"
