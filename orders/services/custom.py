"""Custom lines: priced things that are not catalog variants (a print quote), carried by carts and orders.

orders knows nothing of what they are. An app above orders registers a kind at startup
(``custom_line_kind_register`` in its ``AppConfig.ready``) with two callbacks, and puts a line in a cart with
``cart_custom_line_add`` (a reference ``"<kind>:<id>"``, a description and a fixed unit price):

- ``problem(store=, reference=)``: why the line cannot be bought now (an expired quote, one already ordered), or
  None. The cart view drops a line with a problem and says why; checkout refuses with it (400 VALIDATION_ERROR,
  ``details.cart``).
- ``placed(store=, order=, line=, actor=)``: called by checkout in its transaction once the order line exists;
  it claims what the line stands for (one conditional UPDATE) and may raise a DomainError, which rolls the whole
  checkout back.

A custom line has no stock (checkout reserves nothing for it), is never reordered, and is taxed, discounted and
totalled like any other line by orders.pricing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from config.api.errors import ValidationFailed

from ..models import Cart, CartLine

MAX_REFERENCE_LENGTH = 64


@dataclass(frozen=True)
class CustomLineKind:
    problem: Callable[..., str | None]
    placed: Callable[..., None]


_kinds: dict[str, CustomLineKind] = {}


def custom_line_kind_register(kind: str, *, problem: Callable[..., str | None], placed: Callable[..., None]) -> None:
    """Registers the custom line kind ``kind`` (the part of a reference before ":"); registering again replaces."""
    _kinds[kind] = CustomLineKind(problem=problem, placed=placed)


def custom_line_kind(reference: str) -> CustomLineKind | None:
    return _kinds.get((reference or "").partition(":")[0])


def custom_line_problem(*, store, reference: str) -> str | None:
    """Why the custom line ``reference`` cannot be bought now in ``store`` (an unknown kind: it cannot), or None."""
    kind = custom_line_kind(reference)
    if kind is None:
        return "This item can no longer be bought."
    return kind.problem(store=store, reference=reference)


def custom_line_placed(*, store, order, line, actor) -> None:
    """Hands the order line of a custom line to its kind (in checkout's transaction); raises what the kind raises."""
    kind = custom_line_kind(line.reference)
    if kind is None:
        raise ValidationFailed("Some items are no longer available.",
                               cart=[f"{line.product_name} can no longer be bought."])
    kind.placed(store=store, order=order, line=line, actor=actor)


@transaction.atomic
def cart_custom_line_add(*, cart: Cart, reference: str, name: str, unit_price: Decimal,
                         quantity: int = 1) -> CartLine:
    """Puts the custom line ``reference`` in the cart at a fixed ``unit_price`` (its kind must be registered and
    have no problem with it). Raises ValidationFailed (400) when the kind refuses it, when the cart already holds
    it or is full."""
    from .carts import MAX_CART_LINES, _check_quantity, _locked, _touch

    _check_quantity(quantity)
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or ":" not in reference:
        raise ValueError(f"a custom line's reference is '<kind>:<id>', at most {MAX_REFERENCE_LENGTH} characters")
    if unit_price is None or Decimal(unit_price) < 0:
        raise ValueError("a custom line needs a price of at least 0")
    cart = _locked(cart)
    if problem := custom_line_problem(store=cart.store, reference=reference):
        raise ValidationFailed(problem, reference=[problem])
    if CartLine.objects.filter(cart=cart, reference=reference).exists():
        raise ValidationFailed("This is already in the cart.", reference=["This is already in the cart."])
    if CartLine.objects.filter(cart=cart).count() >= MAX_CART_LINES:
        raise ValidationFailed(f"A cart holds at most {MAX_CART_LINES} lines.",
                               reference=[f"A cart holds at most {MAX_CART_LINES} lines."])
    line = CartLine.objects.create(cart=cart, variant=None, reference=reference, name=(name or reference)[:300],
                                   unit_price=unit_price, quantity=quantity)
    _touch(cart)
    return line
