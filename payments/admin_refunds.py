"""The refunds pages of the merchant dashboard: refunds read-only per store, and refunding from the payments pages
(a payment's "Refund" form, the payments list's "Refund what remains") through payments.services.payment_refund,
as POST payments/{id}/refunds does: payments.refund in the payment's store, never more than remains."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminTextInputWidget, UnfoldBooleanSwitchWidget

from config.api.actor import request_actor
from config.api.errors import DomainError
from orders.admin import ReadOnlyInline, domain_message, money, refused_on_form
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin, admin_store_ids_with, may_write
from teams.admin_fields import money_inputs_localize
from teams.permissions import PAYMENTS_REFUND

from . import services
from .gateways import gateway_get
from .models import Payment, PaymentStatus, Refund, RefundStatus

REFUNDABLE = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


def remains(payment: Payment) -> Decimal:
    """What can still be refunded (refunds on their way to the gateway count as given)."""
    return max(payment.amount - payment.refunded_amount, Decimal(0))


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Refunds are made on their payment (its page, or the API) and never changed here."""

    audited_by_services = True
    write_permission = PAYMENTS_REFUND
    list_display = ["id", "order_number", "gateway", "amount_display", "status", "reason", "restock", "reference",
                    "created_at", "store"]
    list_filter = ["status", "restock", "created_at", "store"]
    list_select_related = ["payment__order", "store"]
    search_fields = ["payment__order__number", "reference", "reason"]
    date_hierarchy = "created_at"
    fields = ["store", "payment", "order_number", "gateway", "amount_display", "status", "reason", "restock",
              "reference", "failure_reason", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, refund: Refund) -> str:
        return refund.payment.order.number

    @admin.display(description="gateway", ordering="payment__gateway")
    def gateway(self, refund: Refund) -> str:
        return refund.payment.gateway

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, refund: Refund) -> str:
        return money(refund.amount, refund.currency)


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "payment"
    verbose_name_plural = "refunds"
    fields = ["created_at", "amount_display", "status", "reason", "restock", "reference", "failure_reason"]
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_display(self, refund: Refund) -> str:
        return money(refund.amount, refund.currency)


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0"),
                                help_text="At most what remains; the currency's places.",
                                widget=UnfoldAdminDecimalFieldWidget)
    reason = forms.CharField(max_length=255, required=False, widget=UnfoldAdminTextInputWidget)
    restock = forms.BooleanField(required=False, help_text="Put the units the order sold back on the shelf (a "
                                                           "processing order's reservation goes back with its full "
                                                           "refund).", widget=UnfoldBooleanSwitchWidget)


class PaymentRefundsMixin:
    """The payments admin's refunds: the payment's refunds inline, a "Refund" form on its page, and the list's
    "Refund what remains" action; each through payment_refund, in stores where the user holds payments.refund."""

    refund_template = "admin/payments/payment/refund.html"

    def has_refund_permission(self, request, obj=None) -> bool:
        """May refund (``payments.refund``): in some store, or in ``obj``'s."""
        return may_write(self.admin_site, request, PAYMENTS_REFUND, obj, self.store_field)

    def _refund(self, request, payment: Payment, **values) -> Refund | None:
        """payment_refund, its outcome as a message; None when refused."""
        label = f"{payment.order.number} ({payment.gateway})"
        try:
            refund = services.payment_refund(payment=payment, actor=request_actor(request), **values)
        except DomainError as exc:
            self.message_user(request, f"{label}: {domain_message(exc)}", messages.ERROR)
            return None
        if refund.status == RefundStatus.FAILED:
            self.message_user(request, f"{label}: the refund failed: {refund.failure_reason}", messages.ERROR)
        else:
            self.message_user(request, f"{label}: {money(refund.amount, refund.currency)} refunded.",
                              messages.SUCCESS)
        return refund

    @admin.action(description="Refund what remains of selected payments", permissions=["refund"])
    def refund_rest(self, request, queryset):
        allowed = admin_store_ids_with(request, PAYMENTS_REFUND)
        for payment in queryset.select_related("order").order_by("pk"):
            if allowed is not None and payment.store_id not in allowed:
                self.message_user(request, f"{payment.order.number}: you may not refund this store's payments.",
                                  messages.ERROR)
                continue
            if not remains(payment):
                self.message_user(request, f"{payment.order.number}: nothing remains to refund.", messages.ERROR)
                continue
            self._refund(request, payment, amount=remains(payment), reason="Refunded in full from the dashboard.")

    def get_urls(self):
        custom = [path("<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
                       name="payments_payment_refund")]
        return custom + super().get_urls()

    def refund_view(self, request, object_id):
        """A payment's refund form: ``amount`` (what remains, to begin with), ``reason``, ``restock``."""
        payment = self.get_object(request, object_id)
        if payment is None:
            raise Http404("No such payment.")
        if not self.has_refund_permission(request, payment):
            raise PermissionDenied
        page = reverse("admin:payments_payment_change", args=[payment.pk])
        form = RefundForm(request.POST or None, initial={"amount": remains(payment)})
        money_inputs_localize(form, currency=payment.currency, names=["amount"])
        if request.method == "POST" and form.is_valid():
            try:  # the service checks everything (amount, remainder, restock): a refusal goes on the form
                refund = services.payment_refund(payment=payment, actor=request_actor(request), **form.cleaned_data)
            except DomainError as exc:
                refused_on_form(form, exc)
            else:
                if refund.status == RefundStatus.FAILED:
                    self.message_user(request, f"The refund failed: {refund.failure_reason}", messages.ERROR)
                else:
                    self.message_user(request, f"{money(refund.amount, refund.currency)} refunded.",
                                      messages.SUCCESS)
                return HttpResponseRedirect(page)
        context = {**self.admin_site.each_context(request), "title": f"Refund payment #{payment.pk}",
                   "opts": self.model._meta, "original": payment, "form": form, "payment_page": page,
                   "paid": money(payment.amount, payment.currency),
                   "offline": getattr(gateway_get(payment.gateway), "offline", False),
                   "remains": money(remains(payment), payment.currency)}
        return TemplateResponse(request, self.refund_template, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, object_id)
        refundable = (payment is not None and payment.status in REFUNDABLE and remains(payment) > 0
                      and self.has_refund_permission(request, payment))
        extra_context = {**(extra_context or {}), "payment_refundable": refundable,
                         "refund_action": {"icon": "undo", "attrs": {"id": "payment-refund"}}}
        return super().change_view(request, object_id, form_url, extra_context)
