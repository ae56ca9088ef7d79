"""Payments endpoints (API.md "Payments", "Cart, checkout, orders"): scope, validate, delegate to services, shape."""

import logging
from urllib.parse import urlencode

from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from auditlog.models import SecurityKind
from auditlog.security import record_security_event
from config.api.actor import request_actor, request_ip
from config.api.errors import NotFound, ValidationFailed
from config.api.exceptions import error_response
from config.api.headers import no_store
from config.api.idempotency import idempotency_answer_store, idempotency_claim, idempotent
from config.api.renderers import ok
from config.api.throttles import PAYMENT_THROTTLES
from config.money import money_str
from orders.models import Cart, Order
from orders.selectors import order_by_number, order_lines_load, order_queryset, order_visible
from orders.serializers import OrderOutput
from teams.permissions import ORDERS_MANAGE, PAYMENTS_REFUND, STORE_MANAGE
from teams.scoping import StoreScopedGenericView, StoreScopedReadOnlyViewSet, store_by_slug

from . import services
from .gateways import REGISTRY, gateway_get
from .gateways.base import Outcome, SignatureInvalid
from .models import FraudSetting, GatewaySetting, Payment, Refund, RefundStatus
from .selectors import payment_summary, payments_health
from .serializers import (
    CheckoutInput,
    FraudSettingInput,
    FraudSettingOutput,
    GatewayHealthOutput,
    GatewaySettingInput,
    GatewaySettingOutput,
    OrderReviewInput,
    PaymentCreateInput,
    PaymentFilterInput,
    PaymentOutput,
    PaymentStartedOutput,
    RefundFilterInput,
    RefundInput,
    RefundOutput,
)

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")
ID_PARAM = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
GATEWAY_PARAM = OpenApiParameter("gateway", OpenApiTypes.STR, OpenApiParameter.PATH,
                                 description="stripe, kashier, moamalat, cod or bank_transfer.")
IDEMPOTENCY_PARAM = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                     description="A retry with the same key and body replays the first answer.")

# What a buyer is told when a fraud check held their order (the reason itself is for the store's members).
HELD_MESSAGE = ("The order is placed and held for review by the store: no payment was taken. It goes ahead once "
                "the store approves it.")


def _buyer(request):
    """The logged-in buyer an order is tied to (an API key places orders for no one)."""
    if getattr(request, "api_key", None) is not None or not request.user.is_authenticated:
        return None
    return request.user


class CheckoutView(StoreScopedGenericView):
    """POST checkout: public (anonymous allowed); a logged-in buyer's order is theirs. A card checkout counts
    against the ``payments`` throttle."""

    queryset = Order.objects.all()
    write_permission = None
    http_method_names = ["post", "options"]
    throttle_classes = PAYMENT_THROTTLES

    def starts_payment(self, request) -> bool:
        """A checkout with a card gateway (the offline methods start no charge)."""
        data = request.data
        gateway = gateway_get(data.get("payment_method")) if isinstance(data, dict) else None
        return gateway is not None and not gateway.offline

    @extend_schema(parameters=[STORE_PARAM, IDEMPOTENCY_PARAM], request=CheckoutInput, responses={201: OrderOutput},
                   description="Places the cart's order and starts its payment (cod: processing, bank_transfer: "
                               "pending with the store's instructions). A method the store does not offer is 400 "
                               "with details.payment_method; a short line 409 OUT_OF_STOCK; nothing changes then. "
                               "A card payment is screened first (failed payments from the same email, IP or card "
                               "in a window; the store's amount ceiling): on a hit the order is placed but `held` "
                               "for review and its payment is not started. Card checkouts count against the "
                               "`payments` throttle (429 RATE_LIMITED).")
    @no_store  # a Stripe payment's client_secret
    @idempotent
    def post(self, request, *args, **kwargs):
        data = CheckoutInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        buyer = _buyer(request)
        # order_place reads the cart under its row lock and answers 404 unless it is this store's and this buyer's
        order, payment = services.checkout_complete(
            store=self.store, cart=Cart(pk=values["cart"]), email=values["email"],
            customer_name=values["customer_name"], shipping_address=values["shipping_address"],
            billing_address=values["billing_address"], shipping_method_id=values["shipping_method"],
            payment_method=values["payment_method"], user=buyer, actor=request_actor(request), ip=request_ip(request),
            marketing_consent=values["marketing_consent"])
        order_lines_load(order)
        return ok(OrderOutput(order, context={"payments": {order.pk: payment_summary(payment)}}).data, status=201,
                  message=HELD_MESSAGE if order.hold_reason else None)


