"""Carts: anonymous ones addressed by their UUID, a user's one per store; prices always from the catalog."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.errors import OutOfStock
from catalog.models import ProductStatus, Variant
from config.api.errors import NotFound, ValidationFailed
from features.flags import is_enabled

from ..models import Cart, CartLine, Coupon, CouponUse
from ..pricing import PricedLine, Totals, coupon_problem, price_cart
from .custom import custom_line_problem

MAX_LINE_QUANTITY = 10_000
MAX_CART_LINES = 100


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@transaction.atomic
def cart_create(*, store, user=None, items: Iterable[tuple[int, int]] = ()) -> Cart:
    """A new anonymous cart, or the logged-in user's cart in ``store`` (created when they have none), with
    ``items`` ((variant_id, quantity) pairs) added as cart_item_add adds them: all of them or, raising what
    cart_item_add raises, nothing at all (not even the cart)."""
    cart = _cart_for(store=store, user=_user_or_none(user))
    for variant_id, quantity in items:
        cart_item_add(cart=cart, variant_id=variant_id, quantity=quantity)
    return cart


def _cart_for(*, store, user) -> Cart:
    if user is None:
        return Cart.objects.create(store=store)
    cart = Cart.objects.filter(store=store, user=user).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(store=store, user=user)
    except IntegrityError:  # a concurrent call created it first
        return Cart.objects.get(store=store, user=user)


def cart_get(*, store, cart_id, user=None) -> Cart:
    """The cart ``cart_id`` of ``store``. A user's cart is only theirs; an anonymous one is anyone's who holds
    its UUID. Raises NotFound (404) otherwise, for a malformed id too."""
    try:
        cart_id = uuid.UUID(str(cart_id))
    except ValueError:
        raise NotFound("No such cart.") from None
    cart = Cart.objects.filter(pk=cart_id, store=store).select_related("store").first()
    user = _user_or_none(user)
    if cart is None or (cart.user_id is not None and (user is None or user.pk != cart.user_id)):
        raise NotFound("No such cart.")
    return cart


def _locked(cart: Cart) -> Cart:
    """The cart's row locked: concurrent changes of one cart run one after the other. Only the cart's row
    (``of=("self",)``): locking the joined store row too made every cart change of a store wait for the others,
    and deadlocked with checkouts (their inserts take a key-share lock on the store row)."""
    locked = Cart.objects.select_for_update(of=("self",)).select_related("store").filter(pk=cart.pk).first()
    if locked is None:
        raise NotFound("No such cart.")
    return locked


def _touch(cart: Cart) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())


def _check_quantity(quantity, *, field_name: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(f"The quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                               **{field_name: [f"Between 1 and {MAX_LINE_QUANTITY}."]})
    return quantity


def _sellable_variant(*, store_id: int, variant_id) -> Variant:
    """A variant of this store whose product is published; ValidationFailed (400) otherwise."""
    variant = (Variant.objects.select_related("product").filter(pk=variant_id, store_id=store_id).first()
               if isinstance(variant_id, int) and not isinstance(variant_id, bool) else None)
    if variant is None:
        raise ValidationFailed("Unknown variant.", variant=["Unknown variant."])
    if variant.product.status != ProductStatus.PUBLISHED:
        raise ValidationFailed("This product is not for sale.", variant=["This product is not for sale."])
    return variant


def cart_line_name(variant: Variant) -> str:
    """The name a cart line shows and keeps for when its variant is deleted (product, then variant name)."""
    return f"{variant.product.name} {variant.name}".strip()[:300]


def limits_stock(variant: Variant) -> bool:
    """Whether ``variant``'s available stock caps what can be bought (tracked, no backorders)."""
    return variant.track_inventory and not variant.allow_backorder


def _check_stock(variant: Variant, wanted: int) -> None:
    if limits_stock(variant) and wanted > variant.available:
        available = max(variant.available, 0)
        raise OutOfStock(f"Only {available} of {variant.sku} available.",
                         variants=[{"variant": variant.pk, "sku": variant.sku, "requested": wanted,
                                    "available": available}])


