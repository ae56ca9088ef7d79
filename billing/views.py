from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.actor import request_actor
from config.api.headers import no_store
from payments.views import AnyBodyParser
from teams.permissions import STORE_MANAGE
from teams.scoping import StoreScopedGenericView

from . import services
from .models import Subscription
from .serializers import InvoiceOutput, PortalInput, PortalOutput, SubscriptionInput, SubscriptionOutput

STORE_PARAM = OpenApiParameter("store", OpenApiTypes.STR, OpenApiParameter.PATH, description="The store's slug.")


class StoreManageView(StoreScopedGenericView):
    """Billing is the store's owners' and admins' business: reads need store.manage too. Each answers about the
    store's one subscription row (scoped like any store's rows: another store's is 404)."""

    queryset = Subscription.objects.all()

    def required_permission(self) -> str:
        return STORE_MANAGE


class SubscriptionView(StoreManageView):
    """GET, POST /stores/{store}/subscription (store.manage)."""

    @extend_schema(
        operation_id="subscription_read",
        parameters=[STORE_PARAM],
        responses=SubscriptionOutput,
        description="The plan the store is on, the subscription's status (active, incomplete, past_due, "
        "cancelled), its period and what the store uses of each limit.",
    )
    def get(self, request, store):
        return Response(SubscriptionOutput(services.subscription_state(store=self.store)).data)

    @extend_schema(
        operation_id="subscription_change",
        parameters=[STORE_PARAM],
        request=SubscriptionInput,
        responses=SubscriptionOutput,
        description="Billing on: subscribes the store to the plan through Stripe (a paid plan applies once "
        "Stripe says it is paid; a plan without a price cancels the paid one at the end of "
        "its period). Billing off: platform superusers only (403 otherwise), applied at once. "
        "409 CONFLICT while another change of the store's subscription is under way.",
    )
    def post(self, request, store):
        data = SubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.subscription_change(
            store=self.store,
            plan_code=data.validated_data["plan"],
            payment_method=data.validated_data.get("payment_method") or "",
            actor=request_actor(request),
        )
        self.store.refresh_from_db()
        return Response(SubscriptionOutput(services.subscription_state(store=self.store)).data)


class InvoiceListView(StoreManageView):
    """GET /stores/{store}/subscription/invoices (store.manage): the latest Stripe invoices."""

    @extend_schema(
        operation_id="subscription_invoices",
        parameters=[STORE_PARAM],
        responses=InvoiceOutput(many=True),
        description="The store's latest invoices from Stripe, newest first (404 when billing is off).",
    )
    def get(self, request, store):
        return Response(InvoiceOutput(services.subscription_invoices(store=self.store), many=True).data)


class PortalView(StoreManageView):
    """POST /stores/{store}/subscription/portal (store.manage): a link to Stripe's customer portal."""

    @extend_schema(
        operation_id="subscription_portal",
        parameters=[STORE_PARAM],
        request=PortalInput,
        responses={201: PortalOutput},
        description="A Stripe customer portal session (cards, invoices, cancelling), valid a few minutes.",
    )
    @no_store
    def post(self, request, store):
        data = PortalInput(data=request.data)
        data.is_valid(raise_exception=True)
        url = services.billing_portal_url(store=self.store, return_url=data.validated_data.get("return_url") or "")
        return Response({"url": url}, status=201)


class BillingWebhookView(APIView):
    """POST /api/v1/billing/webhooks/stripe: Stripe Billing's events for the platform's account. No caller
    authentication: the Stripe-Signature, checked over the raw body, is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [AnyBodyParser]
    throttle_classes: list = []  # Stripe retries whatever we answer; a forged body costs one HMAC
    http_method_names = ["post", "options"]

    @extend_schema(
        operation_id="billing_webhook_receive",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
        description="Stripe → us. A bad signature is 400 VALIDATION_ERROR (details.signature) and nothing "
        "is stored; the same event again is answered 200 and changes nothing; processed by a "
        "worker. 404 when billing has no webhook secret.",
    )
    def post(self, request):
        event = services.billing_event_receive(body=request.body, headers=request.headers)
        return Response({"received": True, "event": event.event_id})
