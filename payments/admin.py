"""The merchant dashboard's payments pages: payments (read-only, "Mark paid" for cash on delivery and bank
transfer through payment_mark_paid), the store's payment methods (through gateway_setting_update), and the
orders page extended with each order's payments and its "Mark paid" (orders sits below payments and does not
know them)."""

import json

from django import forms
from django.contrib import admin, messages
from django.urls import path
from django.utils.html import format_html
from unfold.widgets import (
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from config.api.actor import request_actor
from config.api.errors import DomainError, ValidationFailed
from config.api.middleware import current_request_var
from config.fields import mask
from orders.admin import (
    OrderAdmin,
    ReadOnlyInline,
    SaveRefused,
    ServiceCheckedForm,
    ServiceSavedAdmin,
    domain_message,
    for_each_writable,
    money,
    refused_on_form,
)
from orders.models import Order
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import ORDERS_MANAGE, STORE_MANAGE

from . import services
from .admin_refunds import PaymentRefundsMixin, RefundInline
from .gateways import REGISTRY, Gateway
from .models import FraudSetting, GatewaySetting, Payment, PaymentStatus, WebhookEvent
from .services.settings import COLUMNS


def _pending_offline(payments) -> Payment | None:
    """The payment a merchant marks paid by hand: pending, of a gateway that does not confirm it itself."""
    return next((payment for payment in payments if payment.status == PaymentStatus.PENDING
                 and getattr(REGISTRY.get(payment.gateway), "offline", False)), None)


def _mark_paid(admin_view, request, payments, *, label) -> int:
    """payment_mark_paid for each of ``payments``; a refusal is a message naming it. Returns how many were paid."""
    return for_each_writable(admin_view, request, payments, label=label,
                             act=lambda payment: services.payment_mark_paid(payment=payment,
                                                                            actor=request_actor(request)))


# --- payments ------------------------------------------------------------------------------------------------
@admin.register(Payment)
class PaymentAdmin(PaymentRefundsMixin, ReadOnlyAdminMixin, StoreScopedAdmin):
    """Payments, read-only; "Mark paid" (orders.manage) and refunds (payments.refund: admin_refunds) through the
    services."""

    audited_by_services = True
    write_permission = ORDERS_MANAGE
    list_display = ["id", "order_number", "gateway", "status", "amount_display", "refunded_display", "created_at",
                    "paid_at", "store"]
    list_filter = ["status", "gateway", "created_at", "store"]
    list_select_related = ["order", "store"]
    search_fields = ["order__number", "order__email"]
    date_hierarchy = "created_at"
    actions = ["mark_paid", "refund_rest"]
    inlines = [RefundInline]
    change_form_template = "admin/payments/payment/change_form.html"
    fields = ["store", "order", "gateway", "status", "amount_display", "refunded_display", "reference",
              "instructions", "created_at", "paid_at"]
    readonly_fields = fields

    @admin.display(description="order", ordering="order__number")
    def order_number(self, payment: Payment) -> str:
        return payment.order.number

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)

    @admin.display(description="refunded", ordering="refunded_amount")
    def refunded_display(self, payment: Payment) -> str:
        return money(payment.refunded_amount, payment.currency) if payment.refunded_amount else "—"

    def has_manage_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    @admin.action(description="Mark selected payments paid (cash on delivery, bank transfer)",
                  permissions=["manage"])
    def mark_paid(self, request, queryset):
        done = _mark_paid(self, request, queryset.select_related("order").order_by("pk"),
                          label=lambda payment: f"{payment.order.number} ({payment.gateway})")
        if done:
            self.message_user(request, f"{done} payment(s) marked paid.", messages.SUCCESS)


# --- the store's payment methods -----------------------------------------------------------------------------
def _label(name: str) -> str:
    return name.replace("_", " ")