@extend_schema_view(
    create=extend_schema(
        parameters=[STORE_PARAM, IDEMPOTENCY_PARAM], request=PaymentCreateInput, responses={201: PaymentStartedOutput},
        description="A new payment of a pending order's total, to retry after a failed one (or with another "
                    "gateway): the order's customer (logged in, or a guest giving the order's `email`) or a member "
                    "with orders.manage; anyone else 404. Answers what the buyer's page needs (`client_secret`, "
                    "`redirect_url` or `lightbox`). Screened like a card checkout: on a hit the order is held for "
                    "review (`held`) and nothing starts. A gateway the store does not offer, or cod, is 400 "
                    "(details.gateway); an order held for review, no longer pending, paid or with a payment under "
                    "way is 409; a gateway's refusal 402 PAYMENT_ERROR. Counts against the `payments` throttle."),
    list=extend_schema(parameters=[STORE_PARAM, PaymentFilterInput], description="Members; newest first."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM]),
    mark_paid=extend_schema(parameters=[STORE_PARAM, ID_PARAM], request=None, responses=PaymentOutput,
                            description="cod and bank_transfer (orders.manage): the payment and its order become "
                                        "paid once; again → 409 CONFLICT; a cancelled order → 409."),
)
class PaymentViewSet(mixins.CreateModelMixin, StoreScopedReadOnlyViewSet):
    queryset = Payment.objects.select_related("order")
    serializer_class = PaymentOutput
    members_only = True
    lookup_value_regex = r"\d+"
    # create: the order's customer or a member who manages orders (checked against the order in create)
    action_permissions = {"mark_paid": ORDERS_MANAGE, "create": None, "refund_create": PAYMENTS_REFUND}
    throttle_classes = PAYMENT_THROTTLES

    def starts_payment(self, request) -> bool:
        return self.action == "create"

    @no_store
    @idempotent
    def create(self, request, *args, **kwargs):
        data = PaymentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        manager = self.has_store_permission(ORDERS_MANAGE)
        order = Order.objects.select_related("store").filter(store=self.store, pk=values["order"]).first()
        if order is None or not order_visible(order=order, is_member=manager, user=request.user,
                                              email=values.get("email", "")):
            if self.access.is_member and order is not None:
                raise exceptions.PermissionDenied(f"You need the {ORDERS_MANAGE} permission in this store.")
            raise Http404
        payment = services.payment_create(order=order, gateway=values["gateway"], actor=request_actor(request),
                                          ip=request_ip(request))
        payment = Payment.objects.select_related("order").get(pk=payment.pk)
        return ok(PaymentStartedOutput(payment).data, status=201,
                  message=HELD_MESSAGE if payment.order.hold_reason else None)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return queryset
        data = PaymentFilterInput(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        filters = {name: value for name, value in data.validated_data.items() if value not in (None, "")}
        if "order" in filters:
            filters["order_id"] = filters.pop("order")
        return queryset.filter(**filters)

    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, *args, **kwargs):
        payment = services.payment_mark_paid(payment=self.get_object(), actor=request_actor(request))
        return ok(PaymentOutput(payment).data)

    @extend_schema(parameters=[STORE_PARAM, ID_PARAM], responses=RefundOutput(many=True),
                   description="Members: the payment's refunds, newest first.")
    @action(detail=True, methods=["get"], url_path="refunds")
    def refunds(self, request, *args, **kwargs):
        refunds = Refund.objects.filter(payment=self.get_object()).select_related("payment__order")
        return self.get_paginated_response(RefundOutput(self.paginate_queryset(refunds), many=True).data)

    @extend_schema(
        parameters=[STORE_PARAM, ID_PARAM, IDEMPOTENCY_PARAM], request=RefundInput, responses={201: RefundOutput},
        description="payments.refund. Gives `amount` back through the payment's gateway (cod and bank_transfer: "
                    "recorded as paid out by the merchant): 201 with the refund `succeeded`; the payment becomes "
                    "partially_refunded or refunded, and so does the order's payment_status; a refund that completes "
                    "what was paid moves the order to refunded (`order.refunded`). More than remains (refunds on "
                    "their way count) → 400 `details.amount`; a payment never paid → 409 CONFLICT; the gateway "
                    "declines → 402 PAYMENT_ERROR with `details.refund` (the failed refund; nothing was given back). "
                    "`restock` puts back the units a completed order sold (`return` movements); nothing to put back "
                    "→ 400 `details.restock`. With an Idempotency-Key, a retry replays the answer, or is 409 CONFLICT "
                    "while the first is still at the gateway.")
    @refunds.mapping.post
    def refund_create(self, request, *args, **kwargs):
        payment = self.get_object()
        data = RefundInput(data=request.data, context={"currency": payment.currency})
        data.is_valid(raise_exception=True)
        actor = request_actor(request)
        # Not @idempotent (one transaction around it all): the gateway is called with no transaction open, so the
        # key commits with the claimed amount, and the answer is stored once the gateway has answered
        # (docs/ARCHITECTURE.md "Idempotency").
        with transaction.atomic():
            key, replay = idempotency_claim(request)
            if replay is not None:
                return replay
            refund = services.refund_create(payment=payment, actor=actor, **data.validated_data)
        refund = services.refund_send(refund=refund, actor=actor)
        response = _refund_answer(Refund.objects.select_related("payment__order").get(pk=refund.pk))
        idempotency_answer_store(key, response)
        return response


