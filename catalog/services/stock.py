"""Stock has one owner: every change of a variant's ``stock_quantity`` (on hand) or ``reserved`` (held by
open orders) goes through here, as one conditional UPDATE plus an InventoryMovement row in the same
transaction (docs/ARCHITECTURE.md "Stock").

The conditional UPDATE carries the variant's CHECK constraints as its WHERE clause (neither count below
zero; reserved within what is on hand unless the variant takes backorders), so concurrent writers cannot
oversell and a refusal changes nothing. Reserving, releasing and selling for orders (``stock_reserve``,
``stock_release``, ``stock_sell``) do the same for all of an order's lines at once, in a constant number of
statements: the variants locked in id order, one UPDATE with a condition and a CASE per variant, one bulk
INSERT of movements that name the order.
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.utils import timezone

from auditlog.services import actor_describe
from config.db import statement_cursor
from notifications import events

from ..cache import catalog_stock_changed
from ..errors import OutOfStock
from ..events import emit_event
from ..models import InventoryMovement, MovementReason, Product, Variant
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
    catalog_stock_changed(stored.store_id, [stored.pk], flipped=True)
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
    product_summary_refresh(product_ids=[stored.product_id], invalidate=False)
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
        product_summary_refresh(product_ids=[stored.product_id], invalidate=False)
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


# --- orders: reserve, release, sell ---------------------------------------------------------------------------
# The same few statements whatever the number of lines: the variants locked in id order (one SELECT … FOR UPDATE
# ORDER BY id, so two checkouts never wait on each other crosswise), one UPDATE whose WHERE is the OR of the
# lines' conditions and whose SET is a CASE per variant, one bulk INSERT of movements.


def _order_held(order) -> dict[int, int]:
    """{variant_id: units} the order still holds, from its movements (reserve +, release and sale −)."""
    held = (InventoryMovement.objects.filter(order=order).order_by().values("variant_id")
            .annotate(units=Sum("reserved_delta")).values_list("variant_id", "units"))
    return {variant_id: units for variant_id, units in held if units > 0}


def _movements_bulk(*, store_id: int, order, reason: str, deltas: dict[int, tuple[int, int]], actor) -> None:
    actor_user, actor_label, actor_id = actor_describe(actor)
    InventoryMovement.objects.bulk_create(
        InventoryMovement(store_id=store_id, variant_id=variant_id, reason=reason, quantity_delta=quantity_delta,
                          reserved_delta=reserved_delta, order=order, actor_user=actor_user,
                          actor_label=actor_label[:255], actor_id=actor_id[:64])
        for variant_id, (quantity_delta, reserved_delta) in sorted(deltas.items())
    )


def _locked_variants(*, ids, store_id: int | None = None) -> list[Variant]:
    rows = Variant.objects.select_for_update(of=("self",)).select_related("product__store").filter(pk__in=ids)
    if store_id is not None:
        rows = rows.filter(store_id=store_id)
    return list(rows.order_by("pk"))


def _short(variants: list[Variant], wanted: dict[int, int]) -> list[dict]:
    return [{"variant": variant.pk, "sku": variant.sku, "requested": wanted[variant.pk],
             "available": max(variant.available, 0)}
            for variant in variants
            if variant.pk in wanted and not variant.allow_backorder and variant.available < wanted[variant.pk]]


def _insufficient(short: list[dict]) -> OutOfStock:
    names = ", ".join(f"{item['sku']} ({item['available']} available)" for item in short)
    return OutOfStock(f"Not enough stock: {names}.", variants=short)


def _reserve_lock(*, store, ids: list[int]) -> list[Variant]:
    """The store's variants among ``ids``, row-locked in id order (one SELECT … FOR UPDATE ORDER BY id, so two
    checkouts never wait on each other crosswise), with what reserving reads: counts, flags, sku, names. Raw SQL:
    it is on every checkout, and the ORM's select_related compiled to the same statement at several times the
    cost. Each variant's ``product`` is an unsaved stand-in carrying its id, name and ``store``."""
    variants, products = Variant._meta.db_table, Product._meta.db_table
    lock = " FOR UPDATE OF v" if connection.features.has_select_for_update_of else ""
    cursor = statement_cursor()
    cursor.execute(
        f"SELECT v.id, v.product_id, v.sku, v.name, v.stock_quantity, v.reserved, v.track_inventory, "
        f"v.allow_backorder, p.name FROM {variants} v INNER JOIN {products} p ON p.id = v.product_id "
        f"WHERE v.store_id = %s AND v.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY v.id{lock}",
        [store.pk, *ids])
    rows = cursor.fetchall()
    locked = []
    for pk, product_id, sku, name, on_hand, reserved, track, backorder, product_name in rows:
        variant = Variant(pk=pk, store_id=store.pk, product_id=product_id, sku=sku, name=name,
                          stock_quantity=on_hand, reserved=reserved, track_inventory=bool(track),
                          allow_backorder=bool(backorder))
        variant.product = Product(pk=product_id, store=store, name=product_name)
        locked.append(variant)
    return locked


