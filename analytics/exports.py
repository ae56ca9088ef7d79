"""Exports of a store's products, orders, customers and inventory as CSV or JSON, streamed in constant memory.

Rows are read with server-side cursors (``.iterator``), a chunk at a time (orders with their lines and refunds, one
query each per chunk of orders), and written out as they come: memory does not grow with the store. The same stream
answers GET …/exports/{type} and fills the file a worker writes for POST …/exports.

CSV cells that a spreadsheet would run as a formula are prefixed with ' (``config.spreadsheets.csv_cell``). JSON
is the API's envelope, ``{"success": true, "data": [rows…], "timestamp": …}``. Times are ISO 8601 in the store's
time zone; money is a decimal string with the currency's places.
"""

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Lower

from catalog.models import Product
from catalog.selectors import inventory_list
from config.api.envelope import now_iso
from config.money import money_str
from config.spreadsheets import Echo, csv_cell
from orders.models import Order, OrderLine
from payments.models import Payment
from stores.models import Store
from teams.permissions import ORDERS_MANAGE

from .figures import SOLD, ZERO
from .models import ExportFormat, ExportType

CHUNK_ROWS = 1000
FLUSH_CHARACTERS = 64 * 1024
# the permission each export needs beyond membership (None: every member)
PERMISSIONS = {ExportType.PRODUCTS: None, ExportType.INVENTORY: None, ExportType.ORDERS: ORDERS_MANAGE,
               ExportType.CUSTOMERS: ORDERS_MANAGE}

COLUMNS = {
    ExportType.PRODUCTS: ["id", "name", "slug", "status", "category", "brand", "price", "in_stock", "variants",
                          "stock_quantity", "featured", "created_at", "updated_at", "published_at"],
    ExportType.INVENTORY: ["variant", "product", "product_name", "sku", "name", "options", "price", "stock_quantity",
                           "reserved", "available", "track_inventory", "allow_backorder", "low_stock"],
    ExportType.ORDERS: ["number", "created_at", "status", "payment_status", "email", "customer_name", "currency",
                        "subtotal", "discount", "shipping", "tax", "total", "refunded", "payment_method",
                        "shipping_method", "coupon", "items", "lines", "shipping_address"],
    ExportType.CUSTOMERS: ["email", "name", "orders", "paid_orders", "spent", "currency", "first_order_at",
                           "last_order_at", "registered"],
}


def _when(moment: datetime | None, store: Store) -> str | None:
    return moment.astimezone(store.zone).isoformat() if moment else None


def _products(store: Store) -> Iterator[dict]:
    currency = store.currency
    products = (Product.objects.filter(store=store).order_by("id")
                .annotate(variant_count=Count("variants"), on_hand=Sum("variants__stock_quantity"))
                .values_list("id", "name", "slug", "status", "category__slug", "brand", "price", "in_stock",
                             "variant_count", "on_hand", "featured", "created_at", "updated_at", "published_at"))
    for (pk, name, slug, status, category, brand, price, in_stock, variants, on_hand, featured, created_at,
         updated_at, published_at) in products.iterator(chunk_size=2000):
        yield {"id": pk, "name": name, "slug": slug, "status": status, "category": category, "brand": brand,
               "price": money_str(price, currency), "in_stock": in_stock, "variants": variants,
               "stock_quantity": on_hand or 0, "featured": featured, "created_at": _when(created_at, store),
               "updated_at": _when(updated_at, store), "published_at": _when(published_at, store)}


