"""The merchant dashboard's stock pages: the inventory ledger (read-only) and stock adjustments, which go through
catalog.services.stock.stock_adjust (one conditional UPDATE and a movement naming the admin user)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from config.api.actor import request_actor
from config.api.errors import DomainError
from stores.models import Store
from teams.admin_base import ReadOnlyAdminMixin, StoreScopedAdmin
from teams.permissions import CATALOG_WRITE

from .models import InventoryMovement, MovementReason, Variant
from .selectors import variants_low_stock
from .services import stock_adjust

# What a person records; reserve, release and sale are written by orders.
ADJUSTMENT_REASONS = [(reason.value, reason.label) for reason in
                      (MovementReason.RESTOCK, MovementReason.ADJUSTMENT, MovementReason.RETURN)]


class StockAdjustForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none(), widget=UnfoldAdminSelectWidget)
    sku = forms.CharField(max_length=64, widget=UnfoldAdminTextInputWidget)
    delta = forms.IntegerField(label="Change", help_text="Units to add (e.g. 12) or to remove (e.g. -3).",
                               min_value=-1_000_000, max_value=1_000_000, widget=UnfoldAdminIntegerFieldWidget)
    reason = forms.ChoiceField(choices=ADJUSTMENT_REASONS, initial=MovementReason.RESTOCK,
                               widget=UnfoldAdminSelectWidget)
    note = forms.CharField(required=False, max_length=500, widget=UnfoldAdminTextInputWidget)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        if stores.count() == 1:
            self.fields["store"].initial = stores.first()
        self.variant: Variant | None = None

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("A change of at least one unit.")
        return delta

    def clean(self):
        cleaned = super().clean()
        store, sku = cleaned.get("store"), (cleaned.get("sku") or "").strip()
        if store is not None and sku:
            self.variant = Variant.objects.select_related("product").filter(store=store, sku=sku).first()
            if self.variant is None:
                self.add_error("sku", f"No variant of {store.name} has this sku.")
        return cleaned


@admin.register(InventoryMovement)
class InventoryMovementAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """The ledger: every change of on-hand and reserved units, append-only, never edited. "Adjust stock" adds one
    (a movement is recorded by the change it describes)."""

    audited_by_services = True
    write_permission = CATALOG_WRITE
    list_display = ["created_at", "sku", "product", "reason", "quantity_delta", "reserved_delta", "order_number",
                    "actor_label", "note", "store"]
    list_filter = ["reason", "created_at", "store"]
    list_select_related = ["variant__product", "order", "store"]
    search_fields = ["variant__sku", "order__number", "note"]
    date_hierarchy = "created_at"
    fields = ["created_at", "store", "variant", "reason", "quantity_delta", "reserved_delta", "order", "note",
              "actor_user", "actor_label"]
    readonly_fields = fields
    change_list_template = "admin/catalog/inventorymovement/change_list.html"

    @admin.display(description="sku", ordering="variant__sku")
    def sku(self, movement: InventoryMovement) -> str:
        return movement.variant.sku

    @admin.display(description="product")
    def product(self, movement: InventoryMovement) -> str:
        return movement.variant.product.name

    @admin.display(description="order", ordering="order__number")
    def order_number(self, movement: InventoryMovement) -> str:
        if movement.order_id is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[movement.order_id])
        return format_html('<a href="{}">{}</a>', url, movement.order.number)

    def may_adjust(self, request) -> bool:
        return self._may_write(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_adjust": self.may_adjust(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        custom = [path("adjust/", self.admin_site.admin_view(self.adjust_view), name="catalog_stock_adjust")]
        return custom + super().get_urls()

    def adjust_view(self, request):
        """Adds or removes units of one variant through stock_adjust; ``?variant=<id>`` fills the form."""
        writable = self.writable_store_ids(request)
        stores = Store.objects.all() if writable is None else Store.objects.filter(pk__in=writable)
        if not stores.exists():
            raise PermissionDenied
        initial = {}
        variant_id = request.GET.get("variant", "")
        if variant_id.isdigit():
            variant = Variant.objects.filter(pk=int(variant_id), store__in=stores).first()
            if variant is not None:
                initial = {"store": variant.store_id, "sku": variant.sku}
        form = StockAdjustForm(request.POST or None, initial=initial, stores=stores)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                variant = stock_adjust(variant=form.variant, delta=data["delta"], reason=data["reason"],
                                       note=data["note"].strip(), actor=request_actor(request))
            except DomainError as exc:
                form.add_error("delta", exc.message)
            else:
                self.message_user(request, f"{variant.sku}: {data['delta']:+d} ({data['reason']}); now "
                                           f"{variant.stock_quantity} on hand, {variant.reserved} reserved, "
                                           f"{variant.available} available.", messages.SUCCESS)
                url = reverse("admin:catalog_inventorymovement_changelist")
                return redirect(f"{url}?q={variant.sku}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "opts": self.model._meta,
            "form": form,
            "variant": form.variant if form.is_bound else None,
        }
        return TemplateResponse(request, "admin/catalog/inventorymovement/adjust.html", context)


# --- stock levels ----------------------------------------------------------------------------------------------------
class LowStockVariantFilter(admin.SimpleListFilter):
    """The variants the dashboard counts as low on stock (its "Low stock" shortcut lands here, so the count it shows
    and the rows listed agree): ``catalog.selectors.variants_low_stock``, the rule of GET inventory?low_stock=true."""

    title = "low stock"
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", "At or below the store's threshold")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=variants_low_stock().values("pk"))
        return queryset


@admin.register(Variant)
class VariantStockAdmin(ReadOnlyAdminMixin, StoreScopedAdmin):
    """Stock levels: every variant with its units on hand, reserved and available. Read-only: a variant is edited on
    its product's page, its stock through "Adjust stock" (a movement in the ledger)."""

    audited_by_services = True
    write_permission = CATALOG_WRITE
    list_display = ["sku", "product_link", "name", "stock_quantity", "reserved", "available_units", "track_inventory",
                    "adjust", "store"]
    list_display_links = None
    list_filter = [LowStockVariantFilter, "track_inventory", "store"]
    list_select_related = ["product", "store"]
    search_fields = ["sku", "name", "product__name"]
    ordering = ["store", "product__name", "position", "id"]
    fields = ["store", "product", "sku", "name", "options", "stock_quantity", "reserved", "track_inventory",
              "allow_backorder"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_units=F("stock_quantity") - F("reserved"))

    @admin.display(description="product", ordering="product__name")
    def product_link(self, variant: Variant) -> str:
        url = reverse("admin:catalog_product_change", args=[variant.product_id])
        return format_html('<a href="{}">{}</a>', url, variant.product.name)

    @admin.display(description="available", ordering="available_units")
    def available_units(self, variant: Variant) -> int:
        return variant.available_units

    @admin.display(description="stock")
    def adjust(self, variant: Variant) -> str:
        return format_html('<a href="{}?variant={}">adjust</a>', reverse("admin:catalog_stock_adjust"), variant.pk)