@transaction.atomic
def cart_item_add(*, cart: Cart, variant_id: int, quantity: int) -> CartLine:
    """Adds ``quantity`` of a variant (to its line when there is one). Raises ValidationFailed (400) for a
    variant of another store, an unpublished product or a bad quantity, OutOfStock (409 OUT_OF_STOCK)
    past available stock."""
    _check_quantity(quantity)
    cart = _locked(cart)
    variant = _sellable_variant(store_id=cart.store_id, variant_id=variant_id)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    wanted = quantity + (line.quantity if line else 0)
    _check_quantity(wanted)
    _check_stock(variant, wanted)
    if line is None:
        if CartLine.objects.filter(cart=cart).count() >= MAX_CART_LINES:
            raise ValidationFailed(f"A cart holds at most {MAX_CART_LINES} lines.",
                                   variant=[f"A cart holds at most {MAX_CART_LINES} lines."])
        line = CartLine.objects.create(cart=cart, variant=variant, name=cart_line_name(variant), quantity=wanted)
    else:
        CartLine.objects.filter(pk=line.pk).update(quantity=wanted)
        line.quantity = wanted
    _touch(cart)
    return line


def _cart_line(*, cart: Cart, line_id) -> CartLine:
    line = (CartLine.objects.select_related("variant__product").filter(pk=line_id, cart_id=cart.pk).first()
            if isinstance(line_id, int) and not isinstance(line_id, bool) else None)
    if line is None:
        raise NotFound("No such line in this cart.")
    return line


@transaction.atomic
def cart_item_update(*, cart: Cart, line_id: int, quantity: int) -> CartLine:
    """Sets a line's quantity. Raises NotFound (404) for a line of another cart, ValidationFailed (400) for a bad
    quantity or a product no longer for sale, OutOfStock (409 OUT_OF_STOCK) past available stock."""
    _check_quantity(quantity)
    cart = _locked(cart)
    line = _cart_line(cart=cart, line_id=line_id)
    if line.reference:
        message = f"{line.name} comes as quoted; remove it and ask for a new quote to change it."
        raise ValidationFailed(message, quantity=[message])
    if line.variant_id is None:  # deleted since it was added: the next look at the cart drops it
        message = f"{line.name or 'This item'} is no longer available."
        raise ValidationFailed(message, variant=[message])
    variant = _sellable_variant(store_id=cart.store_id, variant_id=line.variant_id)
    _check_stock(variant, quantity)
    CartLine.objects.filter(pk=line.pk).update(quantity=quantity)
    line.quantity = quantity
    _touch(cart)
    return line


@transaction.atomic
def cart_item_remove(*, cart: Cart, line_id: int) -> None:
    """Removes a line. Raises NotFound (404) for a line of another cart."""
    cart = _locked(cart)
    line = _cart_line(cart=cart, line_id=line_id)
    line.delete()
    _touch(cart)


def customer_coupon_uses(*, coupon: Coupon, user_id: int | None = None, email: str = "") -> int:
    """How many orders this customer (the user, else the email, case-insensitively) placed with ``coupon``."""
    if coupon.usage_limit_per_customer is None:
        return 0
    if user_id is not None:
        return CouponUse.objects.filter(coupon=coupon, user_id=user_id).count()
    if email:
        return CouponUse.objects.filter(coupon=coupon, email__iexact=email.strip()).count()
    return 0


def _cart_lines(cart: Cart) -> list[CartLine]:
    return list(CartLine.objects.filter(cart_id=cart.pk).select_related("variant__product").order_by("id"))


def cart_line_for_sale(line: CartLine) -> bool:
    """Whether the line's variant still exists and its product is published (a custom line: always; its own kind
    says whether it can still be bought: custom_line_problem)."""
    if line.reference:
        return True
    return line.variant is not None and line.variant.product.status == ProductStatus.PUBLISHED


def cart_line_unit_price(line: CartLine) -> Decimal:
    """A catalog line's price from the catalog, now; a custom line's fixed price."""
    return line.unit_price if line.reference else line.variant.price