class GatewaySettingForm(forms.ModelForm):
    """store, gateway, enabled and instructions; ``gateway_setting_form`` adds the gateway's own settings: its
    public ones, and its credentials as password inputs that are never filled in (blank keeps the saved one)."""

    gateway = forms.ChoiceField(choices=lambda: [(name, gateway.label) for name, gateway in REGISTRY.items()],
                                widget=UnfoldAdminSelectWidget,
                                help_text="A card gateway's credentials are set on its page once it is saved.")
    save_refused: DomainError | None = None
    gateway_class: Gateway | None = None  # the gateway whose settings this form shows, if known

    class Meta:
        model = GatewaySetting
        fields = ["store", "gateway", "enabled", "instructions"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.gateway_class is not None:
            for name in self.option_names():
                self.initial[name] = self.gateway_class.option(self.instance, name)

    def option_names(self) -> list[str]:
        gateway = self.gateway_class
        return [] if gateway is None else [name for name in gateway.fields if name not in COLUMNS]

    def secret_names(self) -> list[str]:
        return [] if self.gateway_class is None else list(self.gateway_class.secret_fields)

    def service_values(self) -> dict:
        """What the service sets: the gateway's own settings, and instructions typed for one that has none (so
        the check refuses them rather than dropping them); on a change, only what changed; a credential only when
        one is typed (or "" when its "clear" box is ticked)."""
        gateway = REGISTRY.get(self.instance.gateway if self.instance.pk else self.cleaned_data.get("gateway"))
        fields = gateway.fields if gateway is not None else ()
        names = [name for name in ("enabled", "instructions", *self.option_names()) if name in self.cleaned_data
                 and (name in fields or (name == "instructions" and self.cleaned_data[name].strip()))]
        if self.instance.pk:
            names = [name for name in names if name in self.changed_data]
        values = {name: self.cleaned_data[name] for name in names}
        for name in self.secret_names():
            if self.cleaned_data.get(name):
                values[name] = self.cleaned_data[name]
            elif self.cleaned_data.get(f"{name}_clear"):
                values[name] = ""
        return values

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_names():
            if cleaned.get(name) and cleaned.get(f"{name}_clear"):
                self.add_error(f"{name}_clear", "Type a new one or clear the saved one, not both.")
        if self.save_refused is not None:
            refused_on_form(self, self.save_refused)
            return cleaned
        store = self.instance.store if self.instance.pk else cleaned.get("store")
        gateway = self.instance.gateway if self.instance.pk else cleaned.get("gateway")
        if store is None or gateway is None or self.errors:
            return cleaned
        if not self.instance.pk and GatewaySetting.objects.filter(store=store, gateway=gateway).exists():
            self.add_error("gateway", "This store has set this payment method already: change that row.")
            return cleaned
        try:
            services.gateway_setting_check(gateway=gateway, values=self.service_values(),
                                           saved=self.instance if self.instance.pk else None)
        except DomainError as exc:
            refused_on_form(self, exc, "gateway")
        return cleaned

    def validate_unique(self):
        pass  # checked in clean, as the service sees it


def gateway_setting_form(gateway: Gateway | None, setting: GatewaySetting | None) -> type[GatewaySettingForm]:
    """The form for ``gateway``'s settings (the plain form when the gateway is not known yet)."""
    if gateway is None:
        return GatewaySettingForm
    saved = setting.secrets_dict() if setting is not None and setting.pk and gateway.secret_fields else {}
    attrs: dict = {"gateway_class": gateway}
    for name in gateway.fields:
        if name in COLUMNS:
            continue
        if name in gateway.flags:
            attrs[name] = forms.BooleanField(required=False, label=_label(name), initial=gateway.default(name),
                                             widget=UnfoldBooleanSwitchWidget)
        elif name in gateway.choices:
            attrs[name] = forms.ChoiceField(choices=[(value, value) for value in gateway.choices[name]],
                                            label=_label(name), initial=gateway.default(name),
                                            widget=UnfoldAdminSelectWidget)
        else:
            attrs[name] = forms.CharField(required=False, label=_label(name), max_length=services.MAX_OPTION_LENGTH,
                                          initial=gateway.default(name), widget=UnfoldAdminTextInputWidget)
    for name in gateway.secret_fields:
        shown = mask(saved.get(name, ""))
        attrs[name] = forms.CharField(
            required=False, label=_label(name), max_length=services.MAX_SECRET_LENGTH,
            widget=UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"}),
            help_text=f"Saved: {shown}. Leave blank to keep it." if shown else "Not set.")
        if shown:
            attrs[f"{name}_clear"] = forms.BooleanField(required=False, label=f"clear the saved {_label(name)}",
                                                        widget=UnfoldBooleanSwitchWidget)
    return type("GatewaySettingForm", (GatewaySettingForm,), attrs)


@admin.register(GatewaySetting)
class GatewaySettingAdmin(ServiceSavedAdmin):
    """The payment methods a store offers at checkout: enabled and configured. No row: the method's default (cash
    on delivery and bank transfer are on, card gateways off). Saved through gateway_setting_update (audited), as
    PUT payment-gateways/{gateway} is; credentials are typed into password inputs and never shown back."""

    form = GatewaySettingForm
    write_permission = STORE_MANAGE
    list_display = ["gateway", "enabled", "configured", "instructions", "updated_at", "store"]
    list_filter = ["gateway", "enabled", "store"]
    list_select_related = ["store"]
    search_fields = ["gateway", "store__name"]

    def _gateway(self, request, obj) -> Gateway | None:
        # adding: the page's ?gateway= (the form posted is the one that page showed)
        name = obj.gateway if obj is not None else request.GET.get("gateway")
        return REGISTRY.get(name) if isinstance(name, str) else None

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = gateway_setting_form(self._gateway(request, obj), obj)
        if obj is not None:  # read-only there (the admin drops a read-only declared field from self.form only)
            form = type(form.__name__, (form,), {"gateway": None})
        return super().get_form(request, obj, change=change, form=form, **kwargs)

    def get_fields(self, request, obj=None):
        form = gateway_setting_form(self._gateway(request, obj), obj)
        extra = [name for name in form.base_fields if name not in GatewaySettingForm.base_fields]
        shown = ["store", "gateway", "enabled", "instructions", *extra]
        return [*shown, "configured", "webhook_url"] if obj else shown

    def get_readonly_fields(self, request, obj=None):
        return ["store", "gateway", "updated_at", "configured", "webhook_url"] if obj else []

    @admin.display(boolean=True, description="configured")
    def configured(self, setting: GatewaySetting) -> bool:
        return services.gateway_setting_configured(setting)

    @admin.display(description="webhook URL")
    def webhook_url(self, setting: GatewaySetting) -> str:
        request = current_request_var.get()
        base = request.build_absolute_uri("/") if request is not None else ""
        if setting.gateway not in REGISTRY:
            return "-"
        url = services.gateway_webhook_url(store=setting.store, gateway=setting.gateway, base_url=base)
        return f"{url} (paste it into the gateway's dashboard)" if url else "-"

    def save_model(self, request, obj, form, change):
        store = obj.store if change else form.cleaned_data["store"]
        gateway = obj.gateway if change else form.cleaned_data["gateway"]
        try:
            setting = services.gateway_setting_update(store=store, gateway=gateway, actor=request_actor(request),
                                                      **form.service_values())
        except DomainError as exc:
            raise SaveRefused(exc) from exc
        obj.pk = setting.pk
        obj.refresh_from_db()
        if setting.enabled and not services.gateway_setting_configured(setting):
            self.message_user(request, f"{REGISTRY[gateway].label} is enabled but not configured: checkout does not "
                                       "offer it until its required settings are set.", messages.WARNING)

    def response_add(self, request, obj, post_url_continue=None):
        gateway = REGISTRY[obj.gateway]
        if gateway.secret_fields and "_addanother" not in request.POST and "_continue" not in request.POST \
                and not any(name in request.POST for name in gateway.secret_fields):
            # its credentials are set on its own page: go there rather than back to the list
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switch a method off instead


# --- the store's fraud limits ---------------------------------------------------------------------------------
class FraudSettingForm(ServiceCheckedForm):
    """Each limit empty: the platform's default (named under it); checked by fraud_setting_check, as the API is."""

    fields_checked = services.FRAUD_FIELDS
    money_fields = ("amount_ceiling",)

    class Meta:
        model = FraudSetting
        fields = ["store", *services.FRAUD_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = services.fraud_defaults()
        for name in services.FRAUD_FIELDS:
            if name not in self.fields:
                continue
            default = getattr(defaults, name)
            off = " (0 switches the check off)" if name in services.COUNT_FIELDS else ""
            self.fields[name].help_text = (f"Empty: the platform default ({default}){off}." if default is not None
                                           else "Empty: no ceiling. In the store's currency.")

    def check(self, *, store, values: dict) -> None:
        if not self.instance.pk and FraudSetting.objects.filter(store=store).exists():
            raise ValidationFailed("This store has its fraud limits already: change that row.",
                                   store=["This store has its fraud limits already: change that row."])
        services.fraud_setting_check(store=store, values=values)


@admin.register(FraudSetting)
class FraudSettingAdmin(ServiceSavedAdmin):
    """A store's limits for the fraud checks before a card payment starts. No row: the platform's defaults. Saved
    through fraud_setting_update (audited), as PUT fraud-settings is; seen and changed with store.manage."""

    form = FraudSettingForm
    write_permission = STORE_MANAGE
    view_permission = STORE_MANAGE
    list_display = ["store", *[name if name != "amount_ceiling" else "amount_ceiling_display"
                               for name in services.FRAUD_FIELDS], "updated_at"]
    list_select_related = ["store"]
    search_fields = ["store__name"]

    @admin.display(description="amount ceiling", ordering="amount_ceiling")
    def amount_ceiling_display(self, setting: FraudSetting) -> str:
        return money(setting.amount_ceiling, setting.store.currency)

    def service_create(self, *, store, actor, values):
        return services.fraud_setting_update(store=store, actor=actor, **values)

    def service_update(self, *, obj, actor, values):
        return services.fraud_setting_update(store=obj.store, actor=actor, **values)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # empty the fields instead: the defaults again


# --- gateways' notifications -----------------------------------------------------------------------------------
@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Gateways' notifications as received, per store: what each was matched with and what came of it (why it was
    held, ignored or failed). "Replay processing" runs a failed one again through the worker's service."""

    audited_by_services = True
    write_permission = ORDERS_MANAGE
    list_display = ["received_at", "gateway", "event_type", "event_id", "status", "attempts", "order_number",
                    "error_short", "store"]
    list_filter = ["status", "gateway", "received_at", "store"]
    list_select_related = ["store", "payment__order"]
    search_fields = ["event_id", "payment__order__number"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = ["store", "gateway", "event_type", "event_id", "status", "error", "attempts", "received_at",
              "processed_at", "payment", "order_number", "payload_display"]
    readonly_fields = fields

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, event: WebhookEvent) -> str:
        return event.payment.order.number if event.payment_id else "—"

    @admin.display(description="note")
    def error_short(self, event: WebhookEvent) -> str:
        return event.error if len(event.error) <= 80 else event.error[:79] + "…"

    @admin.display(description="payload")
    def payload_display(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False))

    def has_manage_permission(self, request, obj=None) -> bool:
        return self._may_write(request, obj)

    @admin.action(description="Replay processing (failed events)", permissions=["manage"])
    def replay(self, request, queryset):
        done = for_each_writable(self, request, queryset.order_by("received_at", "pk"),
                                 label=lambda event: f"{event.gateway} {event.event_id}",
                                 act=lambda event: self._replayed(request, event))
        if done:
            self.message_user(request, f"{done} event(s) replayed.", messages.SUCCESS)

    def _replayed(self, request, event: WebhookEvent) -> None:
        event = services.webhook_event_replay(event=event, actor=request_actor(request))
        if event.status == "failed":
            self.message_user(request, f"{event.gateway} {event.event_id}: failed again: {event.error}",
                              messages.WARNING)


