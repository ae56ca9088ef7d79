"""Who a stream is for and what of each record it may see: as strict as the REST API (docs/TEAMS.md).

- A member (JWT or a user's ticket) sees the events of the stores where ``teams.selectors.store_grants`` gives
  them a grant, as every role reads orders, products and stock there; a superuser every store's. Rechecked every
  LIVE_RECHECK_SECONDS: a removed member or a deactivated user stops receiving within that time.
- Anyone signed in sees their own in-app notifications, and, as a customer, the events of their own orders
  (the order's ``user``), shown as the order's status and payment only.
- A guest's cart token (or a cart ticket) sees the order placed from that cart, from its ``order.created`` on;
  a guest's order ticket (number and email, as ``GET orders/{number}?email=`` asks) that order's events.
"""

import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from rest_framework.exceptions import AuthenticationFailed

from config.api.authentication import JWTAuthentication
from notifications import events
from orders.models import Cart
from teams.selectors import store_grants

from .channel import channel

TICKET_SALT = "live.stream-ticket"
ORDER_EVENTS = frozenset({events.ORDER_CREATED, events.ORDER_PAID, events.ORDER_STATUS_CHANGED,
                          events.ORDER_CANCELLED, events.ORDER_REFUNDED, events.PAYMENT_FAILED})
# what a shopper is shown of their order's events (members get the whole payload, as webhooks do)
SHOPPER_FIELDS = ("id", "number", "order_number", "status", "previous_status", "payment_status", "total",
                  "currency", "store", "reason")


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Viewer:
    user_id: int | None = None
    superuser: bool = False
    store_ids: frozenset[int] = frozenset()
    cart_id: str | None = None
    order_ids: set[int] = field(default_factory=set)
    expires_at: float | None = None  # a JWT's expiry: the stream ends with it

    @property
    def member(self) -> bool:
        return self.superuser or bool(self.store_ids)


def ticket_issue(*, user=None, cart_id: str | None = None, order_id: int | None = None) -> str:
    """A signed ticket naming whom the stream is for; it opens streams for LIVE_TICKET_SECONDS."""
    claims = {"u": user.pk} if user is not None else {"c": str(cart_id)} if cart_id else {"o": order_id}
    return signing.dumps(claims, salt=TICKET_SALT, compress=False)


def viewer_from_request(request) -> Viewer:
    """The viewer of ``GET /api/v1/stream``: ``?ticket=``, else ``Authorization: Bearer <JWT>``, else ``?cart=``.
    Raises Refused (401 or 404) as the REST API would answer."""
    ticket = request.GET.get("ticket")
    if ticket:
        try:
            claims = signing.loads(ticket, salt=TICKET_SALT, max_age=settings.LIVE_TICKET_SECONDS)
        except signing.BadSignature:
            raise Refused("INVALID_TOKEN", "The stream ticket is invalid or has expired; ask for a new one.",
                          401) from None
        if "u" in claims:
            viewer = Viewer(user_id=claims["u"])
            if not viewer_refresh(viewer):
                raise Refused("INVALID_TOKEN", "The stream ticket's user is not active.", 401)
            return viewer
        if "o" in claims:
            return Viewer(order_ids={claims["o"]})
        return cart_viewer(claims.get("c"))
    if request.META.get("HTTP_AUTHORIZATION"):
        try:
            found = JWTAuthentication().authenticate(request)
        except AuthenticationFailed:
            raise Refused("INVALID_TOKEN", "The token is invalid or has expired.", 401) from None
        if found is None:
            raise Refused("INVALID_TOKEN", "Send `Authorization: Bearer <access token>`.", 401)
        user, token = found
        viewer = Viewer(user_id=user.pk, expires_at=float(token["exp"]))
        if not viewer_refresh(viewer):
            raise Refused("INVALID_TOKEN", "The user is not active.", 401)
        return viewer
    if request.GET.get("cart"):
        return cart_viewer(request.GET["cart"])
    raise Refused("AUTHENTICATION_REQUIRED", "Open the stream with ?ticket= (POST /api/v1/stream/ticket), "
                  "an `Authorization: Bearer` token or a guest's ?cart=.", 401)


def cart_viewer(cart_id) -> Viewer:
    """An anonymous cart, by its bearer token (a user's cart is theirs: their JWT follows their orders); once
    placed, the order placed from it, while the channel keeps its ``order.created`` (a reconnection after the
    checkout; later, an order ticket)."""
    try:
        cart_id = str(uuid.UUID(str(cart_id)))
    except ValueError:
        raise Refused("NOT_FOUND", "No such cart.", 404) from None
    owner = Cart.objects.filter(pk=cart_id).values_list("user_id", flat=True)[:1]
    if not owner:
        order_id = channel().cart_order(cart_id)
        if order_id is None:
            raise Refused("NOT_FOUND", "No such cart.", 404)
        return Viewer(cart_id=cart_id, order_ids={order_id})
    if owner[0] is not None:
        raise Refused("NOT_FOUND", "No such cart.", 404)
    return Viewer(cart_id=cart_id)


def viewer_refresh(viewer: Viewer) -> bool:
    """Reads the viewer's rights again (a user's stores, and that they are still active); False ends the stream."""
    if viewer.expires_at is not None and time.time() >= viewer.expires_at:
        return False
    if viewer.user_id is None:
        return True
    user = get_user_model().objects.filter(pk=viewer.user_id, is_active=True).first()
    if user is None:
        return False
    grants = store_grants(user=user)
    viewer.superuser = grants is None
    viewer.store_ids = frozenset(grants or ())
    return True


def visible(viewer: Viewer, record: dict) -> dict | None:
    """What ``viewer`` is shown of ``record`` (a channel record: type, store, data and audience tags), or None."""
    kind = record.get("type")
    if kind == "notification":
        return record.get("data") if viewer.user_id is not None and record.get("user") == viewer.user_id else None
    if viewer.superuser or record.get("store") in viewer.store_ids:
        return record.get("data")
    if kind not in ORDER_EVENTS:
        return None
    order_id = record.get("order")
    ours = (
        (viewer.user_id is not None and record.get("customer") == viewer.user_id)
        or (order_id is not None and order_id in viewer.order_ids)
    )
    if not ours and viewer.cart_id is not None and record.get("cart") == viewer.cart_id and order_id is not None:
        viewer.order_ids.add(order_id)  # the guest's cart became this order: follow it from here on
        ours = True
    if not ours:
        return None
    data = record.get("data") or {}
    return {name: data[name] for name in SHOPPER_FIELDS if name in data}