def _priced(lines: list[CartLine]) -> list[PricedLine]:
    return [PricedLine(variant_id=line.variant_id, unit_price=cart_line_unit_price(line), quantity=line.quantity)
            for line in lines]


@transaction.atomic
def cart_coupon_apply(*, cart: Cart, code: str, customer_email: str = "") -> Cart:
    """Applies the store's coupon ``code`` (any case) to the cart. Raises ValidationFailed (400, details.code)
    for an unknown, inactive, not yet valid, expired or used-up coupon, or a subtotal under its minimum."""
    cart = _locked(cart)
    code = (code or "").strip()
    coupon = Coupon.objects.filter(store_id=cart.store_id, code__iexact=code).first() if code else None
    if coupon is None:
        raise ValidationFailed("Unknown coupon.", code=["Unknown coupon."])
    lines = [line for line in _cart_lines(cart) if cart_line_for_sale(line)]
    subtotal = price_cart(store=cart.store, lines=_priced(lines)).subtotal
    problem = coupon_problem(coupon=coupon, subtotal=subtotal, currency=cart.store.currency,
                             customer_uses=customer_coupon_uses(coupon=coupon, user_id=cart.user_id,
                                                                email=customer_email))
    if problem:
        raise ValidationFailed(problem, code=[problem])
    Cart.objects.filter(pk=cart.pk).update(coupon=coupon, coupon_code=coupon.code, updated_at=timezone.now())
    cart.coupon, cart.coupon_code = coupon, coupon.code
    return cart


@transaction.atomic
def cart_coupon_remove(*, cart: Cart) -> Cart:
    """Takes the coupon off the cart (nothing when it has none)."""
    cart = _locked(cart)
    Cart.objects.filter(pk=cart.pk).update(coupon=None, coupon_code="", updated_at=timezone.now())
    cart.coupon, cart.coupon_code = None, ""
    return cart


@transaction.atomic
def lines_add_capped(*, cart: Cart, existing: dict[int, CartLine], variant: Variant, quantity: int) -> None:
    """Adds ``quantity`` of ``variant`` to ``cart`` (its lines ``existing`` by variant id; a new one is added there):
    the line grows up to MAX_LINE_QUANTITY and, when stock limits the variant, what is available, and never
    shrinks; a new line only while the cart has room. For merge and reorder, which add without refusing."""
    mine = existing.get(variant.pk)
    wanted = min(quantity + (mine.quantity if mine else 0), MAX_LINE_QUANTITY)
    if limits_stock(variant):
        wanted = min(wanted, max(variant.available, 0))
    if mine is not None:
        if wanted > mine.quantity:
            CartLine.objects.filter(pk=mine.pk).update(quantity=wanted)
    elif wanted > 0 and len(existing) < MAX_CART_LINES:
        existing[variant.pk] = CartLine.objects.create(cart=cart, variant=variant, name=cart_line_name(variant),
                                                       quantity=wanted)