def _refund_answer(refund: Refund):
    if refund.status == RefundStatus.FAILED:
        return error_response("PAYMENT_ERROR", f"The refund failed: {refund.failure_reason}", 402,
                              {"refund": refund.pk, "reason": refund.failure_reason})
    gateway = gateway_get(refund.payment.gateway)
    message = None
    if gateway is not None and gateway.offline:
        message = (f"Recorded as paid out by the merchant: give {money_str(refund.amount, refund.currency)} "
                   f"{refund.currency} back to the buyer.")
    return ok(RefundOutput(refund).data, status=201, message=message)


@extend_schema_view(
    list=extend_schema(parameters=[STORE_PARAM, RefundFilterInput], description="Members; newest first."),
    retrieve=extend_schema(parameters=[STORE_PARAM, ID_PARAM]),
)
class RefundViewSet(StoreScopedReadOnlyViewSet):
    """The store's refunds (members); they are made on their payment (POST payments/{id}/refunds)."""

    queryset = Refund.objects.select_related("payment__order")
    serializer_class = RefundOutput
    members_only = True
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return queryset
        data = RefundFilterInput(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        filters = {name: value for name, value in data.validated_data.items() if value not in (None, "")}
        if "payment" in filters:
            filters["payment_id"] = filters.pop("payment")
        return queryset.filter(**filters)


class GatewaySettingListView(StoreScopedGenericView):
    """GET payment-gateways: every gateway with the store's setting (store.manage)."""

    queryset = GatewaySetting.objects.all()
    pagination_class = None
    http_method_names = ["get", "options"]

    def required_permission(self):
        return STORE_MANAGE

    @extend_schema(parameters=[STORE_PARAM], responses=GatewaySettingOutput(many=True),
                   description="Every gateway, in a fixed order, as GET payment-gateways/{gateway} answers it: "
                               "`configured` says every setting it requires is set; checkout offers the ones "
                               "`enabled` and `configured`.")
    def get(self, request, *args, **kwargs):
        settings = services.gateway_settings_list(store=self.store)
        context = {"base_url": request.build_absolute_uri("/").rstrip("/")}
        return ok([GatewaySettingOutput(setting, context=context).data for setting in settings])


class GatewaySettingView(StoreScopedGenericView):
    """GET/PUT payment-gateways/{gateway}: store.manage for both (settings may hold what buyers must not see)."""

    queryset = GatewaySetting.objects.all()
    lookup_field = "gateway"
    http_method_names = ["get", "put", "options"]

    def required_permission(self):
        return STORE_MANAGE

    def gateway(self):
        gateway = gateway_get(self.kwargs["gateway"])
        if gateway is None:
            raise Http404
        return gateway

    def answer(self, setting):
        context = {"gateway": self.gateway(), "base_url": self.request.build_absolute_uri("/").rstrip("/")}
        return ok(GatewaySettingOutput(setting, context=context).data)

    @extend_schema(parameters=[STORE_PARAM, GATEWAY_PARAM], responses=GatewaySettingOutput,
                   description="The store's setting (the defaults until it changes them: cod and bank_transfer on, "
                               "card gateways off); credentials masked; `configured` when every setting the "
                               "gateway requires is set; `webhook_url` (card gateways) to paste into the gateway's "
                               "dashboard. Other gateway names are 404.")
    def get(self, request, *args, **kwargs):
        setting = services.gateway_setting_get(store=self.store, gateway=self.gateway().name)
        return self.answer(setting)

    @extend_schema(parameters=[STORE_PARAM, GATEWAY_PARAM], request=GatewaySettingInput,
                   responses=GatewaySettingOutput,
                   description="stripe `{enabled, publishable_key, secret_key, webhook_secret}`; kashier `{enabled, "
                               "merchant_id, api_key, mode}`; moamalat `{enabled, merchant_id, terminal_id, "
                               "secure_key, notification_key, mode}`; cod `{enabled}`; bank_transfer `{enabled, "
                               "instructions}`. Fields left out keep their value; a credential set to \"\" or null "
                               "is cleared, sent back masked it is kept; another gateway's field is 400.")
    def put(self, request, *args, **kwargs):
        gateway = self.gateway()
        data = GatewaySettingInput(data=request.data, context={"gateway": gateway})
        data.is_valid(raise_exception=True)
        setting = services.gateway_setting_update(store=self.store, gateway=gateway.name,
                                                  actor=request_actor(request), **data.validated_data)
        return self.answer(setting)


security_log = logging.getLogger("security")
RESULTS = {Outcome.PAID: "succeeded", Outcome.FAILED: "failed"}


class GatewayReturnView(StoreScopedGenericView):
    """GET payments/return/{gateway}/{store}: the buyer's browser, sent back by a hosted payment page (Kashier's
    ``merchantRedirect``). Public: the gateway's signature is the proof. It moves nothing (the gateway's server
    notification does); it tells the store's page what the buyer did."""

    queryset = GatewaySetting.objects.none()
    write_permission = None
    http_method_names = ["get", "options"]

    @extend_schema(parameters=[STORE_PARAM, GATEWAY_PARAM], responses={200: OpenApiTypes.OBJECT, 302: None}, auth=[],
                   description="Verifies the gateway's signed redirect, then sends the buyer (302) to the store's "
                               "`return_url` with `order` and `result` (`succeeded`, `failed` or `unknown`), or "
                               "answers `{order, result}` when the store has none. A bad signature is 400. The "
                               "order is paid by the gateway's server notification, not by this.")
    def get(self, request, *args, **kwargs):
        gateway = gateway_get(self.kwargs["gateway"])
        if gateway is None:
            raise Http404
        setting = services.gateway_setting_get(store=self.store, gateway=gateway.name)
        try:
            note = gateway.return_read(setting=setting, query=request.META.get("QUERY_STRING", ""))
        except SignatureInvalid:
            security_log.warning("payment return signature invalid", extra={
                "gateway": gateway.name, "store": self.store.slug, "ip": request.META.get("REMOTE_ADDR")})
            record_security_event(SecurityKind.WEBHOOK_SIGNATURE_INVALID, store_id=self.store.pk,
                                  details={"source": "payment return", "gateway": gateway.name})
            raise ValidationFailed("The payment result's signature does not match.") from None
        result = {"order": note.order_number, "result": RESULTS.get(note.outcome, "unknown")}
        target = gateway.option(setting, "return_url") if "return_url" in gateway.fields else ""
        if target:
            return HttpResponseRedirect(f"{target}{'&' if '?' in target else '?'}{urlencode(result)}")
        return ok(result)


class FraudSettingView(StoreScopedGenericView):
    """GET/PUT fraud-settings: the store's limits for the fraud checks (store.manage for both: they say what slips
    through)."""

    queryset = FraudSetting.objects.all()
    http_method_names = ["get", "put", "options"]

    def required_permission(self):
        return STORE_MANAGE

    @extend_schema(parameters=[STORE_PARAM], responses=FraudSettingOutput,
                   description="The store's own limits (null: the platform default, settings FRAUD_*) and `in_force`, "
                               "the limits its card payments are screened with.")
    def get(self, request, *args, **kwargs):
        return ok(FraudSettingOutput(services.fraud_setting_get(store=self.store)).data)

    @extend_schema(parameters=[STORE_PARAM], request=FraudSettingInput, responses=FraudSettingOutput,
                   description="Sets the limits named (left out: kept; null: the platform default again). A count of "
                               "0 switches that check off; `amount_ceiling` is in the store's currency. Audited.")
    def put(self, request, *args, **kwargs):
        data = FraudSettingInput(data=request.data, context={"store": self.store})
        data.is_valid(raise_exception=True)
        setting = services.fraud_setting_update(store=self.store, actor=request_actor(request), **data.validated_data)
        return ok(FraudSettingOutput(setting).data)


class AnyBodyParser(BaseParser):
    """Takes a body of any content type: gateways choose theirs, and the view reads the raw bytes
    (``request.body``), never ``request.data``."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class PaymentWebhookView(APIView):
    """POST payments/webhooks/{gateway}/{store}: a gateway's notification. No caller authentication: the signature,
    checked with the store's own settings over the raw body, is the authentication (the body is never parsed
    here, so any content type is taken). Answered in the gateway's own form, without the envelope."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [AnyBodyParser]
    throttle_classes: list = []  # a gateway retries whatever we answer; a forged body costs one HMAC
    http_method_names = ["post", "options"]

    @extend_schema(
        operation_id="payments_webhook_receive", request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("gateway", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="stripe, kashier or moamalat."), STORE_PARAM],
        description="Gateway → us. The signature is verified first (Stripe: Stripe-Signature; Kashier and Moamalat: "
                    "their HMAC-SHA256 schemes); a bad one is 400 VALIDATION_ERROR (details.signature) and nothing "
                    "is stored. The event is stored once per (store, gateway, event id): the same event again is "
                    "answered 200 and changes nothing. Processed by a worker; the answer is the gateway's own "
                    "(Moamalat: {\"Message\": \"Success\", \"Success\": true}).")
    def post(self, request, gateway, store):
        found = store_by_slug(store)
        if found is None:
            raise NotFound("No such store.")
        _, gateway_found = services.webhook_event_receive(store=found, gateway=gateway, body=request.body,
                                                          headers=request.headers)
        body, status = gateway_found.notification_answer()
        response = Response(body, status=status)
        response.enveloped = True  # the gateway's own answer, not ours
        return response


