"""A Celery worker killed (SIGKILL) in the middle of a task, then started again (README "When a service fails"):
a real worker (solo pool) on a queue of the test's own, with a Redis of the test's own as its broker.

Tasks are acknowledged late (CELERY_TASK_ACKS_LATE), so the killed worker's message stays unacknowledged in the
broker and comes back once its visibility timeout has run out (3 s here, CELERY_VISIBILITY_TIMEOUT_SECONDS); the
restarted worker runs it again, and the handlers make the second run finish the work once:

- an outgoing webhook delivery killed while its POST was in flight: its attempt held the delivery for
  WEBHOOK_ATTEMPT_LEASE_SECONDS (2 s here); once the lease has run out the delivery is sent again with the same
  webhook-id (the receiver's key to drop the copy of a request whose answer never arrived), succeeds, and is
  recorded once;
- an inbound payment notification killed while its processing waited for the order's row lock: its transaction
  died with the worker's connection (nothing written), and the second run marks the payment and the order paid
  once.
"""

import time
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from auditlog.models import AuditLog
from notifications import events
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from tests.integration import faults

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

VISIBILITY_SECONDS = 3
LEASE_SECONDS = 2
PREFORK_LEASE_SECONDS = 8  # longer than the parent takes to put the task back and start a new child
DONE_WITHIN_SECONDS = 40


def _worker(own_redis, *, pool: str = "solo", visibility_seconds: int = VISIBILITY_SECONDS,
            lease_seconds: int = LEASE_SECONDS) -> faults.Worker:
    faults.needs_postgres()
    from config.celery import app

    queue = f"fault-{uuid.uuid4().hex[:10]}"
    name = faults.app_name()
    environment = {
        **faults.os.environ, "DJANGO_SETTINGS_MODULE": "tests.integration.fault_settings", "PYTHONUNBUFFERED": "1",
        "CELERY_EAGER": "0", "DATABASE_URL": faults.database_url(), "PGAPPNAME": name,
        "REDIS_URL": own_redis.url(), "CELERY_BROKER_URL": own_redis.url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # what the worker enqueues itself stays on its queue
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": str(visibility_seconds),
        "WEBHOOK_ATTEMPT_LEASE_SECONDS": str(lease_seconds),
        "WEBHOOK_ALLOW_PRIVATE_URLS": "1", "WEBHOOK_RESUME_AFTER_SECONDS": "3600",
    }
    started = faults.Worker(environment, queue, pool=pool)
    started.name = name

    def send(task_name: str, *args) -> None:
        """Onto the worker's queue on its broker (this process's own tasks stay eager: they run inline)."""
        eager, app.conf.task_always_eager = app.conf.task_always_eager, False  # send_task warns while eager
        try:
            with app.connection_for_write(own_redis.url()) as connection:
                app.send_task(task_name, args, queue=queue, connection=connection)
        finally:
            app.conf.task_always_eager = eager

    started.send = send
    return started


@pytest.fixture
def worker(transactional_db, own_redis):
    """A solo worker (the task runs in the worker process itself): killing it kills the task's process."""
    started = _worker(own_redis)
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def prefork_worker(transactional_db, own_redis):
    """A prefork worker with one child (production's pool), whose broker hands nothing back for an hour: only the
    parent can put a killed child's task back (reject_on_worker_lost), well within the attempt's lease."""
    started = _worker(own_redis, pool="prefork", visibility_seconds=3600, lease_seconds=PREFORK_LEASE_SECONDS)
    try:
        started.start()
        yield started
    finally:
        started.stop()


def test_a_worker_killed_mid_delivery_sends_the_webhook_once_after_a_restart(worker, store_factory):
    receiver = faults.HoldingReceiver()
    try:
        # given: a delivery whose receiver holds the first POST without answering
        store = store_factory(name="Fault delivery", slug="fault-delivery")
        endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=[events.ORDER_PAID])
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type=events.ORDER_PAID, webhook_id=f"msg_{uuid.uuid4().hex}",
            payload={"type": events.ORDER_PAID, "timestamp": timezone.now().isoformat(), "data": {"number": "F-1"}})
        worker.send("notifications.tasks.webhook_delivery_send_task", delivery.pk)
        assert receiver.arrived.wait(DONE_WITHIN_SECONDS), worker.log()
        # when: the worker is killed while its POST waits for the answer
        worker.kill()
        receiver.release()
        # then: the delivery is still pending, its attempt unrecorded, held by the dead attempt's lease
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.attempt_log.count()) == (WebhookDelivery.PENDING, 1, 0)
        assert delivery.next_attempt_at > delivery.updated_at  # the lease

        # when: the worker is started again
        worker.start()
        # then: the broker hands the task back, and the delivery is sent again, succeeds, and is recorded once
        done = faults.wait_for(lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.SUCCEEDED).exists(), timeout=DONE_WITHIN_SECONDS)
        assert done, worker.log()
        time.sleep(LEASE_SECONDS + 1)  # what a second sending would have needed
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (WebhookDelivery.SUCCEEDED, 2, 200)
        assert [(a.status_code, a.succeeded) for a in WebhookAttempt.objects.filter(delivery=delivery)] == [
            (200, True)]
        assert len(receiver.requests) == 2  # the one whose answer never arrived, and the one that succeeded
        assert {request["headers"]["webhook-id"] for request in receiver.requests} == {delivery.webhook_id}
        assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    finally:
        receiver.close()


