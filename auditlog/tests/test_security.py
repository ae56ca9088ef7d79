"""The security log: each kind recorded at its source, the store's endpoint and its tenancy, the platform's admin
view, the daily summary to the owners, retention and erasure."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.tokens import uid_encode
from auditlog.models import ApiKeyAddress, SecurityDigest, SecurityEvent
from auditlog.security import email_hash, record_security_event, security_events_prune
from auditlog.security_reports import security_digests_send
from auditlog.tasks import security_digests_send_task
from teams.services import api_key_create

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"


def kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("pk").values_list("kind", flat=True))


def log_url(store) -> str:
    return f"/api/v1/stores/{store.slug}/security-events"


# --- Recorded at the source --------------------------------------------------------------------------------------


def test_a_failed_login_is_recorded_without_the_password_or_the_email(api, user, password):
    api.post(LOGIN, {"email": "Alice@Example.com", "password": "wrong-Pass-1"}, format="json",
             HTTP_USER_AGENT="curl/8")
    api.post(LOGIN, {"email": "nobody@example.com", "password": "wrong-Pass-1"}, format="json")

    known, unknown = SecurityEvent.objects.order_by("pk")
    assert (known.kind, known.user_id, known.details) == ("login_failed", user.pk, {"account": True})
    assert (unknown.kind, unknown.user_id, unknown.details) == ("login_failed", None, {"account": False})
    assert known.email_hash == email_hash("alice@example.com") != unknown.email_hash
    assert (known.ip, known.user_agent, known.store_id) == ("127.0.0.1", "curl/8", None) and known.request_id
    stored = str(list(SecurityEvent.objects.values()))
    assert "wrong-Pass-1" not in stored and "alice@example.com" not in stored.lower()


def test_the_failure_that_locks_the_account_records_the_lockout(api, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(4):
        api.post(LOGIN, {"email": user.email, "password": "wrong-Pass-1"}, format="json")
    # the fourth attempt is refused by the lock itself: no new failure recorded for it
    assert kinds() == ["login_failed", "login_failed", "login_failed", "lockout"]
    assert SecurityEvent.objects.get(kind="lockout").user_id == user.pk


def test_two_factor_on_off_and_a_wrong_code_are_recorded(api, user, password):
    setup = accounts.totp_setup(user=user)
    totp = pyotp.TOTP(setup.secret)
    accounts.totp_confirm(user=user, otp=totp.now())
    response = api.post(LOGIN, {"email": user.email, "password": password, "otp": "000000"}, format="json")
    assert response.status_code == 401
    user.refresh_from_db()
    with pytest.raises(Exception):  # noqa: B017 - InvalidOtp, whichever code it is
        accounts.totp_disable(user=user, otp="000000")
    accounts.totp_disable(user=user, otp=totp.at(timezone.now() + timedelta(seconds=30)))
    accounts.totp_reset(user=user)

    events = list(SecurityEvent.objects.order_by("pk").values_list("kind", "user_id", "details"))
    assert events == [
        ("2fa_enabled", user.pk, {}),
        ("2fa_failed", user.pk, {"during": "login"}),
        ("2fa_failed", user.pk, {"during": "disable"}),
        ("2fa_disabled", user.pk, {"by": "the user"}),
        ("2fa_disabled", user.pk, {"by": "platform staff"}),
    ]


def test_a_password_reset_asked_and_completed_is_recorded(api, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/password/reset", {"email": user.email}, format="json", REMOTE_ADDR="10.1.2.3")
        api.post("/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json")
    response = api.post("/api/v1/auth/password/reset/confirm", {
        "uid": uid_encode(user.pk), "token": default_token_generator.make_token(user), "password": "New-Horse-77"},
        format="json")
    assert response.status_code == 200, response.json()

    asked, unknown, done = SecurityEvent.objects.order_by("pk")
    assert (asked.kind, asked.user_id, str(asked.ip)) == ("password_reset_requested", user.pk, "10.1.2.3")
    assert (unknown.kind, unknown.user_id, unknown.details) == ("password_reset_requested", None, {"account": False})
    assert (done.kind, done.user_id) == ("password_reset_completed", user.pk)


def test_an_api_key_used_from_a_new_address_is_recorded_once_per_address(store):
    _, key = api_key_create(store=store, name="ERP", scopes=["catalog.write"])
    client = APIClient()
    url = f"/api/v1/stores/{store.slug}/categories"

    def call(ip: str):
        response = client.get(url, HTTP_X_API_KEY=key, REMOTE_ADDR=ip)
        assert response.status_code == 200, response.json()

    call("10.0.0.1")
    call("10.0.0.1")
    call("10.0.0.2")
    events = list(SecurityEvent.objects.order_by("pk"))
    assert [(event.kind, event.store_id, str(event.ip), event.details) for event in events] == [
        ("api_key_new_address", store.pk, "10.0.0.1", {"first_use": True}),
        ("api_key_new_address", store.pk, "10.0.0.2", {"first_use": False}),
    ]
    assert ApiKeyAddress.objects.count() == 2
    # a known address costs no statement on the security tables (the process remembers it)
    with CaptureQueriesContext(connection) as queries:
        call("10.0.0.2")
    assert not [query for query in queries.captured_queries if "auditlog_" in query["sql"]]


def test_a_known_address_the_process_forgot_is_answered_by_the_cache(store):
    from auditlog.security import security_memo_forget

    _, key = api_key_create(store=store, name="ERP", scopes=[])
    client = APIClient()
    client.get(f"/api/v1/stores/{store.slug}/categories", HTTP_X_API_KEY=key, REMOTE_ADDR="10.0.0.9")
    security_memo_forget()  # another process
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/api/v1/stores/{store.slug}/categories", HTTP_X_API_KEY=key, REMOTE_ADDR="10.0.0.9")
    assert not [query for query in queries.captured_queries if "auditlog_" in query["sql"]]
    assert SecurityEvent.objects.count() == 1


def test_a_cache_outage_does_not_fail_an_api_key_request(store, monkeypatch):
    import auditlog.security

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")
            return fail

    monkeypatch.setattr(auditlog.security, "cache", Down())
    _, key = api_key_create(store=store, name="ERP", scopes=[])
    client = APIClient()
    for _ in range(2):
        response = client.get(f"/api/v1/stores/{store.slug}/categories", HTTP_X_API_KEY=key, REMOTE_ADDR="10.0.0.3")
        assert response.status_code == 200
    assert kinds() == ["api_key_new_address"]  # the table answered, the process remembered


def test_a_permission_denied_in_a_store_is_recorded(store, member_factory, client_for):
    viewer = member_factory(store, "viewer")
    response = client_for(viewer).post(f"/api/v1/stores/{store.slug}/categories", {"name": "Shoes"}, format="json")
    assert response.status_code == 403
    event = SecurityEvent.objects.get()
    assert (event.kind, event.store_id, event.user_id) == ("permission_denied", store.pk, viewer.pk)
    assert event.details["permission"] == "catalog.write" and event.details["method"] == "POST"
    assert event.details["role"] == "viewer" and "categories" in event.details["route"]


def test_an_api_key_lacking_a_scope_is_recorded_as_the_key(store):
    api_key, key = api_key_create(store=store, name="reader", scopes=[])
    response = APIClient().post(f"/api/v1/stores/{store.slug}/categories", {"name": "Shoes"}, format="json",
                                HTTP_X_API_KEY=key)
    assert response.status_code == 403
    event = SecurityEvent.objects.get(kind="permission_denied")
    assert (event.api_key_id, event.user_id, event.store_id) == (api_key.pk, None, store.pk)


def test_a_throttled_burst_is_recorded_once_per_window(api, store, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "2/min"})
    statuses = [api.get(f"/api/v1/stores/{store.slug}/categories").status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 429, 429, 429]
    event = SecurityEvent.objects.get()
    assert (event.kind, event.store_id, event.user_id, str(event.ip)) == ("throttled", store.pk, None, "127.0.0.1")
    assert event.details["scope"] == "anon" and event.details["method"] == "GET"
    # another caller's burst is its own event
    for _ in range(3):
        api.get(f"/api/v1/stores/{store.slug}/categories", REMOTE_ADDR="10.9.9.9")
    assert SecurityEvent.objects.count() == 2


def test_a_burst_spread_over_processes_is_still_one_event(api, store, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    from auditlog.security import security_memo_forget
    from config.api.throttles import leases_forget

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "1/min"})
    url = f"/api/v1/stores/{store.slug}/categories"
    assert [api.get(url).status_code for _ in range(3)] == [200, 429, 429]
    security_memo_forget()  # another process: its own leases and memory, the same cache
    leases_forget()
    assert api.get(url).status_code == 429
    assert SecurityEvent.objects.filter(kind="throttled").count() == 1


def test_the_catalog_list_writes_and_reads_nothing_of_the_log(api, store):
    with CaptureQueriesContext(connection) as queries:
        assert api.get(f"/api/v1/stores/{store.slug}/products").status_code == 200
    assert not [query for query in queries.captured_queries if "auditlog_" in query["sql"]]
    assert not SecurityEvent.objects.exists()


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        record_security_event("made_up")


def test_secrets_in_details_are_redacted():
    event = record_security_event("permission_denied", details={"api_key": "sk_live", "note": "x" * 500})
    assert event.details == {"api_key": "••••", "note": "x" * 200}


# --- GET /stores/{store}/security-events ---------------------------------------------------------------------------


@pytest.fixture
def logs(store, other_store, member_factory, user_factory):
    """Events of ``store``, of a member of it (store-less), of ``other_store`` and of a stranger."""
    member = member_factory(store, "staff")
    shared = member_factory(other_store, "admin")
    from teams.models import Membership

    Membership.objects.create(store=store, user=shared, role="viewer")
    stranger = user_factory()
    own = record_security_event("permission_denied", store_id=store.pk, user_id=member.pk)
    mine = record_security_event("login_failed", user_id=member.pk, ip="10.0.0.1")
    foreign = record_security_event("permission_denied", store_id=other_store.pk, user_id=shared.pk)  # shared, there
    record_security_event("login_failed", user_id=stranger.pk)
    record_security_event("throttled", ip="10.0.0.2")  # the platform's alone
    return {"own": own, "member": mine, "member_user": member, "foreign": foreign}


def test_the_store_sees_its_events_and_its_members_not_another_stores(store, logs, client_for):
    response = client_for(store.owner).get(log_url(store))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["success"] is True
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1}
    assert [row["id"] for row in body["data"]] == [logs["member"].pk, logs["own"].pk]
    row = body["data"][0]
    assert row["type"] == "login_failed" and row["actor"] == logs["member_user"].email and row["ip"] == "10.0.0.1"
    assert set(row) == {"id", "type", "actor", "user", "api_key", "ip", "details", "created_at"}
    # one event by id; another store's is 404
    assert client_for(store.owner).get(f"{log_url(store)}/{logs['own'].pk}").status_code == 200
    assert client_for(store.owner).get(f"{log_url(store)}/{logs['foreign'].pk}").status_code == 404


def test_filters_by_type_and_time(store, logs, client_for):
    owner = client_for(store.owner)
    assert [row["type"] for row in owner.get(log_url(store), {"type": "permission_denied"}).json()["data"]] == [
        "permission_denied"]
    assert len(owner.get(log_url(store), {"type": "login_failed,permission_denied"}).json()["data"]) == 2
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert owner.get(log_url(store), {"since": later}).json()["data"] == []
    assert len(owner.get(log_url(store), {"until": later}).json()["data"]) == 2


def test_another_store_is_404_a_member_without_audit_read_403_and_anonymous_401(store, other_store, logs, api,
                                                                                   client_for):
    assert client_for(other_store.owner).get(log_url(store)).status_code == 404
    staff = logs["member_user"]
    assert client_for(staff).get(log_url(store)).json()["error"]["code"] == "PERMISSION_DENIED"
    assert api.get(log_url(store)).status_code == 401


# --- The platform's view in the admin ---------------------------------------------------------------------------


def test_the_platform_view_is_for_superusers_only(store, logs, admin_login, user_factory):
    root = user_factory(email="root@example.com", is_staff=True, is_superuser=True)
    page = admin_login(root).get("/admin/auditlog/securityevent/")
    assert page.status_code == 200
    assert "throttled" in page.content.decode().lower()
    assert admin_login(root).get("/admin/auditlog/securityevent/?kind__exact=login_failed").status_code == 200
    assert admin_login(root).get(f"/admin/auditlog/securityevent/{logs['own'].pk}/change/").status_code == 200
    assert admin_login(store.owner).get("/admin/auditlog/securityevent/").status_code in (302, 403)


# --- The daily summary ------------------------------------------------------------------------------------------------


NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
YESTERDAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_the_daily_summary_goes_to_the_owners_once_a_day(store, other_store, member_factory, user_factory,
                                                          django_capture_on_commit_callbacks):
    co_owner = member_factory(store, "owner")
    member = member_factory(store, "staff")
    for kind, store_id, user_id in (("login_failed", None, member.pk), ("login_failed", None, member.pk),
                                    ("permission_denied", store.pk, None)):
        SecurityEvent.objects.create(kind=kind, store_id=store_id, user_id=user_id, created_at=YESTERDAY)
    SecurityEvent.objects.create(kind="throttled", store_id=store.pk, created_at=NOW - timedelta(days=3))  # older
    SecurityEvent.objects.create(kind="login_failed", user_id=user_factory().pk, created_at=YESTERDAY)  # nobody's
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert security_digests_send(now=NOW) == 1
    # then one email, to both owners, with yesterday's figures
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == sorted([store.owner.email, co_owner.email])
    assert "2026-12-06" in message.subject and "3 events" in message.subject
    assert "Login failed: 2" in message.body and "Permission denied: 1" in message.body
    assert "Throttled" not in message.body
    assert SecurityDigest.objects.get().events == 3
    # a second run (a redelivered task, the next hourly run) sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert security_digests_send(now=NOW + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


def test_no_summary_when_nothing_happened(store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert security_digests_send_task.delay().get() == 0
    assert mail.outbox == [] and not SecurityDigest.objects.exists()


def test_the_summary_job_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["security-digests-send"]["task"] == "auditlog.tasks.security_digests_send_task"


# --- Retention and erasure --------------------------------------------------------------------------------------------


def test_retention_removes_old_events_and_addresses(settings, store):
    settings.SECURITY_EVENT_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    SecurityEvent.objects.create(kind="throttled", created_at=old)
    kept = SecurityEvent.objects.create(kind="throttled")
    ApiKeyAddress.objects.create(api_key_id=1, ip="10.0.0.1", first_seen=old, last_seen=old)
    ApiKeyAddress.objects.create(api_key_id=1, ip="10.0.0.2")
    SecurityDigest.objects.create(store=store, day=old.date() - timedelta(days=1))
    assert security_events_prune(dry_run=True) == 1 and SecurityEvent.objects.count() == 2
    assert security_events_prune() == 1
    assert list(SecurityEvent.objects.all()) == [kept]
    assert list(ApiKeyAddress.objects.values_list("ip", flat=True)) == ["10.0.0.2"]
    assert not SecurityDigest.objects.exists()
    assert security_events_prune() == 0
    settings.SECURITY_EVENT_RETENTION_DAYS = 0
    SecurityEvent.objects.update(created_at=old - timedelta(days=999))
    assert security_events_prune() == 0 and SecurityEvent.objects.count() == 1


def test_an_account_erasure_anonymises_the_persons_events(api, user, django_capture_on_commit_callbacks):
    from privacy.services import account_erase

    api.post(LOGIN, {"email": user.email, "password": "wrong-Pass-1"}, format="json", HTTP_USER_AGENT="curl/8")
    record_security_event("login_failed", email=user.email, details={"note": f"about {user.email}"})
    other = record_security_event("login_failed", email="someone@example.com", ip="10.0.0.5")
    with django_capture_on_commit_callbacks(execute=True):
        account_erase(user=user)
    for event in SecurityEvent.objects.exclude(pk=other.pk):
        assert (event.ip, event.user_agent, event.email_hash) == (None, "", ""), event.pk
        assert "alice" not in str(event.details)
    other.refresh_from_db()
    assert str(other.ip) == "10.0.0.5" and other.email_hash