def cart_merge(*, source: Cart, user) -> Cart:
    """Moves an anonymous cart into ``user``'s cart of the same store (created when none): quantities add up,
    capped by available stock; lines no longer for sale are left out; the source cart is deleted.

    Raises NotFound (404) when the source belongs to another user; merging a user's own cart returns it.
    """
    user = _user_or_none(user)
    if user is None:
        raise ValidationFailed("Log in to merge a cart.", cart=["Log in to merge a cart."])
    if source.user_id is not None:
        if source.user_id != user.pk:
            raise NotFound("No such cart.")
        return source
    target = cart_create(store=source.store, user=user)
    # both rows locked in one order (by id) so two merges never wait on each other crosswise
    locked = {cart.pk: cart for cart in Cart.objects.select_for_update(of=("self",)).select_related("store")
              .filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    if source.pk not in locked:
        raise NotFound("No such cart.")
    source, target = locked[source.pk], locked[target.pk]
    existing = {line.variant_id: line for line in CartLine.objects.filter(cart=target, reference="")}
    references = set(CartLine.objects.filter(cart=target).exclude(reference="").values_list("reference", flat=True))
    for line in _cart_lines(source):
        if line.reference:  # a custom line moves over as it is, once
            if line.reference not in references and len(existing) + len(references) < MAX_CART_LINES:
                CartLine.objects.filter(pk=line.pk).update(cart=target)
                references.add(line.reference)
            continue
        if not cart_line_for_sale(line):
            continue
        lines_add_capped(cart=target, existing=existing, variant=line.variant, quantity=line.quantity)
    if target.coupon_id is None and source.coupon_id is not None:
        target.coupon_id, target.coupon_code = source.coupon_id, source.coupon_code
    Cart.objects.filter(pk=target.pk).update(coupon_id=target.coupon_id, coupon_code=target.coupon_code,
                                             updated_at=timezone.now())
    Cart.objects.filter(pk=source.pk).delete()
    return target


@dataclass
class CartViewLine:
    line: CartLine
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    available: int | None  # None: the variant's stock does not cap purchases (untracked, backorders, custom)

    @property
    def variant(self) -> Variant | None:
        return self.line.variant

    @property
    def name(self) -> str:
        return self.line.name if self.line.reference else cart_line_name(self.variant)


@dataclass
class CartView:
    cart: Cart
    lines: list[CartViewLine]
    coupon: Coupon | None
    totals: Totals
    currency: str
    messages: list[str] = field(default_factory=list)


def cart_view(*, cart: Cart) -> CartView:
    """The cart re-priced from the catalog. Lines whose variant was deleted or whose product is no longer
    published, and a coupon that no longer applies or was deleted, are removed from the cart, each with a message;
    short stock is reported, not changed."""
    cart = Cart.objects.select_related("store", "coupon").filter(pk=cart.pk).first()
    if cart is None:
        raise NotFound("No such cart.")
    store = cart.store
    messages: list[str] = []
    lines, dropped = [], []
    for line in _cart_lines(cart):
        if line.reference:
            if problem := custom_line_problem(store=store, reference=line.reference):
                dropped.append(line)
                messages.append(f"{line.name} was removed from your cart: {problem}")
            else:
                lines.append(line)
        elif cart_line_for_sale(line):
            lines.append(line)
        else:
            dropped.append(line)
            name = cart_line_name(line.variant) if line.variant is not None else (line.name or "An item")
            messages.append(f"{name} is no longer available and was removed from your cart.")
    coupon = cart.coupon
    if coupon is None and cart.coupon_code:  # applied, then deleted by the store
        messages.append(f"The coupon {cart.coupon_code} was removed: it no longer exists.")
    elif coupon is not None and not is_enabled("coupons", store=store):
        messages.append(f"The coupon {coupon.code} was removed: this store no longer takes coupons.")
        coupon = None
    totals = price_cart(store=store, lines=_priced(lines), coupon=coupon,
                        customer_uses=customer_coupon_uses(coupon=coupon, user_id=cart.user_id) if coupon else 0)
    if coupon is not None and totals.coupon_error:
        messages.append(f"The coupon {coupon.code} was removed: {totals.coupon_error}")
        coupon = None
    if dropped or ((cart.coupon_id or cart.coupon_code) and coupon is None):
        with transaction.atomic():
            CartLine.objects.filter(pk__in=[line.pk for line in dropped]).delete()
            if coupon is None:
                Cart.objects.filter(pk=cart.pk).update(coupon=None, coupon_code="")
                cart.coupon, cart.coupon_code = None, ""
    view_lines = []
    for line, priced in zip(lines, totals.lines, strict=True):
        variant = line.variant
        available = max(variant.available, 0) if variant is not None and limits_stock(variant) else None
        if available is not None and line.quantity > available:
            messages.append(f"Only {available} of {variant.sku} available; lower the quantity to check out.")
        view_lines.append(CartViewLine(line=line, unit_price=priced.unit_price, quantity=line.quantity,
                                       line_total=priced.line_total, available=available))
    return CartView(cart=cart, lines=view_lines, coupon=coupon, totals=totals, currency=store.currency,
                    messages=messages)