def test_a_worker_killed_mid_payment_notification_applies_it_once_after_a_restart(
        worker, store_factory, make_variant, cart_with, api):
    # given: a pending cash-on-delivery order, and the gateway's notification that it is paid, stored as
    # webhook_event_receive stores one (the worker's task applies it)
    store = store_factory(name="Fault payment", slug="fault-payment")
    cart = cart_with((make_variant(store=store, price="12.50", stock=5), 2), store=store)
    placed = api.post(f"/api/v1/stores/{store.slug}/checkout", {
        "cart": str(cart.pk), "email": "buyer@example.com", "shipping_address": {"line1": "1 Main St"},
        "payment_method": "cod"}, format="json")
    assert placed.status_code == 201, placed.json()
    order, payment = Order.objects.get(store=store), Payment.objects.get(store=store)
    event = WebhookEvent.objects.create(
        store=store, gateway=payment.gateway, event_id=f"evt_{uuid.uuid4().hex}", event_type="payment.succeeded",
        payload={"notification": {"event_id": "evt", "event_type": "payment.succeeded", "outcome": "paid",
                                  "order_number": order.number, "amount": str(payment.amount),
                                  "currency": payment.currency}})
    assert payment.amount == Decimal("25.00")
    # and the order's row locked by the test, so the processing stops inside its transaction
    admin = faults.pg_connect()
    locker = faults.pg_connect()
    locker.autocommit = False
    locker.execute(f"SELECT id FROM {Order._meta.db_table} WHERE id = %s FOR UPDATE", [order.pk])
    try:
        worker.send("payments.tasks.webhook_event_process_task", event.pk)
        waiting = faults.wait_for(lambda: faults.pg_backends(admin, worker.name, waiting_on_lock=True),
                                  timeout=DONE_WITHIN_SECONDS)
        assert waiting, worker.log()
        # when: the worker is killed there, then the lock released
        worker.kill()
        locker.rollback()
        # then: its transaction died with its connection: nothing of it written
        assert faults.wait_for(lambda: not faults.pg_backends(admin, worker.name), timeout=20)
        event.refresh_from_db()
        payment.refresh_from_db()
        assert (event.status, event.attempts, payment.status) == ("pending", 0, "pending")

        # when: the worker is started again
        worker.start()
        # then: the notification is applied once
        paid = faults.wait_for(lambda: Payment.objects.filter(pk=payment.pk, status="paid").exists(),
                               timeout=DONE_WITHIN_SECONDS)
        assert paid, worker.log()
        time.sleep(1.5)  # what a stray second run would have needed
        event.refresh_from_db()
        order.refresh_from_db()
        assert (event.status, event.attempts, event.payment_id) == ("processed", 1, payment.pk)
        assert order.payment_status == "paid"
        assert AuditLog.objects.filter(action="payment.paid", store=store).count() == 1
        assert AuditLog.objects.filter(action="order.paid", store=store).count() == 1
        assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    finally:
        locker.close()
        admin.close()


def test_a_prefork_child_killed_mid_delivery_sends_the_webhook_once_after_its_lease(prefork_worker, store_factory):
    receiver = faults.HoldingReceiver()
    try:
        # given: a delivery whose receiver holds the first POST without answering
        store = store_factory(name="Fault child", slug="fault-child")
        endpoint = WebhookEndpoint.objects.create(store=store, url=receiver.url, events=[events.ORDER_PAID])
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type=events.ORDER_PAID, webhook_id=f"msg_{uuid.uuid4().hex}",
            payload={"type": events.ORDER_PAID, "timestamp": timezone.now().isoformat(), "data": {"number": "F-2"}})
        prefork_worker.send("notifications.tasks.webhook_delivery_send_task", delivery.pk)
        assert receiver.arrived.wait(DONE_WITHIN_SECONDS), prefork_worker.log()
        # when: the child running the task is killed (the OOM killer's choice), its POST in flight
        [child] = faults.children(prefork_worker.process.pid)
        faults.os.kill(child, faults.signal.SIGKILL)
        receiver.release()
        # then: the parent puts the task back at once (acks late, reject_on_worker_lost); the handed-back task finds
        # the delivery leased by the dead attempt and tries again when the lease ends: sent once more, recorded once
        killed = time.monotonic()
        done = faults.wait_for(lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.SUCCEEDED).exists(), timeout=DONE_WITHIN_SECONDS)
        assert done, prefork_worker.log()
        assert any("redelivered" in line or "WorkerLostError" in line for line in prefork_worker.output)
        print(f"\nprefork child killed: delivered {time.monotonic() - killed:.1f} s later")
        time.sleep(2)  # what a stray second sending would have needed
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (WebhookDelivery.SUCCEEDED, 2)
        assert [(a.status_code, a.succeeded) for a in WebhookAttempt.objects.filter(delivery=delivery)] == [
            (200, True)]
        assert len(receiver.requests) == 2
        assert {request["headers"]["webhook-id"] for request in receiver.requests} == {delivery.webhook_id}
        assert any("WorkerLostError" in line for line in prefork_worker.output), prefork_worker.log()
    finally:
        receiver.close()
