"""Stock has one owner: every change of a variant's ``stock_quantity`` (on hand) or ``reserved`` (held by
open orders) goes through here, as one conditional UPDATE plus an InventoryMovement row in the same
transaction (docs/ARCHITECTURE.md "Stock").

The conditional UPDATE carries the variant's CHECK constraints as its WHERE clause (neither count below
zero; reserved within what is on hand unless the variant takes backorders), so concurrent writers cannot
oversell and a refusal changes nothing. Reserving, releasing and selling for orders are further
``_stock_move`` calls with their own reasons and deltas (one per line, in variant-id order).
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from auditlog.services import actor_describe
from notifications import events

from ..errors import OutOfStock
from ..events import emit_event
from ..models import InventoryMovement, MovementReason, Variant
from .summary import product_summary_refresh

OPENING_NOTE = "Opening stock"


def _fits(*, quantity_delta: int, reserved_delta: int) -> Q:
    """The rows on which the change keeps the variant's CHECK constraints."""
    return (Q(stock_quantity__gte=-quantity_delta) & Q(reserved__gte=-reserved_delta)
            & (Q(allow_backorder=True) | Q(stock_quantity__gte=F("reserved") + (reserved_delta - quantity_delta))))


def _movement_record(*, variant: Variant, reason: str, quantity_delta: int, reserved_delta: int, note: str,
                     actor) -> InventoryMovement:
    if reason not in MovementReason.values:
        raise ValueError(f"{reason!r} is not a movement reason ({', '.join(MovementReason.values)})")
    actor_user, actor_label, actor_id = actor_describe(actor)
    return InventoryMovement.objects.create(
        store_id=variant.store_id, variant=variant, reason=reason, quantity_delta=quantity_delta,
        reserved_delta=reserved_delta, note=note, actor_user=actor_user, actor_label=actor_label[:255],
        actor_id=actor_id[:64],
    )


def _stock_move(*, variant: Variant, quantity_delta: int, reserved_delta: int = 0, reason: str, note: str = "",
                actor=None, expect_quantity: int | None = None) -> Variant:
    """The one write of the stock columns, in the caller's transaction: a conditional UPDATE, the movement,
    the low-stock notice. Returns the variant as stored now (with ``product.store``); the caller refreshes
    the product summary. Raises OutOfStock (409) and changes nothing when the change does not fit."""
    if reason not in MovementReason.values:
        raise ValueError(f"{reason!r} is not a movement reason ({', '.join(MovementReason.values)})")
    rows = Variant.objects.filter(_fits(quantity_delta=quantity_delta, reserved_delta=reserved_delta), pk=variant.pk)
    if expect_quantity is not None:
        rows = rows.filter(stock_quantity=expect_quantity)
    updated = rows.update(stock_quantity=F("stock_quantity") + quantity_delta,
                          reserved=F("reserved") + reserved_delta, updated_at=timezone.now())
    stored = Variant.objects.select_related("product__store").get(pk=variant.pk)
    if not updated:
        available = max(stored.available, 0)
        raise OutOfStock(f"Only {available} of {stored.sku} available.",
                         variants=[{"variant": stored.pk, "sku": stored.sku, "available": available}])
    _movement_record(variant=stored, reason=reason, quantity_delta=quantity_delta, reserved_delta=reserved_delta,
                     note=note, actor=actor)
    stock_low_notice(variant=stored, available_before=stored.available - quantity_delta + reserved_delta,
                     actor=actor)
    return stored


@transaction.atomic
def stock_adjust(*, variant: Variant, delta: int, reason: str = MovementReason.ADJUSTMENT, note: str = "",
                 actor=None) -> Variant:
    """Adds ``delta`` (negative: removes) to the units on hand in one conditional UPDATE and records why.

    Raises OutOfStock (409 OUT_OF_STOCK) when on hand would fall below zero or below what open orders
    hold (unless the variant takes backorders); nothing changes then. A zero delta changes and records nothing.
    """
    if not delta:
        return variant
    stored = _stock_move(variant=variant, quantity_delta=delta, reason=reason, note=note, actor=actor)
    product_summary_refresh(product_ids=[stored.product_id])
    return stored


@transaction.atomic
def stock_set(*, variant: Variant, quantity: int, reason: str = MovementReason.ADJUSTMENT, note: str = "",
              actor=None, summary: bool = True) -> Variant:
    """Sets the units on hand to ``quantity`` (a count: the API, the admin, the importer), recording the
    difference as a movement. ``summary=False``: the caller refreshes the product summary itself (a batch).

    Raises OutOfStock (409 OUT_OF_STOCK) below zero or below what open orders hold (unless the variant
    takes backorders); nothing changes then. Setting the current quantity changes and records nothing.
    """
    current = Variant.objects.select_for_update().values_list("stock_quantity", flat=True).get(pk=variant.pk)
    if quantity == current:
        return variant
    stored = _stock_move(variant=variant, quantity_delta=quantity - current, reason=reason, note=note, actor=actor,
                         expect_quantity=current)
    if summary:
        product_summary_refresh(product_ids=[stored.product_id])
    return stored


def stock_opening_record(*, variant: Variant, actor=None) -> None:
    """The movement of a variant created with stock (its INSERT set ``stock_quantity``), in the caller's
    transaction, so the ledger adds up from the first unit."""
    if variant.stock_quantity:
        _movement_record(variant=variant, reason=MovementReason.ADJUSTMENT, quantity_delta=variant.stock_quantity,
                         reserved_delta=0, note=OPENING_NOTE, actor=actor)


def stock_opening_record_bulk(*, product_ids: Iterable[int]) -> None:
    """stock_opening_record for every stocked variant of ``product_ids`` in one statement (bulk seeding,
    whose rows bypass the ORM); the system acted."""
    ids = list(product_ids)
    if not ids:
        return
    table, variants = InventoryMovement._meta.db_table, Variant._meta.db_table
    stamp = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (store_id, variant_id, reason, quantity_delta, reserved_delta, note, actor_label, "
            f"actor_id, created_at) SELECT store_id, id, %s, stock_quantity, 0, %s, 'system', '', %s FROM {variants} "
            f"WHERE product_id >= %s AND product_id <= %s AND stock_quantity <> 0",
            [MovementReason.ADJUSTMENT.value, OPENING_NOTE, connection.ops.adapt_datetimefield_value(stamp),
             min(ids), max(ids)],
        )


def stock_low_notice(*, variant: Variant, available_before: int, actor=None) -> None:
    """inventory.low_stock when a tracked variant's available stock crosses down to the store's threshold
    (from above it to at or below it); ``variant`` as stored now, with ``product.store``."""
    if not variant.track_inventory:
        return
    store = variant.product.store
    after = variant.available
    if available_before > store.low_stock_threshold >= after:
        emit_event(events.INVENTORY_LOW_STOCK, store=store, actor=actor, payload={
            "variant_id": variant.pk, "product_id": variant.product_id, "sku": variant.sku,
            "name": f"{variant.product.name} {variant.name}".strip(), "available": after,
            "threshold": store.low_stock_threshold})
