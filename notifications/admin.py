from django import forms
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminURLInputWidget

from config.api.actor import request_actor
from config.api.errors import DomainError, ValidationFailed
from plans.errors import PlanLimitReached
from plans.services import plan_limit_check
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin, object_store_id
from teams.permissions import WEBHOOKS_MANAGE

from . import services
from .events import WEBHOOK_EVENT_TYPES
from .models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhooksManageAdmin(StoreScopedAdmin):
    """Endpoints and deliveries (payloads, the right to send) belong to webhooks.manage, as in the API:
    members see and act on them only in the stores where they hold it."""

    write_permission = WEBHOOKS_MANAGE
    view_permission = WEBHOOKS_MANAGE

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) and self.writable_store_ids(request) != []

    def has_view_permission(self, request, obj=None) -> bool:
        if not super().has_view_permission(request, obj):
            return False
        store_ids = self.writable_store_ids(request)
        if store_ids is None:
            return True
        return bool(store_ids) if obj is None else object_store_id(obj, self.store_field) in store_ids


class WebhookDeliveryInline(ReadOnlyAdminMixin, TabularInline):
    """The latest deliveries of an endpoint (read-only; the full log is under Webhook deliveries)."""

    model = WebhookDelivery
    fields = ["created_at", "event_type", "webhook_id", "status", "attempts", "last_status_code", "last_error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at"]

    def get_queryset(self, request):
        # The latest 20 of the endpoint on the page; the full log is one click away.
        queryset = super().get_queryset(request).order_by("-created_at")
        endpoint = getattr(request, "_webhook_endpoint", None)
        if endpoint is None:
            return queryset.none()
        latest = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at").values("pk")[:20]
        return queryset.filter(pk__in=models.Subquery(latest))

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


@admin.action(description="Send a test event", permissions=["change"])
def send_test(modeladmin, request, queryset):
    for endpoint in queryset:
        try:
            services.webhook_endpoint_test(endpoint=endpoint, actor=request_actor(request))
        except DomainError as exc:
            modeladmin.message_user(request, f"{endpoint.url}: {exc}", messages.ERROR)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", widget=UnfoldAdminURLInputWidget)
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in WEBHOOK_EVENT_TYPES], widget=UnfoldAdminCheckboxSelectMultipleWidget
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["store", "url", "description", "events", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk is None or url != self.instance.url:
            try:
                services.webhook_url_validate(url)
            except ValidationFailed as exc:
                raise forms.ValidationError(exc.message) from exc
        return url

    def clean_events(self):
        try:
            return services.webhook_events_validate(self.cleaned_data.get("events") or [])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        cleaned = super().clean()
        store = cleaned.get("store")
        if self.instance.pk is None and store is not None:
            try:  # the plan's limit, as webhook_endpoint_create checks it
                plan_limit_check(store=store, limit="webhooks")
            except PlanLimitReached as exc:
                self.add_error("store", exc.message)
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(WebhooksManageAdmin):
    audited_by_services = True  # webhook_endpoint_create/update/delete write the entries
    form = WebhookEndpointForm
    list_display = ["url", "store", "is_active", "failure_count", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = [
        "store", "url", "description", "events", "is_active", "secret_masked", "failure_count", "disabled_at",
        "delivery_log",
    ]
    readonly_fields = ["secret_masked", "failure_count", "disabled_at", "delivery_log"]
    inlines = [WebhookDeliveryInline]
    actions = [send_test]

    @admin.display(description="Deliveries")
    def delivery_log(self, obj):
        if not obj or not obj.pk:
            return "-"
        url = reverse(f"{self.admin_site.name}:notifications_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">All deliveries and attempts</a>', url, obj.pk)

    def get_inline_instances(self, request, obj=None):
        request._webhook_endpoint = obj
        return super().get_inline_instances(request, obj)

    @admin.display(description="Signing secret")
    def secret_masked(self, obj):
        return obj.secret_masked if obj and obj.pk else "(generated on save, shown once)"

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # The same services as the API: URL safety, event names, audit entries.
        data = {name: form.cleaned_data[name] for name in ("url", "events", "description", "is_active")
                if name in form.cleaned_data}
        if change:
            saved = services.webhook_endpoint_update(
                endpoint=WebhookEndpoint.objects.get(pk=obj.pk), actor=request_actor(request), **data
            )
        else:
            saved = services.webhook_endpoint_create(store=obj.store, actor=request_actor(request), **data)
            self.message_user(
                request, format_html("Signing secret (shown only now): <code>{}</code>", saved.secret),
                messages.WARNING,
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.webhook_endpoint_delete(endpoint=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        store_ids = self.writable_store_ids(request)  # the changelist shows stores the user may only read
        if store_ids is not None:
            queryset = queryset.filter(store_id__in=store_ids)
        for endpoint in queryset:
            services.webhook_endpoint_delete(endpoint=endpoint, actor=request_actor(request))


class WebhookAttemptInline(ReadOnlyAdminMixin, TabularInline):
    model = WebhookAttempt
    fields = ["created_at", "status_code", "duration_ms", "succeeded", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


@admin.action(description="Redeliver", permissions=["change"])
def redeliver(modeladmin, request, queryset):
    sent = 0
    for delivery in queryset.select_related("endpoint__store"):
        try:
            services.webhook_delivery_redeliver(delivery=delivery, actor=request_actor(request))
            sent += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{delivery.webhook_id}: {exc}", messages.ERROR)
    if sent:
        modeladmin.message_user(request, f"{sent} deliveries queued again.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WebhooksManageAdmin):
    audited_by_services = True  # read-only but for the redeliver action, which the service audits
    store_field = "endpoint__store"
    list_display = ["created_at", "event_type", "endpoint", "status", "attempts", "last_status_code", "webhook_id"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["webhook_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    fields = [
        "endpoint", "event_type", "webhook_id", "status", "attempts", "next_attempt_at", "last_status_code",
        "last_error", "payload", "created_at", "updated_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = [redeliver]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # No field is editable; "change" here is the right to run the redeliver action.
        return super().has_change_permission(request, obj)


@admin.register(Notification)
class NotificationAdmin(StoreScopedAdmin):
    """Members see their own notifications; superusers see everyone's."""

    list_display = ["created_at", "user", "store", "event_type", "title", "read_at"]
    list_filter = ["event_type", "created_at"]
    search_fields = ["title", "user__email"]
    list_select_related = ["user", "store"]
    fields = ["user", "store", "event_type", "title", "body", "data", "read_at", "created_at"]
    readonly_fields = ["user", "store", "event_type", "title", "body", "data", "created_at"]
    actions = ["mark_read"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Mark as read")
    def mark_read(self, request, queryset):
        for notification in queryset:
            services.notification_mark_read(notification=notification)