class IsPlatformStaff(BasePermission):
    """Platform staff (``is_staff``), signed in as themselves: not a store's API key."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and getattr(request, "api_key", None) is None)


class PaymentsHealthView(APIView):
    """GET payments/health: platform staff."""

    permission_classes = [IsPlatformStaff]

    @extend_schema(responses=inline_serializer("PaymentsHealth", {name: GatewayHealthOutput() for name in REGISTRY}),
                   description="Platform staff. Per gateway: stores that offer it (enabled and configured), payments "
                               "that succeeded and failed in the last hour, webhook events waiting for (pending) or "
                               "failed in processing.")
    def get(self, request):
        return ok(payments_health())


NUMBER_PARAM = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH,
                                description="The order number (any case, dash optional).")


class OrderReviewView(StoreScopedGenericView):
    """POST orders/{number}/approve|reject: a member's decision on an order held for review (orders.manage). Here,
    not in orders: the decision moves payments too (payments.services.review)."""

    queryset = Order.objects.all()
    http_method_names = ["post", "options"]

    def required_permission(self):
        return ORDERS_MANAGE

    def order(self) -> Order:
        order = order_by_number(store=self.store, number=self.kwargs["number"])
        if order is None:
            raise Http404
        return order

    def note(self, request) -> str:
        data = OrderReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data.get("note", "")

    def answer(self, order: Order, message: str):
        fresh = order_queryset().get(pk=order.pk)
        return ok(OrderOutput(fresh, context={"for_members": True}).data, message=message)


class OrderApproveView(OrderReviewView):
    @extend_schema(parameters=[STORE_PARAM, NUMBER_PARAM], request=OrderReviewInput, responses=OrderOutput,
                   description="orders.manage. Lets a held order go on: the hold is released (a pending order gets a "
                               "fresh reservation for its buyer to pay in), a gateway's success that was held is "
                               "applied (the order becomes paid; one cancelled meanwhile is reinstated with its stock "
                               "reserved again) and a payment a fraud check left unstarted starts. All or nothing: "
                               "not held → 409 INVALID_TRANSITION; a held payment whose stock is gone → 409 CONFLICT "
                               "saying so; the gateway refusing to start → 402 PAYMENT_ERROR; the order stays held.")
    def post(self, request, *args, **kwargs):
        order = services.order_approve(order=self.order(), note=self.note(request), actor=request_actor(request))
        return self.answer(order, "Approved." if not order.hold_reason else
                           f"Approved, and held again: {order.hold_reason}")


class OrderRejectView(OrderReviewView):
    @extend_schema(parameters=[STORE_PARAM, NUMBER_PARAM], request=OrderReviewInput, responses=OrderOutput,
                   description="orders.manage. Turns a held order down: it is cancelled (stock and coupon given "
                               "back, open payments cancelled, `order.cancelled`); money a gateway took whose success "
                               "was held is refunded in full through the gateway (the message says how each refund "
                               "went; a failed one is retried with POST payments/{id}/refunds). Not held → 409 "
                               "INVALID_TRANSITION; a paid order → 409 CONFLICT (refund it, or approve it).")
    def post(self, request, *args, **kwargs):
        rejection = services.order_reject(order=self.order(), note=self.note(request), actor=request_actor(request))
        refunds = "; ".join(f"refund #{refund.pk} of {money_str(refund.amount, refund.currency)} {refund.currency} "
                            f"{refund.status}" for refund in rejection.refunds)
        return self.answer(rejection.order, f"Rejected and cancelled{': ' + refunds if refunds else ''}.")
