from celery import shared_task


@shared_task(ignore_result=True)
def event_fanout_task(
    event_type: str, store_id: int, payload: dict, event_id: str, actor_user_id: int | None = None,
    audience: dict | None = None,
) -> None:
    from stores.models import Store

    from .services import event_fanout

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return
    event_fanout(event_type=event_type, store=store, payload=payload, event_id=event_id,
                 actor_user_id=actor_user_id, audience=audience)


# The hard limit stays under the attempt lease (WEBHOOK_ATTEMPT_LEASE_SECONDS, 60 s): a killed attempt is resumed.
@shared_task(bind=True, ignore_result=True, soft_time_limit=40, time_limit=50)
def webhook_delivery_send_task(self, delivery_id: int) -> None:
    """One attempt; a retryable failure schedules the next attempt as a new task after the backoff.

    The service decides when (exponential backoff with jitter) and refuses duplicates, so a
    task delivered twice by the broker sends once. A task the broker handed back (acks are late: its worker
    died, maybe mid-attempt, whose lease still holds the delivery) tries once more when the delivery is due; that
    message is a new one, not marked redelivered, so it never repeats.
    """
    from .services import webhook_delivery_attempt, webhook_delivery_due_in

    delay = webhook_delivery_attempt(delivery_id=delivery_id)
    if delay is None and (self.request.delivery_info or {}).get("redelivered"):
        delay = webhook_delivery_due_in(delivery_id=delivery_id)
    # Eager mode (no broker) would run the "later" attempt at once, inside the request:
    # the periodic resume task picks it up instead.
    if delay is None or self.app.conf.task_always_eager:
        return
    queue = (self.request.delivery_info or {}).get("routing_key")  # retries stay on the same queue
    self.apply_async((delivery_id,), countdown=delay, **({"queue": queue} if queue else {}))


@shared_task(ignore_result=True)
def webhook_deliveries_resume_task() -> int:
    from .services import webhook_deliveries_resume

    return webhook_deliveries_resume()
