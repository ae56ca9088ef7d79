"""Placing an order: a cart becomes an order in the caller's transaction, or nothing happens at all."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Product, Variant
from catalog.services import stock_reserve
from config.api.errors import NotFound, ValidationFailed
from config.db import row_insert, rows_insert, rows_select, statement_cursor
from features.flags import is_enabled
from notifications import events
from plans.services import order_quota_take

from ..errors import GuestCheckoutOff
from ..events import actor_label, actor_user, audit, emit_event, order_payload, plan_limit_notice
from ..models import Cart, CartLine, Coupon, CouponUse, Order, OrderEvent, OrderLine, OrderStatus, ShippingMethod
from ..pricing import PricedLine, coupon_problem, price_cart
from .carts import cart_line_for_sale, cart_line_name, cart_line_unit_price
from .custom import custom_line_placed, custom_line_problem

# No 0/O or 1/I: customers read numbers aloud and type them. 32 symbols × 10 = 50 bits: not guessable.
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
NUMBER_LENGTH = 10
PLACE_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSING)
MAX_PAYMENT_METHOD_LENGTH = 32


def order_number_new() -> str:
    """A random order number such as "7QK3M-9XP2H"."""
    symbols = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
    return f"{symbols[:5]}-{symbols[5:]}"


def order_number_normalize(text: str) -> str:
    """What a customer typed ("7qk3m9xp2h", " 7QK3M-9XP2H ") as the stored form, for lookups."""
    symbols = "".join(char for char in str(text).upper() if char.isalnum())
    if len(symbols) != NUMBER_LENGTH:
        return str(text).strip().upper()
    return f"{symbols[:5]}-{symbols[5:]}"


MAX_ADDRESS_FIELDS = 20
MAX_ADDRESS_KEY_LENGTH = 50
MAX_ADDRESS_VALUE_LENGTH = 500


def _address_problem(address) -> str | None:
    """Why ``address`` is not a flat object of short text fields (what an order keeps, shows and emails)."""
    if not isinstance(address, dict):
        return "An object."
    if len(address) > MAX_ADDRESS_FIELDS:
        return f"At most {MAX_ADDRESS_FIELDS} fields."
    for key, value in address.items():
        if not isinstance(key, str) or len(key) > MAX_ADDRESS_KEY_LENGTH:
            return f"Field names of at most {MAX_ADDRESS_KEY_LENGTH} characters."
        if isinstance(value, dict | list):
            return f"{key}: text, not an object or a list."
        if isinstance(value, str) and len(value) > MAX_ADDRESS_VALUE_LENGTH:
            return f"{key}: at most {MAX_ADDRESS_VALUE_LENGTH} characters."
    return None


def _clean_inputs(*, email: str, shipping_address, billing_address, payment_method: str, initial_status: str):
    errors: dict[str, list[str]] = {}
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = ["Enter a valid email address."]
    if problem := _address_problem(shipping_address):
        errors["shipping_address"] = [problem]
    if billing_address is not None and (problem := _address_problem(billing_address)):
        errors["billing_address"] = [problem]
    if not payment_method or not isinstance(payment_method, str) or len(payment_method) > MAX_PAYMENT_METHOD_LENGTH:
        errors["payment_method"] = ["Choose a payment method."]
    if initial_status not in PLACE_STATUSES:
        raise ValueError(f"an order starts as one of {PLACE_STATUSES}, not {initial_status!r}")
    if errors:
        raise ValidationFailed("Invalid checkout.", **errors)
    return email


def _shipping_method(*, store, shipping_method_id) -> ShippingMethod | None:
    if shipping_method_id is None:
        if ShippingMethod.objects.filter(store=store, is_active=True).exists():
            raise ValidationFailed("Choose a shipping method.", shipping_method=["Choose a shipping method."])
        return None
    # every checkout reads it: one fixed statement (config.db; the ORM's queryset cost 0.5 ms of the 10)
    method = (next(iter(rows_select(ShippingMethod, "id = %s AND store_id = %s AND is_active = %s",
                                    [shipping_method_id, store.pk, True])), None)
              if isinstance(shipping_method_id, int) and not isinstance(shipping_method_id, bool)
              and 0 < shipping_method_id < 2**63 else None)  # a bigint, or no such row
    if method is None:
        raise ValidationFailed("Unknown shipping method.", shipping_method=["Unknown shipping method."])
    return method


def _coupon_count(*, coupon: Coupon, subtotal, currency: str, user, email: str, now) -> None:
    """Counts one use of ``coupon`` in one conditional UPDATE, so its overall limit holds under concurrency,
    then checks the customer's own limit under the row lock that UPDATE took. ValidationFailed otherwise."""
    counted = (Coupon.objects
               .filter(pk=coupon.pk, is_active=True)
               .filter(Q(usage_limit__isnull=True) | Q(used_count__lt=F("usage_limit")))
               .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
               .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
               .update(used_count=F("used_count") + 1))
    if not counted:
        fresh = Coupon.objects.filter(pk=coupon.pk).first()
        problem = (coupon_problem(coupon=fresh, subtotal=subtotal, currency=currency, now=now)
                   if fresh is not None else None) or "This coupon has been used up."
        raise ValidationFailed(problem, coupon=[problem])
    if coupon.usage_limit_per_customer is not None:
        uses = CouponUse.objects.filter(coupon=coupon)
        uses = uses.filter(user=user) if user is not None else uses.filter(email__iexact=email)
        if uses.count() >= coupon.usage_limit_per_customer:
            raise ValidationFailed("You have already used this coupon.", coupon=["You have already used this coupon."])


