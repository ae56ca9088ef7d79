"""Cart, shipping, coupon and order endpoints (API.md "Cart, checkout, orders"): scope, validate, delegate, shape.

Checkout (``POST checkout``) and payments are payments' endpoints (payments/urls.py).
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.api.actor import request_actor
from config.api.headers import response_no_store
from config.api.renderers import ok
from config.api.schema import SIGNED_IN, USER_ONLY
from teams.permissions import ORDERS_MANAGE
from teams.scoping import StoreScopedMixin, StoreScopedViewSet

from . import selectors, services
from .models import Cart, CartLine, Coupon, Order, ShippingMethod
from .serializers import (
    MAX_BIGINT,
    CartCreateInput,
    CartItemInput,
    CartItemUpdateInput,
    CartOutput,
    CouponCodeInput,
    CouponInput,
    CouponOutput,
    OrderCancelInput,
    OrderEventOutput,
    OrderFilterInput,
    OrderLookupInput,
    OrderOutput,
    OrderStatusInput,
    ShippingMethodInput,
    ShippingMethodOutput,
)

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")
CART_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                              description="The cart's id, its bearer token. A malformed id is 404.")
CART_ID_PARAM = OpenApiParameter("cart_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The cart's id.")
ITEM_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The cart line's id.")
ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
NUMBER_PARAM = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH,
                                description="The order number (any case, dash optional).")
EMAIL_PARAM = OpenApiParameter("email", OpenApiTypes.STR, description="A guest's email: with the number, it opens "
                                                                      "the order.")
WRITE_METHODS = ["get", "post", "patch", "delete", "head", "options"]


def cart_answer(cart, *, status: int = 200):
    """The cart re-priced from the catalog (lines or a coupon no longer valid dropped, with messages)."""
    return ok(CartOutput(services.cart_view(cart=cart)).data, status=status)


# --- carts ---------------------------------------------------------------------
@extend_schema_view(
    create=extend_schema(
        parameters=[STORE_PARAM], request=CartCreateInput, responses={201: CartOutput},
        description="A new cart; anonymous callers get an anonymous cart whose id is its bearer token, a logged-in "
                    "user their cart in this store (created when none). `items` fills it in the same call: all of "
                    "them or none (400/404/409 OUT_OF_STOCK as for POST carts/{id}/items, and no cart)."),
    retrieve=extend_schema(
        parameters=[STORE_PARAM, CART_PARAM], responses=CartOutput,
        description="Re-priced from the catalog. Lines no longer for sale and a coupon that no longer applies are "
                    "removed, each with a line in `messages`. Another user's cart is 404."),
    coupon=extend_schema(
        parameters=[STORE_PARAM, CART_PARAM], request=CouponCodeInput, responses={200: CartOutput},
        description="POST applies `{code}` (any case); unknown, inactive, expired, used-up or under its minimum "
                    "subtotal → 400 VALIDATION_ERROR with details.code. DELETE removes it."),
    merge=extend_schema(
        parameters=[STORE_PARAM, CART_PARAM], request=None, responses=CartOutput, auth=USER_ONLY,
        description="Logged-in users: the anonymous cart {id} moves into the caller's cart of this store "
                    "(quantities add up, capped by available stock) and is deleted; answers the caller's cart."),
)
class CartViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = Cart.objects.all()
    serializer_class = CartOutput
    lookup_value_regex = r"[^/]+"
    pagination_class = None
    action_permissions = {"create": None, "retrieve": None, "coupon": None, "merge": None}
    action_features = {"coupon": "coupons"}

    def cart(self):
        return services.cart_get(store=self.store, cart_id=self.kwargs["pk"], user=self.request.user)

    def create(self, request, *args, **kwargs):
        data = CartCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        items = [(item["variant"], item["quantity"]) for item in data.validated_data.get("items", [])]
        cart = services.cart_create(store=self.store, user=request.user, items=items)
        return cart_answer(cart, status=201)

    def retrieve(self, request, *args, **kwargs):
        return cart_answer(self.cart())

    @action(detail=True, methods=["post", "delete"])
    def coupon(self, request, *args, **kwargs):
        cart = self.cart()
        if request.method == "DELETE":
            return cart_answer(services.cart_coupon_remove(cart=cart))
        data = CouponCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data.get("email") or (request.user.email if request.user.is_authenticated else "")
        return cart_answer(services.cart_coupon_apply(cart=cart, code=data.validated_data["code"],
                                                      customer_email=email))

    @action(detail=True, methods=["post"])
    def merge(self, request, *args, **kwargs):
        source = self.cart()
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return cart_answer(services.cart_merge(source=source, user=request.user))


@extend_schema_view(
    create=extend_schema(
        parameters=[STORE_PARAM, CART_ID_PARAM], request=CartItemInput, responses={201: CartOutput},
        description="Adds `quantity` of a variant (to its line when there is one); answers the cart. A variant of "
                    "another store or an unpublished product → 400; past available stock → 409 OUT_OF_STOCK."),
    partial_update=extend_schema(
        parameters=[STORE_PARAM, CART_ID_PARAM, ITEM_PARAM], request=CartItemUpdateInput, responses=CartOutput,
        description="Sets the line's quantity; past available stock → 409 OUT_OF_STOCK."),
    destroy=extend_schema(parameters=[STORE_PARAM, CART_ID_PARAM, ITEM_PARAM], request=None,
                          responses={200: CartOutput},  # a DELETE's answer is 204 unless the status is given
                          description="Removes the line; answers the cart."),
)
class CartItemViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = CartLine.objects.all()
    serializer_class = CartOutput
    store_field = "cart__store"
    lookup_value_regex = r"\d+"
    pagination_class = None
    http_method_names = ["post", "patch", "delete", "options"]
    action_permissions = {"create": None, "partial_update": None, "destroy": None}

    def cart(self):
        return services.cart_get(store=self.store, cart_id=self.kwargs["cart_id"], user=self.request.user)

    def line_id(self) -> int:
        line_id = int(self.kwargs["pk"])
        if line_id > MAX_BIGINT:
            raise Http404
        return line_id

    def create(self, request, *args, **kwargs):
        cart = self.cart()
        data = CartItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_item_add(cart=cart, variant_id=data.validated_data["variant"],
                               quantity=data.validated_data["quantity"])
        return cart_answer(cart, status=201)

    def partial_update(self, request, *args, **kwargs):
        cart, line_id = self.cart(), self.line_id()
        data = CartItemUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.cart_item_update(cart=cart, line_id=line_id, quantity=data.validated_data["quantity"])
        return cart_answer(cart)

    def destroy(self, request, *args, **kwargs):
        cart = self.cart()
        services.cart_item_remove(cart=cart, line_id=self.line_id())
        return cart_answer(cart)


# --- shipping methods and coupons --------------------------------------------------
@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM], description="The active methods; members see every one."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM]),
    create=extend_schema(parameters=[STORE_PARAM], request=ShippingMethodInput, responses={201: ShippingMethodOutput},
                         description="orders.manage."),
    partial_update=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=ShippingMethodInput(partial=True),
                                 responses=ShippingMethodOutput, description="orders.manage. Placed orders keep "
                                                                             "what they were charged."),
    destroy=extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses={204: None}, description="orders.manage."),
)
class ShippingMethodViewSet(StoreScopedViewSet):
    queryset = ShippingMethod.objects.all()
    serializer_class = ShippingMethodOutput
    write_permission = ORDERS_MANAGE
    lookup_value_regex = r"\d+"
    http_method_names = WRITE_METHODS

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return selectors.shipping_method_list(store=self.store, include_inactive=self.access.is_member)

    def create(self, request, *args, **kwargs):
        data = ShippingMethodInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        method = services.shipping_method_create(store=self.store, actor=request_actor(request), **data.validated_data)
        return ok(ShippingMethodOutput(method, context=self.get_serializer_context()).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        method = self.get_object()
        data = ShippingMethodInput(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        method = services.shipping_method_update(shipping_method=method, actor=request_actor(request),
                                                 **data.validated_data)
        return ok(ShippingMethodOutput(method, context=self.get_serializer_context()).data)

    def destroy(self, request, *args, **kwargs):
        services.shipping_method_delete(shipping_method=self.get_object(), actor=request_actor(request))
        return Response(status=204)


@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM], description="Members."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM], description="Members."),
    create=extend_schema(parameters=[STORE_PARAM], request=CouponInput, responses={201: CouponOutput},
                         description="orders.manage. A code taken in any case → 409 ALREADY_EXISTS."),
    partial_update=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=CouponInput(partial=True),
                                 responses=CouponOutput, description="orders.manage."),
    destroy=extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses={204: None},
                          description="orders.manage. Orders keep its code; carts lose it."),
)
class CouponViewSet(StoreScopedViewSet):
    queryset = Coupon.objects.all()
    feature = "coupons"  # switched off: 404 (features.registry)
    serializer_class = CouponOutput
    members_only = True
    write_permission = ORDERS_MANAGE
    lookup_value_regex = r"\d+"
    http_method_names = WRITE_METHODS

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        data = CouponInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        coupon = services.coupon_create(store=self.store, actor=request_actor(request), **data.validated_data)
        return ok(CouponOutput(coupon, context=self.get_serializer_context()).data, status=201)

    def partial_update(self, request, *args, **kwargs):
        coupon = self.get_object()
        data = CouponInput(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        coupon = services.coupon_update(coupon=coupon, actor=request_actor(request), **data.validated_data)
        return ok(CouponOutput(coupon, context=self.get_serializer_context()).data)

    def destroy(self, request, *args, **kwargs):
        services.coupon_delete(coupon=self.get_object(), actor=request_actor(request))
        return Response(status=204)


# --- orders --------------------------------------------------------------------------
def _not_stored_with_a_secret(response, orders: list[dict]):
    """Cache-Control: no-store on an answer showing a pending payment's Stripe ``client_secret``."""
    if any("client_secret" in (order.get("payment") or {}) for order in orders):
        response_no_store(response)
    return response


