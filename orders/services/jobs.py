"""Periodic jobs: cancel pending unpaid orders whose reservation ran out, delete idle carts; safe twice at once."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Cart, Order, OrderStatus, PaymentStatus
from .lifecycle import order_moved

BATCH = 200
EXPIRED_NOTE = "The reservation expired before payment."


def _expired(now: datetime):
    # a held order waits for a member's decision, not for the clock
    return Order.objects.filter(status=OrderStatus.PENDING, payment_status=PaymentStatus.UNPAID,
                                reserved_until__lt=now, hold_reason="")


def orders_expire(*, now: datetime | None = None) -> int:
    """Cancels every pending unpaid order whose reservation ended before ``now`` and releases its stock, each in
    its own transaction by one conditional UPDATE: an order paid meanwhile, or cancelled by a concurrent run, is
    left alone. Returns how many this run cancelled."""
    now = now or timezone.now()
    cancelled, seen = 0, set()
    while True:
        ids = [pk for pk in _expired(now).order_by("reserved_until", "pk").values_list("pk", flat=True)[:BATCH]
               if pk not in seen]
        if not ids:
            return cancelled
        for pk in ids:
            seen.add(pk)
            with transaction.atomic():
                if not _expired(now).filter(pk=pk).update(status=OrderStatus.CANCELLED, reserved_until=None,
                                                          updated_at=timezone.now()):
                    continue  # paid, cancelled or moved meanwhile
                order_moved(order=Order(pk=pk), from_status=OrderStatus.PENDING, actor=None, note=EXPIRED_NOTE)
            cancelled += 1
    

def carts_prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Deletes carts untouched for CART_IDLE_DAYS (their lines with them). Returns how many carts went (dry: would)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CART_IDLE_DAYS)
    idle = Cart.objects.filter(updated_at__lt=cutoff)
    if dry_run:
        return idle.count()
    _, deleted = idle.delete()
    return deleted.get(Cart._meta.label, 0)