# --- orders, with their payments ------------------------------------------------------------------------------
class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "order"
    verbose_name_plural = "payments"
    fields = ["gateway", "status", "amount_display", "instructions", "created_at", "paid_at"]
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)


class OrderWithPaymentsAdmin(OrderAdmin):
    """The orders page with each order's payments, "Mark paid" (the pending cash-on-delivery or bank-transfer
    payment, through payment_mark_paid), and Approve / Reject for an order held for review (order_approve,
    order_reject: the same services as the API's)."""

    inlines = [*OrderAdmin.inlines, PaymentInline]
    actions = [*OrderAdmin.actions, "mark_paid", "approve_held", "reject_held"]
    change_form_template = "admin/payments/order/change_form.html"

    @admin.action(description="Mark selected orders paid (cash on delivery, bank transfer)", permissions=["manage"])
    def mark_paid(self, request, queryset):
        orders = list(queryset.prefetch_related("payments").order_by("pk"))
        payable = []
        for order in orders:
            payment = _pending_offline(order.payments.all())
            if payment is None:
                self.message_user(request, f"{order.number}: no pending cash-on-delivery or bank-transfer payment.",
                                  messages.ERROR)
            else:
                payment.order = order
                payable.append(payment)
        done = _mark_paid(self, request, payable, label=lambda payment: payment.order.number)
        if done:
            self.message_user(request, f"{done} order(s) marked paid.", messages.SUCCESS)

    # --- held for review ------------------------------------------------------------------------------------
    def _approve(self, request, order: Order, note: str = "") -> None:
        order = services.order_approve(order=order, note=note, actor=request_actor(request))
        if order.hold_reason:
            self.message_user(request, f"{order.number}: approved, and held again: {order.hold_reason}",
                              messages.WARNING)

    def _reject(self, request, order: Order, note: str = "") -> None:
        rejection = services.order_reject(order=order, note=note, actor=request_actor(request))
        for refund in rejection.refunds:
            level = messages.ERROR if refund.status == "failed" else messages.INFO
            why = f" ({refund.failure_reason})" if refund.failure_reason else ""
            self.message_user(request, f"{order.number}: refund #{refund.pk} of {money(refund.amount, refund.currency)}"
                                       f" {refund.status}{why}.", level)

    def _review(self, request, queryset, decide, verb: str) -> None:
        done = for_each_writable(self, request, queryset.select_related("store").order_by("pk"),
                                 label=lambda order: order.number, act=lambda order: decide(request, order))
        if done:
            self.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected held orders (apply a held payment, start an unstarted one)",
                  permissions=["manage"])
    def approve_held(self, request, queryset):
        self._review(request, queryset, self._approve, "approved")

    @admin.action(description="Reject selected held orders (cancel them, refund what a gateway took)",
                  permissions=["manage"])
    def reject_held(self, request, queryset):
        self._review(request, queryset, self._reject, "rejected and cancelled")

    def review_view(self, request, object_id):
        """POST from a held order's page: ``decision`` (approve or reject) and an optional ``note``."""

        def decide(order):
            decision, note = request.POST.get("decision", ""), request.POST.get("note", "")[:1000]
            act = {"approve": self._approve, "reject": self._reject}.get(decision)
            if act is None:
                self.message_user(request, "Choose approve or reject.", messages.ERROR)
                return
            try:
                act(request, order, note)
            except DomainError as exc:
                self.message_user(request, f"{order.number}: {domain_message(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{order.number}: {'approved' if decision == 'approve' else 'rejected'}.",
                                  messages.SUCCESS)

        return self.order_button_view(request, object_id, decide)

    def get_urls(self):
        custom = [path("<path:object_id>/mark-paid/", self.admin_site.admin_view(self.mark_paid_view),
                       name="orders_order_mark_paid"),
                  path("<path:object_id>/review/", self.admin_site.admin_view(self.review_view),
                       name="orders_order_review")]
        return custom + super().get_urls()

    def mark_paid_view(self, request, object_id):
        return self.order_button_view(request, object_id,
                                      lambda order: self.mark_paid(request, Order.objects.filter(pk=order.pk)))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        payable, held = None, ""
        if order is not None and self.has_manage_permission(request, order):
            payable = _pending_offline(order.payments.all())
            held = order.hold_reason
        extra_context = {**(extra_context or {}), "order_payable": payable, "order_held": held,
                         "order_payable_label": REGISTRY[payable.gateway].label if payable else "",
                         "order_payable_amount": money(payable.amount, payable.currency) if payable else ""}
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(Order)
admin.site.register(Order, OrderWithPaymentsAdmin)