@extend_schema_view(
    list=extend_schema(
        parameters=[STORE_PARAM, OrderFilterInput], responses=OrderOutput(many=True), auth=SIGNED_IN,
        description="Members: the store's orders, newest first, with the filters (`held=true`: those held for "
                    "review, each with its `hold_reason`). A logged-in customer who is not a member: their own orders "
                    "in this store (the filters do not apply). Anonymous: 401."),
    retrieve=extend_schema(
        parameters=[STORE_PARAM, NUMBER_PARAM, EMAIL_PARAM], responses=OrderOutput,
        description="A member, the customer who placed it, or a guest giving `?email=` (the order's, any case); "
                    "anyone else 404."),
    status=extend_schema(
        parameters=[STORE_PARAM, NUMBER_PARAM], request=OrderStatusInput, responses=OrderOutput,
        description="orders.manage. pending → processing|cancelled; processing → completed|cancelled; anything "
                    "else 409 INVALID_TRANSITION. Completing sells the reserved stock, cancelling releases it. "
                    "`refunded` is 409 too: a refund of the order's payment (POST payments/{id}/refunds) moves it "
                    "there."),
    cancel=extend_schema(
        parameters=[STORE_PARAM, NUMBER_PARAM], request=OrderCancelInput, responses=OrderOutput,
        description="The customer (their own order, or a guest giving the order's `email`) while it is pending; "
                    "a member with orders.manage while pending or processing. The reservation is released. "
                    "Otherwise 409 INVALID_TRANSITION."),
    reorder=extend_schema(
        parameters=[STORE_PARAM, NUMBER_PARAM], request=OrderLookupInput, responses={201: CartOutput},
        description="A cart with the order's lines still for sale, capped by available stock: the logged-in "
                    "caller's cart of this store, or a new anonymous cart. Who may see the order may reorder it."),
    events=extend_schema(
        parameters=[STORE_PARAM, NUMBER_PARAM, EMAIL_PARAM], responses=OrderEventOutput(many=True),
        description="The order's history, oldest first; `actor` is shown to members only."),
)
class OrderViewSet(StoreScopedMixin, viewsets.GenericViewSet):
    queryset = Order.objects.all()
    serializer_class = OrderOutput
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {"list": None, "retrieve": None, "cancel": None, "reorder": None, "events": None,
                          "status": ORDERS_MANAGE}

    def order(self, email: str | None = None) -> Order:
        """The order of the URL if the caller may see it; 404 otherwise (whether or not it exists)."""
        order = selectors.order_by_number(store=self.store, number=self.kwargs["number"])
        if order is None or not selectors.order_visible(order=order, is_member=self.access.is_member,
                                                        user=self.request.user, email=email):
            raise Http404
        return order

    def email_param(self) -> str:
        data = OrderLookupInput(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        return data.validated_data.get("email", "")

    def answer(self, order: Order, **kwargs):
        fresh = selectors.order_queryset().get(pk=order.pk)
        data = OrderOutput(fresh, context={"for_members": self.access.is_member}).data
        return _not_stored_with_a_secret(ok(data, **kwargs), [data])

    def list(self, request, *args, **kwargs):
        if self.access.is_member:
            data = OrderFilterInput(data=request.query_params)
            data.is_valid(raise_exception=True)
            orders = selectors.order_list(store=self.store, filters=selectors.OrderFilters(**data.validated_data))
        elif request.user.is_authenticated:
            orders = selectors.order_list_of_customer(user=request.user, store=self.store)
        else:
            raise exceptions.NotAuthenticated()
        page = self.paginate_queryset(orders)
        data = OrderOutput(page, many=True, context={"for_members": self.access.is_member}).data
        return _not_stored_with_a_secret(self.get_paginated_response(data), data)

    def retrieve(self, request, *args, **kwargs):
        return self.answer(self.order(email=self.email_param()))

    @action(detail=True, methods=["post"])
    def status(self, request, *args, **kwargs):
        order = self.order()
        data = OrderStatusInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_transition(order=order, status=data.validated_data["status"],
                                          note=data.validated_data.get("note", ""), actor=request_actor(request))
        return self.answer(order)

    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        data = OrderCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        email, note = data.validated_data.get("email", ""), data.validated_data.get("note", "")
        order = self.order(email=email)
        if self.has_store_permission(ORDERS_MANAGE):
            by_customer = False
        elif selectors.order_is_customers(order=order, user=request.user, email=email):
            by_customer = True
        else:  # a member who may not manage orders, and not its customer
            self.permission_denial_record(ORDERS_MANAGE)
            raise exceptions.PermissionDenied(f"You need the {ORDERS_MANAGE} permission in this store.")
        order = services.order_cancel(order=order, by_customer=by_customer, note=note, actor=request_actor(request))
        return self.answer(order)

    @action(detail=True, methods=["post"])
    def reorder(self, request, *args, **kwargs):
        data = OrderLookupInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = self.order(email=data.validated_data.get("email", ""))
        cart = services.order_reorder(order=order, user=request.user)
        return cart_answer(cart, status=201)

    @action(detail=True, methods=["get"])
    def events(self, request, *args, **kwargs):
        order = self.order(email=self.email_param())
        page = self.paginate_queryset(selectors.order_event_list(order=order))
        context = {"show_actor": self.access.is_member}
        return self.get_paginated_response(OrderEventOutput(page, many=True, context=context).data)


class MyOrderListView(GenericAPIView):
    """GET /api/v1/me/orders: the logged-in customer's orders in every store."""

    serializer_class = OrderOutput
    permission_classes = [IsAuthenticated]
    queryset = Order.objects.none()

    @extend_schema(responses=OrderOutput(many=True), description="The caller's orders across stores, newest first.")
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.order_list_of_customer(user=request.user))
        return self.get_paginated_response(OrderOutput(page, many=True).data)
