"""The merchant dashboard's orders pages (the PMS): orders read-only and moved through orders.services, coupons and
shipping methods edited through their services. Marking paid is payments' (payments/admin.py)."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from catalog.models import InventoryMovement
from config.api.actor import request_actor
from config.api.errors import DomainError
from config.money import money_str
from features.admin_mixins import FeatureAdminMixin
from features.flags import is_enabled
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin, StoreScopedInline
from teams.admin_fields import money_inputs_localize
from teams.permissions import ORDERS_MANAGE

from . import services
from .models import Coupon, Order, OrderEvent, OrderLine, OrderStatus, ShippingMethod


def domain_message(exc: DomainError) -> str:
    """A service's refusal in one line, with the fields it names."""
    details = "; ".join(f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                        for key, value in exc.details.items()) if exc.details else ""
    return f"{exc.message} {details}".strip() if details and details not in exc.message else exc.message


def refused_on_form(form: forms.Form, exc: DomainError, field: str | None = None) -> None:
    """A service check's refusal shown on the form: on each field it names, else on ``field`` (None: the form)."""
    named = {name: value for name, value in exc.details.items() if name in form.fields}
    if not named:
        form.add_error(field, exc.message)
    for name, value in named.items():
        form.add_error(name, value if isinstance(value, list) else str(value))


def for_each_writable(admin_view, request, objects, *, label, act) -> int:
    """``act(obj)`` for each of ``objects`` in a store where the admin user may write here; a refusal (no right in
    that store, or the service's DomainError) is a message naming ``label(obj)``. Returns how many were done."""
    writable = admin_view.writable_store_ids(request)
    done = 0
    for obj in objects:
        if writable is not None and obj.store_id not in writable:
            admin_view.message_user(request, f"{label(obj)}: you may not manage this store's orders.", messages.ERROR)
            continue
        try:
            act(obj)
        except DomainError as exc:
            admin_view.message_user(request, f"{label(obj)}: {domain_message(exc)}", messages.ERROR)
            continue
        done += 1
    return done


def money(amount, currency: str) -> str:
    """An amount with the currency's places and its code ("19.995 LYD")."""
    return "—" if amount is None else f"{money_str(amount, currency)} {currency}"


# --- orders --------------------------------------------------------------------------------------------------
class ReadOnlyInline(ReadOnlyAdminMixin, StoreScopedInline):
    """Rows of an order's history: shown, never edited here."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    verbose_name_plural = "lines"
    fields = ["sku", "product_name", "variant_name", "options_text", "unit_price_display", "quantity",
              "tax_display", "line_total_display"]
    readonly_fields = fields

    @admin.display(description="options")
    def options_text(self, line: OrderLine) -> str:
        return ", ".join(f"{key}: {value}" for key, value in (line.options or {}).items())

    @admin.display(description="unit price")
    def unit_price_display(self, line: OrderLine) -> str:
        return money(line.unit_price, line.order.currency)

    @admin.display(description="tax")
    def tax_display(self, line: OrderLine) -> str:
        return money(line.tax, line.order.currency)

    @admin.display(description="total")
    def line_total_display(self, line: OrderLine) -> str:
        return money(line.line_total, line.order.currency)


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = "history"
    fields = ["created_at", "kind", "from_status", "to_status", "note", "actor_label"]
    readonly_fields = fields


class OrderMovementInline(ReadOnlyInline):
    model = InventoryMovement
    verbose_name_plural = "stock movements"
    fields = ["created_at", "sku", "reason", "quantity_delta", "reserved_delta", "actor_label"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant")

    @admin.display(description="sku")
    def sku(self, movement: InventoryMovement) -> str:
        return movement.variant.sku


def _address(value) -> str:
    if not value:
        return "—"
    if not isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return format_html_join(mark_safe("<br>"), "{}: {}", ((key, item) for key, item in value.items()))


class HeldFilter(admin.SimpleListFilter):
    """Orders held for review (a fraud check, a payment that did not match): they wait for a member's decision."""

    title = "held for review"
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", "Held"), ("no", "Not held")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(hold_reason="")
        if self.value() == "no":
            return queryset.filter(hold_reason="")
        return queryset