def _order_insert(**fields) -> Order:
    """Inserts the order under a fresh random number; a clash with another order's number draws again (ON CONFLICT
    DO NOTHING: no savepoint per checkout)."""
    for _ in range(5):
        order = Order(number=order_number_new(), **fields)
        if row_insert(order, skip_conflict=True):
            return order
    raise RuntimeError("could not draw a free order number")  # 5 clashes in 2**50: a broken random source


def _cart_locked(cart_id) -> tuple[Cart | None, list[CartLine]]:
    """The cart row locked (a second checkout of the same cart waits, then finds it gone) and its lines in
    variant order, each with its variant and product holding what checkout reads (names, sku, options, price,
    status); the coupon, when the cart has one, read after. Raw SQL, two statements: every checkout runs them,
    and the ORM's select_related reads cost several times their SQL. Values go through the fields' own
    converters, as the ORM's do."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor = statement_cursor()
    cursor.execute(f"SELECT id, store_id, user_id, coupon_id, coupon_code FROM {Cart._meta.db_table} "
                   f"WHERE id = %s{lock}", [Cart._meta.pk.get_db_prep_value(cart_id, connection)])
    row = cursor.fetchone()
    if row is None:
        return None, []
    cart = Cart.from_db(connection.alias, ["id", "store_id", "user_id", "coupon_id", "coupon_code"],
                        [_converted(Cart, "id", row[0]), *row[1:]])
    cursor.execute(
        f"SELECT l.id, l.variant_id, l.name, l.quantity, l.reference, l.unit_price, v.product_id, v.sku, v.name, "
        f"v.price, v.options, p.name, p.status FROM {CartLine._meta.db_table} l "
        f"LEFT JOIN {Variant._meta.db_table} v ON v.id = l.variant_id "
        f"LEFT JOIN {Product._meta.db_table} p ON p.id = v.product_id WHERE l.cart_id = %s ORDER BY l.variant_id",
        [Cart._meta.pk.get_db_prep_value(cart.pk, connection)])
    rows = cursor.fetchall()
    lines = []
    for (pk, variant_id, name, quantity, reference, unit_price, product_id, sku, variant_name, price, options,
         product_name, status) in rows:
        line = CartLine.from_db(connection.alias, ["id", "cart_id", "variant_id", "name", "quantity", "reference",
                                                   "unit_price"],
                                [pk, cart.pk, variant_id, name, quantity, reference,
                                 _converted(CartLine, "unit_price", unit_price)])
        if variant_id is not None:
            variant = Variant.from_db(connection.alias, ["id", "product_id", "sku", "name", "price", "options"],
                                      [variant_id, product_id, sku, variant_name, _converted(Variant, "price", price),
                                       _converted(Variant, "options", options)])
            variant.product = Product.from_db(connection.alias, ["id", "name", "status"],
                                              [product_id, product_name, status])
            line.variant = variant
        lines.append(line)
    if cart.coupon_id is not None:
        cart.coupon = Coupon.objects.filter(pk=cart.coupon_id).first()
    return cart, lines


def _cart_delete(cart: Cart) -> None:
    """The placed cart and its lines, in two DELETEs (Django's collector, for the same two, cost 0.5 ms of Python)."""
    cursor = statement_cursor()
    for table, column in ((CartLine._meta.db_table, "cart_id"), (Cart._meta.db_table, "id")):
        cursor.execute(f"DELETE FROM {table} WHERE {column} = %s",
                       [Cart._meta.pk.get_db_prep_value(cart.pk, connection)])


def _converted(model, name: str, value):
    """A column's value as the ORM gives it (the backend's and the field's converters: Decimal, JSON, UUID)."""
    field = model._meta.get_field(name)
    column = field.cached_col
    for converter in [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]:
        value = converter(value, column, connection)
    return value


def _lines_keep(order: Order, lines: list[OrderLine]) -> None:
    """Leaves the lines just inserted (with their ids, in id order) where ``order.lines.all()`` and prefetching
    find them, as a prefetch would: the checkout's answer (orders.selectors.order_lines_load) reads them back
    from here instead of the database."""
    kept = order.lines.all()
    kept._result_cache, kept._prefetch_done = list(lines), True
    order._prefetched_objects_cache = {"lines": kept}


def checkout_guest_check(*, store, user, actor) -> None:
    """Raises GuestCheckoutOff (401 AUTHENTICATION_REQUIRED) for a checkout without a signed-in buyer (nor the
    store's API key, which places orders for no one) in a store that switched ``guest_checkout`` off."""
    if user is None and actor is None and not is_enabled("guest_checkout", store=store):
        raise GuestCheckoutOff(feature="guest_checkout")


@transaction.atomic
def order_place(*, store, cart: Cart, email: str, customer_name: str = "", shipping_address: dict,
                billing_address: dict | None = None, shipping_method_id: int | None = None, payment_method: str,
                initial_status: str = OrderStatus.PENDING, user=None, actor=None) -> Order:
    """Turns the cart into an order (priced from the catalog), counts its coupon, reserves its stock and deletes
    the cart, all in the caller's transaction; ``order.created`` goes out on commit.

    The same number of SQL statements whatever the number of lines. Raises NotFound (404) for a cart of another
    store or user, ValidationFailed (400: email, addresses, shipping_method, payment_method, an empty cart, a line
    no longer for sale, a coupon that no longer applies or while the store takes no coupons), OutOfStock (409
    OUT_OF_STOCK), PlanLimitReached (403 PLAN_LIMIT_REACHED: the store's plan has no orders left this month) and
    GuestCheckoutOff (401: no buyer signed in where guest checkout is off); nothing is left behind then.
    """
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    checkout_guest_check(store=store, user=user, actor=actor)
    email = _clean_inputs(email=email, shipping_address=shipping_address, billing_address=billing_address,
                          payment_method=payment_method, initial_status=initial_status)
    now = timezone.now()
    # the cart row locked first: a second checkout of the same cart waits, then finds it gone
    cart, lines = _cart_locked(cart.pk)
    if cart is None or cart.store_id != store.pk or (cart.user_id is not None and (
            user is None or cart.user_id != user.pk)):
        raise NotFound("No such cart.")
    if not lines:
        raise ValidationFailed("The cart is empty.", cart=["The cart is empty."])
    gone = [line for line in lines if not cart_line_for_sale(line)]
    if gone:
        names = [cart_line_name(line.variant) if line.variant is not None else (line.name or "An item")
                 for line in gone]
        raise ValidationFailed("Some items are no longer available.",
                               cart=[f"{name} is no longer available." for name in names])
    # custom lines (a print quote): their kind says whether they can still be bought (expired, already ordered)
    problems = [f"{line.name}: {problem}" for line in lines
                if line.reference and (problem := custom_line_problem(store=store, reference=line.reference))]
    if problems:
        raise ValidationFailed("Some items can no longer be bought.", cart=problems)
    method = _shipping_method(store=store, shipping_method_id=shipping_method_id)
    coupon = cart.coupon
    if coupon is None and cart.coupon_code:  # applied, then deleted by the store: the buyer must see the new total
        message = f"The coupon {cart.coupon_code} no longer exists."
        raise ValidationFailed(message, coupon=[message])
    if coupon is not None and not is_enabled("coupons", store=store):  # the same: the cart's view drops it
        message = "This store no longer takes coupons: look at the cart again for its new total."
        raise ValidationFailed(message, cart=[message])
    totals = price_cart(store=store, coupon=coupon, shipping_method=method, now=now,
                        lines=[PricedLine(variant_id=line.variant_id, unit_price=cart_line_unit_price(line),
                                          quantity=line.quantity) for line in lines])
    if coupon is not None:
        if totals.coupon_error:
            raise ValidationFailed(totals.coupon_error, coupon=[totals.coupon_error])
        _coupon_count(coupon=coupon, subtotal=totals.subtotal, currency=store.currency, user=user, email=email,
                      now=now)

    # the plan's monthly orders, counted in this transaction (a refusal leaves nothing; a rollback gives it back)
    quota = order_quota_take(store=store, now=now)
    if quota is not None and quota[0] == quota[1]:
        plan_limit_notice(store=store, allowed=quota[1], now=now)
    pending = initial_status == OrderStatus.PENDING
    order = _order_insert(
        store=store, user=user, email=email, customer_name=(customer_name or "").strip()[:200],
        status=initial_status, currency=store.currency, subtotal=totals.subtotal, discount=totals.discount,
        shipping=totals.shipping, tax=totals.tax, total=totals.total, tax_included=totals.tax_included,
        coupon=coupon, coupon_code=coupon.code if coupon else "", shipping_method=method,
        shipping_method_name=method.name if method else "", shipping_address=shipping_address,
        billing_address=shipping_address if billing_address is None else billing_address,
        payment_method=payment_method,
        reserved_until=now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES) if pending else None,
    )
    order_lines = rows_insert([
        OrderLine(order=order, variant_id=None, product_id=None, product_name=line.name[:200], variant_name="",
                  sku=line.reference, options={}, unit_price=priced.unit_price, quantity=line.quantity,
                  tax=priced.tax, line_total=priced.line_total, reference=line.reference)
        if line.reference else
        OrderLine(order=order, variant_id=line.variant_id, product_id=line.variant.product_id,
                  product_name=line.variant.product.name, variant_name=line.variant.name, sku=line.variant.sku,
                  options=line.variant.options, unit_price=priced.unit_price, quantity=line.quantity,
                  tax=priced.tax, line_total=priced.line_total)
        for line, priced in zip(lines, totals.lines, strict=True)
    ])
    _lines_keep(order, order_lines)
    for order_line in order_lines:
        if order_line.reference:  # its kind claims what it stands for; a refusal rolls the checkout back
            custom_line_placed(store=store, order=order, line=order_line, actor=actor)
    if coupon is not None:
        CouponUse.objects.create(coupon=coupon, order=order, user=user, email=email)
    row_insert(OrderEvent(order=order, kind="created", to_status=initial_status, actor_user=actor_user(actor),
                          actor_label=actor_label(actor)[:255]))
    _cart_delete(cart)
    audit(store=store, actor=actor, action="order.created", target=order,
          changes={"number": order.number, "status": order.status, "total": str(order.total),
                   "payment_method": payment_method})
    emit_event(events.ORDER_CREATED, store=store, payload=order_payload(order, order_lines), actor=actor, order=order,
               cart_id=cart.pk if cart.user_id is None else None)  # a guest's cart token follows its order
    # last: the variants' row locks, which every checkout of a popular product waits for, are held from here to
    # COMMIT only (a refusal rolls back all of the above)
    items = [(line.variant_id, line.quantity) for line in lines if not line.reference]  # custom lines hold no stock
    if items:
        stock_reserve(store=store, items=items, order=order, actor=actor)
    return order
