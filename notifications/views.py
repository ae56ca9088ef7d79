from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.api.actor import request_actor
from config.api.headers import no_store
from teams.permissions import WEBHOOKS_MANAGE
from teams.scoping import StoreScopedViewSet

from . import services
from .models import WebhookDelivery, WebhookEndpoint
from .serializers import (
    PREFERENCES_INPUT_SCHEMA,
    PREFERENCES_SCHEMA,
    NotificationOutput,
    ReadAllOutput,
    WebhookDeliveryFilterInput,
    WebhookDeliveryOutput,
    WebhookEndpointCreatedOutput,
    WebhookEndpointInput,
    WebhookEndpointOutput,
    WebhookEndpointUpdateInput,
    preferences_validate,
)

TRUE_VALUES = {"1", "true", "yes", "on"}


@extend_schema_view(
    list=extend_schema(
        summary="My in-app notifications",
        parameters=[OpenApiParameter("unread", bool, description="only unread ones")],
    ),
    destroy=extend_schema(summary="Delete one of my notifications"),
)
class NotificationViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationOutput
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return services.notification_list(user=None).none()
        unread = self.request.query_params.get("unread", "").lower() in TRUE_VALUES
        return services.notification_list(user=self.request.user, unread=unread)

    def perform_destroy(self, instance):
        services.notification_delete(notification=instance)

    @extend_schema(summary="Mark one notification read", request=None, responses=NotificationOutput)
    @action(detail=True, methods=["put"], url_path="read")
    def read(self, request, pk=None):
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(NotificationOutput(notification).data)

    @extend_schema(summary="Mark all my notifications read", request=None, responses=ReadAllOutput)
    @action(detail=False, methods=["put"], url_path="read-all")
    def read_all(self, request):
        return Response({"updated": services.notifications_mark_all_read(user=request.user)})

    @extend_schema(
        methods=["GET"], summary="My notification preferences per event type", responses=PREFERENCES_SCHEMA
    )
    @extend_schema(
        methods=["PUT"],
        summary="Set preferences for some event types",
        request=PREFERENCES_INPUT_SCHEMA,
        responses=PREFERENCES_SCHEMA,
    )
    @action(detail=False, methods=["get", "put"], pagination_class=None)
    def preferences(self, request):
        if request.method == "PUT":
            preferences = preferences_validate(request.data)
            result = services.notification_preferences_set(user=request.user, preferences=preferences)
        else:
            result = services.notification_preferences_get(user=request.user)
        return Response(result)


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints (webhooks.manage); secrets masked"),
    retrieve=extend_schema(summary="One webhook endpoint (webhooks.manage)"),
    create=extend_schema(
        summary="Add a webhook endpoint; the answer carries the signing secret once",
        request=WebhookEndpointInput, responses={201: WebhookEndpointCreatedOutput},
    ),
    partial_update=extend_schema(
        summary="Change url, events, is_active", request=WebhookEndpointUpdateInput,
        responses=WebhookEndpointOutput,
    ),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log"),
)
class WebhookEndpointViewSet(StoreScopedViewSet):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointOutput
    write_permission = WEBHOOKS_MANAGE
    members_only = True
    action_permissions = {
        name: WEBHOOKS_MANAGE for name in ("list", "retrieve", "deliveries", "redeliver", "test")
    }
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list = []

    @no_store
    def create(self, request, *args, **kwargs):
        data = WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(store=self.store, actor=request_actor(request),
                                                    **data.validated_data)
        output = WebhookEndpointCreatedOutput(endpoint).data
        return Response(output, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = WebhookEndpointUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=self.get_object(), actor=request_actor(request), **data.validated_data
        )
        return Response(WebhookEndpointOutput(endpoint).data)

    def destroy(self, request, *args, **kwargs):
        services.webhook_endpoint_delete(endpoint=self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The endpoint's deliveries, newest first, each with its attempts",
        parameters=[OpenApiParameter("status", str, enum=["pending", "succeeded", "failed"])],
        responses=WebhookDeliveryOutput(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, store=None, pk=None):
        endpoint = self.get_object()
        data = WebhookDeliveryFilterInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        queryset = WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")
        if data.validated_data.get("status"):
            queryset = queryset.filter(status=data.validated_data["status"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliveryOutput(page, many=True).data)

    @extend_schema(
        summary="Send a delivery again (a fresh round of retries, same webhook-id)",
        request=None, responses={202: WebhookDeliveryOutput},
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d+)/redeliver")
    def redeliver(self, request, store=None, pk=None, delivery_id=None):
        endpoint = self.get_object()
        delivery = WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
        if delivery is None:
            from django.http import Http404

            raise Http404
        delivery = services.webhook_delivery_redeliver(delivery=delivery, actor=request_actor(request))
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Send a webhook.test ping", request=None, responses={202: WebhookDeliveryOutput})
    @action(detail=True, methods=["post"])
    def test(self, request, store=None, pk=None):
        delivery = services.webhook_endpoint_test(endpoint=self.get_object(), actor=request_actor(request))
        delivery.refresh_from_db()
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)