# The admin's moves: each through orders.services.order_transition (a store's cancel included), as the API's
# POST orders/{number}/status. Refunded is not one: a refund of the payment moves the order there (the payment's page).
MOVES = {
    OrderStatus.PROCESSING: "Mark processing",
    OrderStatus.COMPLETED: "Mark completed",
    OrderStatus.CANCELLED: "Mark cancelled",
}


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Orders are read here and moved only through the services (same rules, events and audit rows as the API):
    the bulk actions and the buttons on an order's page. Nothing on the page itself is editable; orders come from
    checkout and are never deleted (cancel or refund them)."""

    audited_by_services = True
    write_permission = ORDERS_MANAGE
    list_display = ["number", "created_at", "customer", "status", "payment_status", "held", "total_display",
                    "payment_method", "store"]
    list_filter = [HeldFilter, "status", "payment_status", "created_at", "payment_method", "store"]
    list_select_related = ["store"]
    search_fields = ["number", "email", "customer_name"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, OrderEventInline, OrderMovementInline]
    actions = ["mark_processing", "mark_completed", "mark_cancelled"]
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = [
        (None, {"fields": ["number", "store", "status", "payment_status", "payment_method", "created_at",
                           "updated_at", "reserved_until"]}),
        ("Review", {"fields": ["hold_reason", "held_at"]}),
        ("Customer", {"fields": ["email", "customer_name", "user", "shipping_address_display",
                                 "billing_address_display"]}),
        ("Totals", {"fields": ["subtotal_display", "discount_display", "shipping_display", "tax_display",
                               "total_display", "tax_included", "coupon_code", "shipping_method_name"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    # --- what is shown -------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not is_enabled("coupons", store=obj.store_id):  # as the API: no coupon_code
            fieldsets = [(name, {**options, "fields": [field for field in options["fields"] if field != "coupon_code"]})
                         for name, options in fieldsets]
        return fieldsets

    @admin.display(description="customer", ordering="email")
    def customer(self, order: Order) -> str:
        return f"{order.customer_name} <{order.email}>" if order.customer_name else order.email

    @admin.display(description="held", boolean=True, ordering="held_at")
    def held(self, order: Order) -> bool:
        return bool(order.hold_reason)

    @admin.display(description="subtotal")
    def subtotal_display(self, order: Order) -> str:
        return money(order.subtotal, order.currency)

    @admin.display(description="discount")
    def discount_display(self, order: Order) -> str:
        return money(order.discount, order.currency)

    @admin.display(description="shipping")
    def shipping_display(self, order: Order) -> str:
        return money(order.shipping, order.currency)

    @admin.display(description="tax")
    def tax_display(self, order: Order) -> str:
        return money(order.tax, order.currency)

    @admin.display(description="total", ordering="total")
    def total_display(self, order: Order) -> str:
        return money(order.total, order.currency)

    @admin.display(description="shipping address")
    def shipping_address_display(self, order: Order) -> str:
        return _address(order.shipping_address)

    @admin.display(description="billing address")
    def billing_address_display(self, order: Order) -> str:
        return _address(order.billing_address)

    def get_search_results(self, request, queryset, search_term):
        results, distinct = super().get_search_results(request, queryset, search_term)
        number = services.order_number_normalize(search_term) if search_term else ""
        if number and number != search_term.strip():  # "7qk3m9xp2h" finds 7QK3M-9XP2H
            results = results | queryset.filter(number=number)
        return results, distinct

    # --- permissions: the page is read-only (ReadOnlyAdminMixin); moves need orders.manage
    def has_manage_permission(self, request, obj=None) -> bool:
        """May move orders (``orders.manage``): in some store, or in ``obj``'s."""
        return self._may_write(request, obj)

    # --- moves ---------------------------------------------------------------
    def _move(self, request, queryset, status: str) -> None:
        done = for_each_writable(self, request, queryset.select_related("store").order_by("pk"),
                                 label=lambda order: order.number,
                                 act=lambda order: services.order_transition(order=order, status=status,
                                                                            actor=request_actor(request)))
        if done:
            self.message_user(request, f"{done} order(s) marked {status}.", messages.SUCCESS)

    @admin.action(description="Mark selected orders processing", permissions=["manage"])
    def mark_processing(self, request, queryset):
        self._move(request, queryset, OrderStatus.PROCESSING)

    @admin.action(description="Mark selected orders completed", permissions=["manage"])
    def mark_completed(self, request, queryset):
        self._move(request, queryset, OrderStatus.COMPLETED)

    @admin.action(description="Mark selected orders cancelled (releases their stock)", permissions=["manage"])
    def mark_cancelled(self, request, queryset):
        self._move(request, queryset, OrderStatus.CANCELLED)

    def get_urls(self):
        custom = [path("<path:object_id>/move/", self.admin_site.admin_view(self.move_view),
                       name="orders_order_move")]
        return custom + super().get_urls()

    def order_button_view(self, request, object_id, act):
        """A button on an order's page: POST only (else back to the page), an order the user sees (else 404) in a
        store where they may manage orders (else 403); ``act(order)`` does the work and leaves its messages."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404("No such order.")
        if not self.has_manage_permission(request, order):
            raise PermissionDenied
        act(order)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def move_view(self, request, object_id):
        """POST from an order's page: ``status`` (one of its next statuses) and an optional ``note``."""
        return self.order_button_view(request, object_id, lambda order: self._move_one(request, order))

    def _move_one(self, request, order: Order) -> None:
        status = request.POST.get("status", "")
        if status not in MOVES:
            self.message_user(request, "Choose what the order becomes.", messages.ERROR)
            return
        try:
            order = services.order_transition(order=order, status=status, actor=request_actor(request),
                                              note=request.POST.get("note", "")[:2000])
        except DomainError as exc:
            self.message_user(request, f"{order.number}: {domain_message(exc)}", messages.ERROR)
        else:
            self.message_user(request, f"{order.number} is now {order.status}.", messages.SUCCESS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        moves = []
        if order is not None and self.has_manage_permission(request, order):
            moves = [(status, MOVES[status]) for status in MOVES
                     if status in services.TRANSITIONS.get(order.status, frozenset())]
        extra_context = {**(extra_context or {}), "order_moves": moves}
        return super().change_view(request, object_id, form_url, extra_context)


# --- coupons and shipping methods: forms checked and saved by the services ------------------------------------
class ServiceCheckedForm(forms.ModelForm):
    """A model form whose rules are the service's check function (``check``), run in ``clean``; the model's own
    unique/constraint validation is left to it too, so each rule is written and reported once."""

    fields_checked: tuple[str, ...] = ()
    money_fields: tuple[str, ...] = ()  # amounts shown with the store currency's places
    save_refused: DomainError | None = None  # set by ServiceSavedAdmin when the service refused the last try

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.instance.store.currency if self.instance.pk else None
        money_inputs_localize(self, currency=currency, names=self.money_fields)

    def check(self, *, store, values: dict) -> None:  # pragma: no cover - each form says
        raise NotImplementedError

    def store_of(self, cleaned: dict):
        return self.instance.store if self.instance.pk else cleaned.get("store")

    def service_values(self) -> dict:
        """The values a service takes: all of them for a new row, the changed ones for an existing row."""
        names = [name for name in self.fields_checked if name in self.cleaned_data]
        if self.instance.pk:
            names = [name for name in names if name in self.changed_data]
        return {name: self.cleaned_data[name] for name in names}

    def clean(self):
        cleaned = super().clean()
        if self.save_refused is not None:
            refused_on_form(self, self.save_refused)
            return cleaned
        store = self.store_of(cleaned)
        if store is None or self.errors:
            return cleaned
        try:
            self.check(store=store, values=self.service_values())
        except DomainError as exc:
            refused_on_form(self, exc)
        return cleaned

    def validate_unique(self):
        pass  # the service's check (above) decides, e.g. a coupon code taken in another case


class CouponForm(ServiceCheckedForm):
    fields_checked = services.COUPON_FIELDS
    money_fields = ("value", "min_subtotal")

    class Meta:
        model = Coupon
        fields = ["store", *services.COUPON_FIELDS]

    def check(self, *, store, values: dict) -> None:
        services.coupon_check(store=store, coupon=self.instance if self.instance.pk else None, **values)


class ShippingMethodForm(ServiceCheckedForm):
    fields_checked = services.SHIPPING_METHOD_FIELDS
    money_fields = ("price", "free_above")

    class Meta:
        model = ShippingMethod
        fields = ["store", *services.SHIPPING_METHOD_FIELDS]

    def check(self, *, store, values: dict) -> None:
        services.shipping_method_check(store=store, shipping_method=self.instance if self.instance.pk else None,
                                       **values)


class SaveRefused(Exception):
    """A service refused a save the form's check had passed (the store changed in between, e.g. the same code
    taken meanwhile); the admin shows the form again with the service's answer."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


class ServiceSavedAdmin(StoreScopedAdmin):
    """Saves and deletes through the entity's create/update/delete services, which audit each change once."""

    audited_by_services = True
    write_permission = ORDERS_MANAGE

    def service_create(self, *, store, actor, values: dict):  # pragma: no cover - each admin says
        raise NotImplementedError

    def service_update(self, *, obj, actor, values: dict):  # pragma: no cover
        raise NotImplementedError

    def service_delete(self, *, obj, actor) -> None:  # pragma: no cover
        raise NotImplementedError

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.save_refused = getattr(request, "admin_save_refused", None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except SaveRefused as refused:
            # the view's transaction rolled back: the same POST again, the service's answer on the form
            request.admin_save_refused = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        values, actor = form.service_values(), request_actor(request)
        try:
            if change:
                saved = self.service_update(obj=type(obj).objects.get(pk=obj.pk), actor=actor, values=values)
            else:
                saved = self.service_create(store=form.cleaned_data["store"], actor=actor, values=values)
        except DomainError as exc:
            raise SaveRefused(exc) from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        self.service_delete(obj=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset):
        writable = self.writable_store_ids(request)
        for obj in queryset.select_related("store"):
            if writable is None or obj.store_id in writable:
                self.service_delete(obj=obj, actor=request_actor(request))


@admin.register(Coupon)
class CouponAdmin(FeatureAdminMixin, ServiceSavedAdmin):
    feature = "coupons"  # the stores that switched coupons off: their coupons are not listed
    form = CouponForm
    list_display = ["code", "kind", "value_display", "uses", "min_subtotal_display", "starts_at", "ends_at",
                    "is_active", "store"]
    list_filter = ["is_active", "kind", "store"]
    list_select_related = ["store"]
    search_fields = ["code"]
    readonly_fields = ["used_count", "created_at"]
    fieldsets = [
        (None, {"fields": ["store", "code", "kind", "value", "is_active"]}),
        ("Conditions", {"fields": ["min_subtotal", "starts_at", "ends_at", "usage_limit",
                                   "usage_limit_per_customer"]}),
        ("Use", {"fields": ["used_count", "created_at"]}),
    ]

    def service_create(self, *, store, actor, values):
        return services.coupon_create(store=store, actor=actor, **values)

    def service_update(self, *, obj, actor, values):
        return services.coupon_update(coupon=obj, actor=actor, **values)

    def service_delete(self, *, obj, actor):
        services.coupon_delete(coupon=obj, actor=actor)

    @admin.display(description="value", ordering="value")
    def value_display(self, coupon: Coupon) -> str:
        if coupon.kind == "percent":
            return f"{coupon.value.normalize():f} %"
        return money(coupon.value, coupon.store.currency)

    @admin.display(description="min. subtotal")
    def min_subtotal_display(self, coupon: Coupon) -> str:
        return money(coupon.min_subtotal, coupon.store.currency)

    @admin.display(description="used", ordering="used_count")
    def uses(self, coupon: Coupon) -> str:
        return f"{coupon.used_count} / {coupon.usage_limit}" if coupon.usage_limit else str(coupon.used_count)


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ServiceSavedAdmin):
    form = ShippingMethodForm
    list_display = ["name", "price_display", "free_above_display", "is_active", "position", "store"]
    list_filter = ["is_active", "store"]
    list_select_related = ["store"]
    search_fields = ["name"]
    fields = ["store", "name", "price", "free_above", "is_active", "position"]
    ordering = ["store", "position", "id"]

    def service_create(self, *, store, actor, values):
        return services.shipping_method_create(store=store, actor=actor, **values)

    def service_update(self, *, obj, actor, values):
        return services.shipping_method_update(shipping_method=obj, actor=actor, **values)

    def service_delete(self, *, obj, actor):
        services.shipping_method_delete(shipping_method=obj, actor=actor)

    @admin.display(description="price", ordering="price")
    def price_display(self, method: ShippingMethod) -> str:
        return money(method.price, method.store.currency)

    @admin.display(description="free above")
    def free_above_display(self, method: ShippingMethod) -> str:
        return money(method.free_above, method.store.currency)