def _reserve_write(*, store, order, wanted: dict[int, int], variants: list[Variant], actor) -> int:
    """``reserved`` grows by ``wanted`` on ``variants`` (locked, tracked) where ``stock_quantity - reserved``
    covers it (backorder variants unconditionally), with a ``reserve`` movement naming the order for each variant
    it grew on; returns on how many. PostgreSQL: one statement (an UPDATE … FROM unnest feeding the movements'
    INSERT); elsewhere the same through the ORM (one UPDATE with a CASE per variant, one bulk INSERT)."""
    actor_user, actor_label, actor_id = actor_describe(actor)
    now = timezone.now()
    if connection.vendor == "postgresql":
        ids = [variant.pk for variant in variants]
        cursor = statement_cursor()
        cursor.execute(
            f"WITH wanted (id, quantity) AS (SELECT * FROM unnest(%s::bigint[], %s::integer[])), "
            f"grown AS (UPDATE {Variant._meta.db_table} AS v SET reserved = v.reserved + wanted.quantity, "
            f"updated_at = %s FROM wanted WHERE v.id = wanted.id "
            f"AND (v.allow_backorder OR v.stock_quantity - v.reserved >= wanted.quantity) "
            f"RETURNING v.id, wanted.quantity) "
            f"INSERT INTO {InventoryMovement._meta.db_table} (store_id, variant_id, reason, quantity_delta, "
            f"reserved_delta, note, actor_user_id, actor_label, actor_id, order_id, created_at) "
            f"SELECT %s, id, %s, 0, quantity, '', %s, %s, %s, %s, %s FROM grown ORDER BY id",
            [ids, [wanted[pk] for pk in ids], now, store.pk, MovementReason.RESERVE.value,
             actor_user.pk if actor_user is not None else None, actor_label[:255], actor_id[:64], order.pk,
             now])
        return cursor.rowcount
    condition = Q()
    for variant in variants:
        condition |= Q(pk=variant.pk) & (Q(allow_backorder=True)
                                         | Q(stock_quantity__gte=F("reserved") + wanted[variant.pk]))
    updated = Variant.objects.filter(condition).update(
        reserved=Case(*(When(pk=variant.pk, then=F("reserved") + wanted[variant.pk]) for variant in variants),
                      default=F("reserved")),
        updated_at=now)
    if updated == len(variants):
        _movements_bulk(store_id=store.pk, order=order, reason=MovementReason.RESERVE, actor=actor,
                        deltas={variant.pk: (0, wanted[variant.pk]) for variant in variants})
    return updated


def stock_reserve(*, store, items: list[tuple[int, int]], order, actor=None) -> None:
    """Holds ``items`` ((variant_id, quantity), any order, repeats added up) for ``order`` in the caller's
    transaction: ``reserved`` grows only where ``stock_quantity - reserved`` covers it (backorder variants
    unconditionally; untracked ones are not counted). Raises OutOfStock (409 OUT_OF_STOCK, details.variants
    naming each short variant and what is available) and writes nothing when any line is short.

    Two statements on PostgreSQL whatever the number of lines: the lock, then the reservation with its movements."""
    wanted: dict[int, int] = {}
    for variant_id, quantity in items:
        if quantity <= 0:
            raise ValueError("reserve a positive quantity")
        wanted[variant_id] = wanted.get(variant_id, 0) + quantity
    locked = _reserve_lock(store=store, ids=sorted(wanted))
    missing = sorted(set(wanted) - {variant.pk for variant in locked})
    if missing:  # deleted meanwhile, or not this store's
        raise _insufficient([{"variant": pk, "sku": "", "requested": wanted[pk], "available": 0} for pk in missing])
    variants = [variant for variant in locked if variant.track_inventory]
    if not variants:
        return
    short = _short(variants, wanted)
    if short:
        raise _insufficient(short)
    updated = _reserve_write(store=store, order=order, wanted=wanted, variants=variants, actor=actor)
    if updated != len(variants):  # only without row locks (SQLite): a concurrent writer took the stock first
        fresh = list(Variant.objects.filter(pk__in=[variant.pk for variant in variants]).order_by("pk"))
        raise _insufficient(_short(fresh, wanted) or [
            {"variant": variant.pk, "sku": variant.sku, "requested": wanted[variant.pk],
             "available": max(variant.available, 0)} for variant in fresh])
    sold_out = []
    for variant in variants:
        before = variant.available
        variant.reserved += wanted[variant.pk]
        stock_low_notice(variant=variant, available_before=before, actor=actor)
        if not variant.allow_backorder and before > 0 >= variant.available:
            sold_out.append(variant.product_id)
    # a product's in_stock flips only when a variant runs out: refreshing it then, not on every checkout, keeps
    # hot products' rows out of the checkout's locks
    product_summary_refresh(product_ids=sold_out, invalidate=False)
    catalog_stock_changed(store.pk, [variant.pk for variant in variants], flipped=bool(sold_out))


