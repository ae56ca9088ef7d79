"""The one evaluation function: defaults, the platform's kill switch, a store's own switch, the caches."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from auditlog.models import AuditLog
from config.api.errors import ValidationFailed
from features import flags
from features.flags import flags_for, is_enabled
from features.models import FeatureFlag
from features.registry import FLAGS, REGISTRY
from features.services import feature_flag_reset, feature_flag_set, store_features_set


def test_every_flag_has_its_default_without_rows(store):
    for flag in FLAGS:
        assert is_enabled(flag.name) is flag.default
        assert is_enabled(flag.name, store=store) is flag.default
    assert flags_for(store) == {flag.name: flag.default for flag in FLAGS}


def test_an_unknown_flag_is_a_programming_error(db):
    with pytest.raises(ValueError):
        is_enabled("teleport")


def test_a_store_switches_its_own_feature_off_and_on(store, other_store):
    # when
    assert feature_flag_set(name="reviews", enabled=False, store=store, actor=store.owner) is True
    # then
    assert is_enabled("reviews", store=store) is False
    assert is_enabled("reviews", store=store.pk) is False
    assert is_enabled("reviews", store=other_store) is True
    assert is_enabled("reviews") is True  # the platform's
    entry = AuditLog.objects.get(store=store, action="feature.changed")
    assert entry.changes == {"name": "reviews", "enabled": [True, False]}
    # and back
    assert feature_flag_set(name="reviews", enabled=True, store=store, actor=store.owner) is True
    assert is_enabled("reviews", store=store) is True


def test_the_same_value_again_changes_nothing(store):
    feature_flag_set(name="coupons", enabled=False, store=store)
    assert feature_flag_set(name="coupons", enabled=False, store=store) is False
    assert AuditLog.objects.filter(action="feature.changed").count() == 1


def test_the_platform_switch_is_a_kill_switch(store):
    feature_flag_set(name="coupons", enabled=True, store=store)  # the store's own row says on
    feature_flag_set(name="coupons", enabled=False)
    assert is_enabled("coupons", store=store) is False
    assert is_enabled("coupons") is False
    # a store cannot switch on what the platform switched off
    with pytest.raises(ValidationFailed) as refused:
        feature_flag_set(name="analytics", enabled=False)
        feature_flag_set(name="analytics", enabled=True, store=store)
    assert "analytics" in refused.value.details
    # the platform back on: the store's own switch counts again
    feature_flag_reset(name="coupons")
    assert is_enabled("coupons", store=store) is True


def test_platform_only_flags_take_no_store_switch(store):
    assert REGISTRY["social_login"].platform_only
    with pytest.raises(ValidationFailed):
        feature_flag_set(name="social_login", enabled=False, store=store)
    feature_flag_set(name="social_login", enabled=False)
    assert is_enabled("social_login") is False
    assert is_enabled("social_login", store=store) is False


def test_store_features_set_is_all_or_nothing(store):
    with pytest.raises(ValidationFailed) as refused:
        store_features_set(store=store, values={"reviews": False, "social_login": False, "teleport": True})
    assert set(refused.value.details) == {"social_login", "teleport"}
    assert is_enabled("reviews", store=store) is True
    assert not FeatureFlag.objects.exists()
    # what it already is may be sent back, platform-wide flags included
    store_features_set(store=store, values={**flags_for(store), "reviews": False})
    assert flags_for(store)["reviews"] is False
    assert FeatureFlag.objects.count() == 1


def test_evaluation_is_cached_in_the_process_and_the_shared_cache(store, django_assert_num_queries):
    with django_assert_num_queries(1):  # the platform's rows and the store's in one query
        assert is_enabled("reviews", store=store) is True
    with django_assert_num_queries(0):
        for _ in range(100):
            is_enabled("reviews", store=store)
            is_enabled("coupons", store=store.pk)
            flags_for(store)
    # another process (this one, forgetting): the shared cache answers, no query
    flags.flags_cache_forget()
    with django_assert_num_queries(0):
        assert is_enabled("reviews", store=store) is True


def test_a_change_is_seen_at_once_here_and_by_other_processes_after_the_local_seconds(store, settings):
    assert is_enabled("reviews", store=store) is True  # cached here and shared
    feature_flag_set(name="reviews", enabled=False, store=store)
    assert is_enabled("reviews", store=store) is False  # this process: at once
    # read back inside the writing transaction (the test's): not cached, it may still roll back
    assert cache.get(flags._key(store.pk)) is None
    # another process still holding the old answer for a few seconds: simulate by planting it
    flags._local[store.pk] = (flags.time.monotonic() + 60, {})
    assert is_enabled("reviews", store=store) is True
    flags._local[store.pk] = (flags.time.monotonic() - 1, {})  # its local seconds are over
    assert is_enabled("reviews", store=store) is False


def test_a_cache_outage_falls_back_to_the_database(store, monkeypatch):
    feature_flag_set(name="reviews", enabled=False, store=store)
    flags.flags_cache_forget()

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(flags.cache, "get_many", down)
    monkeypatch.setattr(flags.cache, "set_many", down)
    assert is_enabled("reviews", store=store) is False


def test_a_store_switch_makes_the_catalogs_cached_pages_stale(store):
    from catalog.cache import generation

    before = generation(store.pk)
    feature_flag_set(name="reviews", enabled=False, store=store)
    assert generation(store.pk) != before


def test_the_catalog_list_asks_nothing_of_the_flags(store, api, make_variant):
    """Nothing the product list shows belongs to a feature that can be switched off: a list costs the queries it
    cost before, warm or cold flags alike."""
    make_variant()
    url = f"/api/v1/stores/{store.slug}/products"
    api.get(url)
    feature_flag_set(name="reviews", enabled=False, store=store)
    flags.flags_cache_forget()
    cache.delete(flags._key(store.pk))
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url, {"sort": "price"}).status_code == 200
    assert not [query for query in queries.captured_queries if "features_featureflag" in query["sql"]]


@pytest.mark.django_db(transaction=True)
def test_a_switch_rolled_back_is_not_left_in_the_caches(store_factory):
    store = store_factory()
    assert is_enabled("reviews", store=store) is True  # cached
    with pytest.raises(RuntimeError), transaction.atomic():
        feature_flag_set(name="reviews", enabled=False, store=store)
        assert is_enabled("reviews", store=store) is False  # read back in the transaction
        raise RuntimeError("rolled back")
    assert is_enabled("reviews", store=store) is True
    assert cache.get(flags._key(store.pk)) == {}
    # committed: seen at once, and shared
    with transaction.atomic():
        feature_flag_set(name="reviews", enabled=False, store=store)
    assert is_enabled("reviews", store=store) is False
    assert cache.get(flags._key(store.pk)) == {"reviews": False}