def _inventory(store: Store) -> Iterator[dict]:
    currency, threshold = store.currency, store.low_stock_threshold
    variants = inventory_list(store=store).values_list(
        "id", "product_id", "product__name", "sku", "name", "options", "price", "stock_quantity", "reserved",
        "available_units", "track_inventory", "allow_backorder")
    for (pk, product, product_name, sku, name, options, price, on_hand, reserved, available, tracked,
         backorder) in variants.iterator(chunk_size=2000):
        yield {"variant": pk, "product": product, "product_name": product_name, "sku": sku, "name": name,
               "options": options or {}, "price": money_str(price, currency), "stock_quantity": on_hand,
               "reserved": reserved, "available": available, "track_inventory": tracked,
               "allow_backorder": backorder, "low_stock": tracked and available <= threshold}


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _orders(store: Store) -> Iterator[dict]:
    """Orders oldest first, a chunk at a time: the chunk's lines and refunds in one query each (plain rows, no model
    instances: a million orders stream in minutes, not tens of them)."""
    columns = ("id", "number", "created_at", "status", "payment_status", "email", "customer_name", "currency",
               "subtotal", "discount", "shipping", "tax", "total", "payment_method", "shipping_method_name",
               "coupon_code", "shipping_address")
    orders = (Order.objects.filter(store=store).order_by("created_at", "id").values_list(*columns)
              .iterator(chunk_size=CHUNK_ROWS))
    for chunk in _chunks(orders, CHUNK_ROWS):
        ids = [row[0] for row in chunk]
        lines: dict[int, list[tuple]] = defaultdict(list)
        for order_id, *line in (OrderLine.objects.filter(order_id__in=ids).order_by("id").values_list(
                "order_id", "sku", "product_name", "variant_name", "quantity", "unit_price", "line_total")):
            lines[order_id].append(line)
        refunds = dict(Payment.objects.filter(order_id__in=ids, refunded_amount__gt=0).values("order_id")
                       .annotate(refunded=Sum("refunded_amount")).values_list("order_id", "refunded").order_by())
        for (pk, number, created_at, status, payment_status, email, customer_name, currency, subtotal, discount,
             shipping, tax, total, payment_method, shipping_method, coupon, address) in chunk:
            items = lines.get(pk, [])
            yield {
                "number": number, "created_at": _when(created_at, store), "status": status,
                "payment_status": payment_status, "email": email, "customer_name": customer_name,
                "currency": currency, "subtotal": money_str(subtotal, currency),
                "discount": money_str(discount, currency), "shipping": money_str(shipping, currency),
                "tax": money_str(tax, currency), "total": money_str(total, currency),
                "refunded": money_str(refunds.get(pk, ZERO), currency), "payment_method": payment_method,
                "shipping_method": shipping_method, "coupon": coupon,
                "items": sum(line[3] for line in items),
                "lines": [{"sku": sku, "name": f"{product_name} {variant_name}".strip(), "quantity": quantity,
                           "unit_price": money_str(unit_price, currency), "line_total": money_str(line_total, currency)}
                          for sku, product_name, variant_name, quantity, unit_price, line_total in items],
                "shipping_address": address or {},
            }


def _customers(store: Store) -> Iterator[dict]:
    """One row per email (in any case) that ordered in the store; ``spent``: the totals of its paid orders."""
    currency = store.currency
    customers = (Order.objects.filter(store=store).annotate(key=Lower("email")).values("key")
                 .annotate(name=Max("customer_name"), orders=Count("id"),
                           paid_orders=Count("id", filter=Q(payment_status__in=SOLD)),
                           spent=Sum("total", filter=Q(payment_status__in=SOLD)), first=Min("created_at"),
                           last=Max("created_at"), registered=Count("user_id"))
                 .order_by("key"))
    for row in customers.iterator(chunk_size=2000):
        yield {"email": row["key"], "name": row["name"], "orders": row["orders"], "paid_orders": row["paid_orders"],
               "spent": money_str(row["spent"] or ZERO, currency), "currency": currency,
               "first_order_at": _when(row["first"], store), "last_order_at": _when(row["last"], store),
               "registered": row["registered"] > 0}


ROWS: dict[str, Callable[[Store], Iterator[dict]]] = {
    ExportType.PRODUCTS: _products, ExportType.INVENTORY: _inventory, ExportType.ORDERS: _orders,
    ExportType.CUSTOMERS: _customers,
}


def _csv_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # an order's lines: "SKU-1 × 2; SKU-2 × 1"
        return csv_cell("; ".join(f"{item['sku']} × {item['quantity']}" if isinstance(item, dict) and "sku" in item
                                  else json.dumps(item, ensure_ascii=False) for item in value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
    return csv_cell(value)


class ExportStream:
    """Iterating gives the export's text in pieces of about FLUSH_CHARACTERS; ``rows`` counts what went out."""

    def __init__(self, *, store: Store, type: str, format: str) -> None:
        if type not in ROWS or format not in ExportFormat.values:
            raise ValueError(f"No {type}.{format} export.")
        self.store, self.type, self.format = store, type, format
        self.rows = 0

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self.format == ExportFormat.CSV else "application/json"

    def filename(self, moment: datetime) -> str:
        return f"{self.type}-{self.store.slug}-{moment.astimezone(self.store.zone):%Y%m%d-%H%M%S}.{self.format}"

    def __iter__(self) -> Iterator[str]:
        pieces = self._csv() if self.format == ExportFormat.CSV else self._json()
        buffer, size = [], 0
        for piece in pieces:
            buffer.append(piece)
            size += len(piece)
            if size >= FLUSH_CHARACTERS:
                yield "".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer)

    def _csv(self) -> Iterator[str]:
        writer, columns = csv.writer(Echo()), COLUMNS[self.type]
        yield writer.writerow(columns)
        for row in ROWS[self.type](self.store):
            self.rows += 1
            yield writer.writerow([_csv_value(row[column]) for column in columns])

    def _json(self) -> Iterator[str]:
        yield '{"success": true, "data": ['
        for row in ROWS[self.type](self.store):
            yield ("," if self.rows else "") + json.dumps(row, ensure_ascii=False)
            self.rows += 1
        yield f'], "timestamp": {json.dumps(now_iso())}}}'
