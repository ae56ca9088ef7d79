"""The merchant dashboard's payments pages: payments (read-only, "Mark paid" for cash on delivery and bank
transfer through payment_mark_paid), the store's payment methods (through gateway_setting_update), and the
orders page extended with each order's payments and its "Mark paid" (orders sits below payments and does not
know them)."""

from django import forms
from django.contrib import admin, messages
from django.urls import path

from config.api.actor import request_actor
from config.api.errors import DomainError
from orders.admin import (
    OrderAdmin,
    ReadOnlyInline,
    SaveRefused,
    ServiceSavedAdmin,
    for_each_writable,
    money,
    refused_on_form,
)
from orders.models import Order
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import ORDERS_MANAGE, STORE_MANAGE

from . import services
from .gateways import REGISTRY
from .models import GatewaySetting, Payment, PaymentStatus


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
class PaymentAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    audited_by_services = True
    write_permission = ORDERS_MANAGE
    list_display = ["id", "order_number", "gateway", "status", "amount_display", "created_at", "paid_at", "store"]
    list_filter = ["status", "gateway", "created_at", "store"]
    list_select_related = ["order", "store"]
    search_fields = ["order__number", "order__email"]
    date_hierarchy = "created_at"
    actions = ["mark_paid"]
    fields = ["store", "order", "gateway", "status", "amount_display", "instructions", "created_at", "paid_at"]
    readonly_fields = fields

    @admin.display(description="order", ordering="order__number")
    def order_number(self, payment: Payment) -> str:
        return payment.order.number

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, payment: Payment) -> str:
        return money(payment.amount, payment.currency)

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
class GatewaySettingForm(forms.ModelForm):
    gateway = forms.ChoiceField(choices=[(name, gateway.label) for name, gateway in REGISTRY.items()])
    save_refused: DomainError | None = None

    class Meta:
        model = GatewaySetting
        fields = ["store", "gateway", "enabled", "instructions"]

    def service_values(self) -> dict:
        """What the service sets: the gateway's own settings, and instructions typed for one that has none (so
        the check refuses them rather than dropping them); on a change, only what changed."""
        gateway = REGISTRY.get(self.instance.gateway if self.instance.pk else self.cleaned_data.get("gateway"))
        fields = gateway.fields if gateway is not None else ()
        names = [name for name in ("enabled", "instructions") if name in self.cleaned_data
                 and (name in fields or (name == "instructions" and self.cleaned_data[name].strip()))]
        if self.instance.pk:
            names = [name for name in names if name in self.changed_data]
        return {name: self.cleaned_data[name] for name in names}

    def clean(self):
        cleaned = super().clean()
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
            services.gateway_setting_check(gateway=gateway, values=self.service_values())
        except DomainError as exc:
            refused_on_form(self, exc, "gateway")
        return cleaned

    def validate_unique(self):
        pass  # checked in clean, as the service sees it


@admin.register(GatewaySetting)
class GatewaySettingAdmin(ServiceSavedAdmin):
    """The payment methods a store offers at checkout. No row: the method's default (cash on delivery and bank
    transfer are on). Saved through gateway_setting_update (audited), as PUT payment-gateways/{gateway} is."""

    form = GatewaySettingForm
    write_permission = STORE_MANAGE
    list_display = ["gateway", "enabled", "instructions", "updated_at", "store"]
    list_filter = ["gateway", "enabled", "store"]
    list_select_related = ["store"]
    search_fields = ["gateway", "store__name"]
    fields = ["store", "gateway", "enabled", "instructions"]

    def get_readonly_fields(self, request, obj=None):
        return ["store", "gateway", "updated_at"] if obj else []

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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switch a method off instead


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
    """The orders page with each order's payments and "Mark paid" (the pending cash-on-delivery or bank-transfer
    payment, through payment_mark_paid)."""

    inlines = [*OrderAdmin.inlines, PaymentInline]
    actions = [*OrderAdmin.actions, "mark_paid"]
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

    def get_urls(self):
        custom = [path("<path:object_id>/mark-paid/", self.admin_site.admin_view(self.mark_paid_view),
                       name="orders_order_mark_paid")]
        return custom + super().get_urls()

    def mark_paid_view(self, request, object_id):
        return self.order_button_view(request, object_id,
                                      lambda order: self.mark_paid(request, Order.objects.filter(pk=order.pk)))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        payable = None
        if order is not None and self.has_manage_permission(request, order):
            payable = _pending_offline(order.payments.all())
        extra_context = {**(extra_context or {}), "order_payable": payable,
                         "order_payable_label": REGISTRY[payable.gateway].label if payable else "",
                         "order_payable_amount": money(payable.amount, payable.currency) if payable else ""}
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(Order)
admin.site.register(Order, OrderWithPaymentsAdmin)
