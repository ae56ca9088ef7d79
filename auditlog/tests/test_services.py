import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from auditlog.models import AuditLog, AuditLogImmutable
from auditlog.services import audit_diff, audit_record
from config.api.middleware import current_request_var, request_id_var

pytestmark = pytest.mark.django_db


class FakeApiKey:
    pk = 7


def test_records_user_target_request_and_redacts_secrets(store, user, served):
    # given a request being served
    request = served(RequestFactory().post("/x", HTTP_USER_AGENT="pytest-agent", REMOTE_ADDR="203.0.113.9"))
    request.request_id = "req-123"
    # when
    entry = audit_record(
        store=store, actor=user, action="store.updated", target=store,
        changes={"name": ["Old", "New"], "secret_key": ["a", "b"], "nested": {"api_token": "x", "ok": 1},
                 "password": "hunter2", "otp": "123456"},
    )
    # then
    entry = AuditLog.objects.get(pk=entry.pk)
    assert entry.actor_user == user and entry.actor_label == user.email and entry.actor_id == str(user.pk)
    assert entry.object_type == "stores.store" and entry.object_id == str(store.pk)
    assert entry.ip == "203.0.113.9" and entry.user_agent == "pytest-agent" and entry.request_id == "req-123"
    assert entry.changes == {
        "name": ["Old", "New"], "secret_key": "••••", "nested": {"api_token": "••••", "ok": 1},
        "password": "••••", "otp": "••••",
    }


def test_records_api_key_actor_and_request_id_from_context(store):
    token = request_id_var.set("ctx-req")
    try:
        entry = audit_record(store=store, actor=FakeApiKey(), action="product.created",
                             object_type="catalog.product", object_id=42)
    finally:
        request_id_var.reset(token)
    assert entry.actor_user is None
    assert entry.actor_label == "apikey:7" and entry.actor_id == "7"
    assert entry.object_id == "42" and entry.request_id == "ctx-req"


def test_system_actor_and_jsonable_changes(store):
    from decimal import Decimal

    entry = audit_record(store=store, action="stock.adjusted", changes={"price": [Decimal("1.50"), Decimal("2")]})
    entry.refresh_from_db()
    assert entry.actor_label == "system"
    assert entry.changes == {"price": ["1.50", "2"]}


def test_written_in_the_callers_transaction(store):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(store=store, action="x.y")
        raise RuntimeError
    assert not AuditLog.objects.exists()


def test_audit_diff():
    assert audit_diff({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == {
        "b": [2, 5], "c": [3, None], "d": [None, 4],
    }


def test_entries_refuse_update_and_delete(store):
    entry = audit_record(store=store, action="x.y")
    entry.action = "changed"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    with pytest.raises(AuditLogImmutable):
        AuditLog.objects.filter(pk=entry.pk).update(action="changed")
    with pytest.raises(AuditLogImmutable):
        AuditLog.objects.all().delete()
    assert AuditLog.objects.get(pk=entry.pk).action == "x.y"


def test_deleting_a_user_keeps_their_entries(store, user_factory):
    actor = user_factory(email="gone@example.com")
    entry = audit_record(store=store, actor=actor, action="x.y")
    actor.delete()
    entry = AuditLog.objects.get(pk=entry.pk)
    assert entry.actor_user is None and entry.actor_label == "gone@example.com"


@pytest.mark.postgres
def test_database_trigger_refuses_raw_update_and_delete(store):
    from django.db.utils import DatabaseError

    entry = audit_record(store=store, action="x.y")
    for sql in ("UPDATE auditlog_auditlog SET action = 'tampered' WHERE id = %s",
                "DELETE FROM auditlog_auditlog WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditLog.objects.get(pk=entry.pk).action == "x.y"


def test_an_anonymous_user_is_recorded_as_no_one(store):
    from django.contrib.auth.models import AnonymousUser

    entry = audit_record(store=store, actor=AnonymousUser(), action="cart.created")
    assert entry.actor_user is None and entry.actor_label == "system" and entry.actor_id == ""


def test_the_actor_is_only_what_the_caller_names_never_the_request_user(store, user, served):
    # given a request served for a logged-in user
    served(RequestFactory().get("/x")).user = user
    # when a service records without naming an actor
    entry = audit_record(store=store, action="x.y")
    # then the entry names no one: who acts is the service's ``actor`` argument
    assert entry.actor_user is None and entry.actor_label == "system"


def test_request_origin_from_the_request_being_served(store):
    def served(remote_addr: str):
        request = RequestFactory().get("/x", REMOTE_ADDR=remote_addr, HTTP_USER_AGENT="wsgi-agent")
        request.request_id = "req-served"
        return current_request_var.set(request)

    token = served("198.51.100.4")
    try:
        entry = audit_record(store=store, action="x.wsgi")
    finally:
        current_request_var.reset(token)
    assert (entry.ip, entry.user_agent, entry.request_id) == ("198.51.100.4", "wsgi-agent", "req-served")
    # a unix socket's REMOTE_ADDR is no IP: left empty rather than breaking the inet column
    token = served("/run/gunicorn.sock")
    try:
        entry = audit_record(store=store, action="x.unix")
    finally:
        current_request_var.reset(token)
    entry.refresh_from_db()
    assert (entry.ip, entry.user_agent) == (None, "wsgi-agent")
    assert audit_record(store=store, action="x.none").ip is None


@pytest.mark.postgres
def test_database_trigger_allows_only_nulling_the_actor(store, user_factory):
    from django.db.utils import DatabaseError

    # given
    entry = audit_record(store=store, actor=user_factory(email="leaver@example.com"), action="x.y")
    # when: the one permitted change rides along with a tampering one
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE auditlog_auditlog SET actor_user_id = NULL, actor_label = 'nobody' WHERE id = %s",
                       [entry.pk])
    # then: refused; nulling the actor alone (ON DELETE SET NULL) passes
    with connection.cursor() as cursor:
        cursor.execute("UPDATE auditlog_auditlog SET actor_user_id = NULL WHERE id = %s", [entry.pk])
    entry = AuditLog.objects.get(pk=entry.pk)
    assert entry.actor_user_id is None and entry.actor_label == "leaver@example.com"
