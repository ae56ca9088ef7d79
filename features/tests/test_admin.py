"""Feature flags in the admin: platform flags by superusers only, a store's by store.manage."""

from auditlog.models import AuditLog
from features.flags import is_enabled
from features.models import FeatureFlag
from features.registry import FLAGS
from features.services import feature_flag_set

CHANGELIST = "/admin/features/featureflag/"
ADD = "/admin/features/featureflag/add/"


def test_superusers_switch_platform_flags(store, user_factory, admin_login):
    platform = admin_login(user_factory(is_superuser=True, is_staff=True))
    response = platform.post(ADD, {"name": "social_login", "store": "", "enabled": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert is_enabled("social_login") is False
    row = FeatureFlag.objects.get(name="social_login")
    assert row.store is None and row.updated_by
    page = platform.get(CHANGELIST).content.decode()
    assert "social_login" in page and "Platform" in page
    assert 'id="known-flags"' in page and all(flag.name in page for flag in FLAGS)  # the registry, listed
    # back to the default: the row goes
    response = platform.post(f"/admin/features/featureflag/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert is_enabled("social_login") is True


def test_a_store_manager_switches_their_stores_flags_not_the_platforms(store, other_store, admin_login):
    feature_flag_set(name="coupons", enabled=False)  # the platform's row: not theirs to see
    feature_flag_set(name="coupons", enabled=False, store=other_store)
    owner = admin_login(store.owner)
    page = owner.get(ADD).content.decode()
    assert 'value="reviews"' in page and 'value="social_login"' not in page
    # a platform row cannot be made here: the store is required
    response = owner.post(ADD, {"name": "reviews", "store": "", "enabled": ""})
    assert response.status_code == 200 and "store" in response.context["adminform"].form.errors
    # nor another store's
    response = owner.post(ADD, {"name": "reviews", "store": other_store.pk, "enabled": ""})
    assert response.status_code == 200 and "store" in response.context["adminform"].form.errors
    # nor a platform-only flag
    response = owner.post(ADD, {"name": "social_login", "store": store.pk, "enabled": ""})
    assert response.status_code == 200 and "name" in response.context["adminform"].form.errors
    # their own store's
    response = owner.post(ADD, {"name": "reviews", "store": store.pk, "enabled": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert is_enabled("reviews", store=store) is False
    assert AuditLog.objects.filter(store=store, action="feature.changed").exists()
    # the list: their store's rows only
    rows = owner.get(CHANGELIST).context["cl"].result_list
    assert [(row.name, row.store_id) for row in rows] == [("reviews", store.pk)]
    platform_row = FeatureFlag.objects.get(name="coupons", store=None)
    assert owner.get(f"/admin/features/featureflag/{platform_row.pk}/change/").status_code in (302, 403, 404)
    assert owner.post(f"/admin/features/featureflag/{platform_row.pk}/change/",
                      {"enabled": "on"}).status_code in (302, 403, 404)
    assert is_enabled("coupons") is False


def test_a_store_flag_the_platform_switched_off_cannot_be_switched_on(store, admin_login):
    feature_flag_set(name="analytics", enabled=False)
    response = admin_login(store.owner).post(ADD, {"name": "analytics", "store": store.pk, "enabled": "on"})
    assert response.status_code == 200 and "enabled" in response.context["adminform"].form.errors
    assert not FeatureFlag.objects.filter(store=store).exists()


def test_staff_without_store_manage_cannot_switch(store, member_factory, admin_login):
    staff = admin_login(member_factory(store, "staff"))
    assert staff.post(ADD, {"name": "reviews", "store": store.pk, "enabled": ""}).status_code == 403
    assert is_enabled("reviews", store=store) is True


def test_the_list_reads_the_stores_switches_once_whatever_their_number(store_factory, user_factory, admin_login):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from features import flags
    from stores.models import Store

    platform = admin_login(user_factory(is_superuser=True, is_staff=True))
    platform.get(CHANGELIST)  # the first page of a session reads more (its own tables, content types)
    counts = []
    for _ in range(2):
        for _ in range(3):
            feature_flag_set(name="reviews", enabled=False, store=store_factory())
        flags.flags_cache_forget()  # every store's switches cold, here and in the shared cache
        cache.delete_many([flags._key(pk) for pk in Store.objects.values_list("pk", flat=True)])
        with CaptureQueriesContext(connection) as queries:
            assert platform.get(CHANGELIST).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