def _stock_give_back(*, order, actor, reason: str, sell: bool) -> None:
    held = _order_held(order)
    if not held:
        return
    variants = _locked_variants(ids=sorted(held))
    if not variants:
        return
    guard = Q()
    for variant in variants:
        units = held[variant.pk]
        guard |= Q(pk=variant.pk, reserved__gte=units, **({"stock_quantity__gte": units} if sell else {}))
    changes = {"reserved": Case(*(When(pk=variant.pk, then=F("reserved") - held[variant.pk]) for variant in variants),
                                default=F("reserved"))}
    if sell:
        changes["stock_quantity"] = Case(
            *(When(pk=variant.pk, then=F("stock_quantity") - held[variant.pk]) for variant in variants),
            default=F("stock_quantity"))
    updated = Variant.objects.filter(guard).update(**changes, updated_at=timezone.now())
    if updated != len(variants):
        # a backorder sold before its units arrived, or counts changed behind the ledger's back
        short = [{"variant": variant.pk, "sku": variant.sku, "requested": held[variant.pk],
                  "available": variant.stock_quantity if sell else variant.reserved} for variant in variants
                 if variant.reserved < held[variant.pk] or (sell and variant.stock_quantity < held[variant.pk])]
        raise _insufficient(short)
    _movements_bulk(store_id=order.store_id, order=order, reason=reason, actor=actor,
                    deltas={variant.pk: (-held[variant.pk] if sell else 0, -held[variant.pk])
                            for variant in variants})
    back = []
    if not sell:
        back = [variant.product_id for variant in variants
                if not variant.allow_backorder and variant.available <= 0 < variant.available + held[variant.pk]]
        product_summary_refresh(product_ids=back, invalidate=False)
    catalog_stock_changed(order.store_id, [variant.pk for variant in variants], flipped=bool(back))


def stock_release(*, order, actor=None, reason: str = MovementReason.RELEASE) -> None:
    """Gives back what ``order`` still holds (its reserve movements less its releases and sales) in the caller's
    transaction: ``reserved`` drops, ``release`` movements are written. Holding nothing does nothing, so a second
    call is harmless."""
    _stock_give_back(order=order, actor=actor, reason=reason, sell=False)


def stock_sell(*, order, actor=None) -> None:
    """Consumes what ``order`` still holds in the caller's transaction: on hand and reserved both drop, ``sale``
    movements are written. Raises OutOfStock (409) when a backordered variant has fewer units on hand than
    the order takes (restock first); nothing changes then."""
    _stock_give_back(order=order, actor=actor, reason=MovementReason.SALE, sell=True)


# --- orders: returns ------------------------------------------------------------------------------------------
def stock_returnable(order) -> dict[int, int]:
    """{variant_id: units} ``order`` took off the shelf and has not brought back: its sales less its returns, by its
    own movements (reserves and releases move no units on hand)."""
    out = (InventoryMovement.objects.filter(order=order).order_by().values("variant_id")
           .annotate(units=Sum("quantity_delta")).values_list("variant_id", "units"))
    return {variant_id: -units for variant_id, units in out if units < 0}


def stock_return(*, order, actor=None) -> dict[int, int]:
    """Puts back on the shelf every unit ``order`` sold and has not returned yet (a refund with ``restock``), in the
    caller's transaction: the variants locked in id order, ``stock_quantity`` grows in one UPDATE, ``return``
    movements naming the order are written. Answers {variant_id: units} returned; a second call returns nothing.
    A variant deleted since is skipped (its units have nowhere to go)."""
    held = stock_returnable(order)
    variants = _locked_variants(ids=sorted(held)) if held else []
    if not variants:
        return {}
    held = stock_returnable(order)  # again under the locks: a concurrent return of the same order counted once
    variants = [variant for variant in variants if held.get(variant.pk, 0) > 0]
    if not variants:
        return {}
    Variant.objects.filter(pk__in=[variant.pk for variant in variants]).update(
        stock_quantity=Case(*(When(pk=variant.pk, then=F("stock_quantity") + held[variant.pk])
                              for variant in variants), default=F("stock_quantity")),
        updated_at=timezone.now())
    _movements_bulk(store_id=order.store_id, order=order, reason=MovementReason.RETURN, actor=actor,
                    deltas={variant.pk: (held[variant.pk], 0) for variant in variants})
    back = [variant.product_id for variant in variants
            if not variant.allow_backorder and variant.available <= 0 < variant.available + held[variant.pk]]
    product_summary_refresh(product_ids=back, invalidate=False)
    catalog_stock_changed(order.store_id, [variant.pk for variant in variants], flipped=bool(back))
    return {variant.pk: held[variant.pk] for variant in variants}


def movements_actor_erase(*, user_id: int, label: str) -> int:
    """A person's erasure: the movements they made name ``label`` instead of their email (the ledger's quantities,
    reasons and orders stay as they were). The one change to the append-only ledger besides nulling actor_user."""
    return QuerySet.update(InventoryMovement.objects.filter(actor_user_id=user_id), actor_label=label)
