"""Maker services' writes: uploads (sign, local PUT, complete, analyse), quotes, a quote into a cart, print jobs
(service orders) and the BOM import. Business rules here; views and the admin call these.

A quote in a cart is an orders custom line (orders.services.custom): this module's ``quote_line_problem`` and
``quote_line_placed`` are its kind's callbacks, registered in MakerConfig.ready.
"""

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_record
from catalog.errors import PayloadTooLarge
from catalog.models import Variant
from config.api.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from config.celery import task_publish_on_commit
from config.money import money_round
from orders.models import Cart, OrderStatus
from orders.services import MAX_LINE_QUANTITY, cart_custom_line_add, cart_item_add

from . import storage
from .meshes import NotAModel, mesh_analyse, mesh_load, model_format
from .models import Material, Quality, Quote, ServiceOrder, ServiceStatus, Upload, UploadStatus

QUOTE_KIND = "quote"
MAX_QUOTE_QUANTITY = 1000
MAX_FILENAME_LENGTH = 255
MAX_BOM_ROWS = 200
MINUTES_PER_HOUR = Decimal(60)


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- uploads ---------------------------------------------------------------------------------------------------
def upload_sign(*, store, user, filename: str, size: int, local_path) -> tuple[Upload, storage.SignedPut]:
    """A new pending upload and where to PUT its file (``local_path(upload)``: this API's path, when the storage
    is local). Raises PayloadTooLarge (413) over MAKER_UPLOAD_MAX_BYTES, ValidationFailed (400) for a bad name or
    size."""
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not filename or len(filename) > MAX_FILENAME_LENGTH or "\x00" in filename:
        raise ValidationFailed("Name the file.", filename=[f"1 to {MAX_FILENAME_LENGTH} characters."])
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValidationFailed("The file's size in bytes.", size=["A whole number of bytes, at least 1."])
    limit = settings.MAKER_UPLOAD_MAX_BYTES
    if size > limit:
        raise PayloadTooLarge(f"Models of at most {limit} bytes are accepted.", size=[f"At most {limit} bytes."],
                              max_bytes=limit)
    upload = Upload(store=store, user=_user_or_none(user), filename=filename, declared_size=size)
    upload.storage_name = f"{store.pk}/{upload.pk}"
    upload.save(force_insert=True)
    return upload, storage.put_sign(name=upload.storage_name, size=size, upload_id=upload.pk,
                                    local_path=local_path(upload))


def upload_get(*, store, upload_id, user=None) -> Upload:
    """The store's upload ``upload_id``: a signed-in customer's is theirs only, an anonymous one is whoever's holds
    its id. Raises NotFound (404) otherwise (a malformed id too)."""
    pk = _uuid_or_none(upload_id)
    upload = Upload.objects.select_related("store").filter(pk=pk, store=store).first() if pk else None
    user = _user_or_none(user)
    if upload is None or (upload.user_id is not None and (user is None or user.pk != upload.user_id)):
        raise NotFound("No such upload.")
    return upload


def upload_file_put(*, upload: Upload, token: str, body) -> Upload:
    """The local storage's PUT: writes ``body`` (a stream) as the upload's file when ``token`` is this upload's
    valid signed token and the body is exactly the declared size. Raises PermissionDenied (403) for a bad or
    expired token, ValidationFailed (400) for a body of another size or an upload no longer pending,
    PayloadTooLarge (413) past the limit."""
    claims = storage.put_token_read(token)
    if claims is None or claims.get("upload") != str(upload.pk):
        raise PermissionDenied("This upload URL is invalid or has expired; sign a new one.")
    if upload.status != UploadStatus.PENDING:
        raise ValidationFailed("This upload is already complete.", file=["This upload is already complete."])
    limit = min(upload.declared_size, settings.MAKER_UPLOAD_MAX_BYTES)
    data = body.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than the {limit} bytes declared.", file=[f"At most {limit} bytes."])
    if len(data) != upload.declared_size:
        message = f"The body has {len(data)} bytes; {upload.declared_size} were declared."
        raise ValidationFailed(message, file=[message])
    storage.file_write(name=upload.storage_name, data=data)
    return upload


def _reject(upload: Upload, reason: str) -> None:
    """Marks a pending upload rejected (its own commit: the refusal that follows must not roll it back) and drops
    its file."""
    Upload.objects.filter(pk=upload.pk, status=UploadStatus.PENDING).update(
        status=UploadStatus.REJECTED, error=reason[:300], updated_at=timezone.now())
    storage.file_delete(upload.storage_name)
    upload.status, upload.error = UploadStatus.REJECTED, reason[:300]


def upload_complete(*, upload: Upload) -> Upload:
    """Checks the uploaded file (its size, then that it parses as STL, OBJ or 3MF, read from its content) and
    queues its analysis (upload_analyse, a task enqueued on commit with the upload's id). A completed upload is
    answered as it is (one still processing has its analysis queued again: a retry resumes a lost task).

    Raises ValidationFailed (400, details.file) when nothing was uploaded or the file is not a readable model, and
    PayloadTooLarge (413) past MAKER_UPLOAD_MAX_BYTES; the upload is rejected then (except when nothing came)."""
    if upload.status == UploadStatus.PROCESSING:
        # a retry while it is analysed: queue the analysis again, in case its task was lost (a broker outage after
        # COMMIT); upload_analyse only ever analyses a processing upload, so a duplicate is harmless
        _analyse_queue(upload)
        return upload
    if upload.status != UploadStatus.PENDING:
        return upload
    limit = settings.MAKER_UPLOAD_MAX_BYTES
    size = storage.file_size(upload.storage_name)
    if size is None:
        raise ValidationFailed("Nothing was uploaded yet: PUT the file to the signed URL first.",
                               file=["Nothing was uploaded."])
    if size > limit:
        _reject(upload, f"Larger than {limit} bytes.")
        raise PayloadTooLarge(f"Models of at most {limit} bytes are accepted.", file=[f"At most {limit} bytes."],
                              max_bytes=limit)
    data = storage.file_read(upload.storage_name, limit=limit)
    try:
        kind = model_format(data)
        mesh_load(data, kind)
    except NotAModel as exc:
        _reject(upload, str(exc))
        raise ValidationFailed(f"{exc} Only STL, OBJ and 3MF models are accepted.", file=[str(exc)]) from None
    with transaction.atomic():
        moved = Upload.objects.filter(pk=upload.pk, status=UploadStatus.PENDING).update(
            status=UploadStatus.PROCESSING, format=kind, size=len(data), updated_at=timezone.now())
        if moved:
            _analyse_queue(upload)
    return Upload.objects.select_related("store").get(pk=upload.pk)


def _analyse_queue(upload: Upload) -> None:
    from .tasks import upload_analyse_task

    task_publish_on_commit(upload_analyse_task, str(upload.pk))


def upload_analyse(*, upload_id) -> Upload | None:
    """The worker's part: volume (cm³), bounding box (mm) and triangle count of a processing upload, stored; the
    upload becomes ready, or rejected when the model is not closed (watertight: its volume would mean nothing).
    Safe to run twice: only a processing upload is analysed."""
    upload = Upload.objects.filter(pk=upload_id, status=UploadStatus.PROCESSING).first()
    if upload is None:
        return None
    try:
        data = storage.file_read(upload.storage_name, limit=settings.MAKER_UPLOAD_MAX_BYTES)
        analysis = mesh_analyse(data, upload.format or None)
    except (NotAModel, FileNotFoundError) as exc:
        values = {"status": UploadStatus.REJECTED, "error": str(exc)[:300] or "The file could not be read."}
    else:
        values = {"volume_cm3": analysis.volume_cm3 if analysis.watertight else None, "size_x_mm": analysis.size_mm[0],
                  "size_y_mm": analysis.size_mm[1], "size_z_mm": analysis.size_mm[2],
                  "triangle_count": analysis.triangle_count, "analysed_at": timezone.now()}
        if analysis.watertight and analysis.volume_cm3 > 0:
            values["status"] = UploadStatus.READY
        else:
            values.update(status=UploadStatus.REJECTED,
                          error="The model is not closed (watertight), so its volume cannot be measured; repair "
                                "it (close its holes) and upload it again.")
    Upload.objects.filter(pk=upload.pk, status=UploadStatus.PROCESSING).update(**values, updated_at=timezone.now())
    upload.refresh_from_db()
    return upload


# --- quotes ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Price:
    machine_hours: Decimal
    material_cost: Decimal
    machine_cost: Decimal
    unit_price: Decimal
    setup_fee: Decimal
    total: Decimal


def quote_price(*, material: Material, quality: str, volume_cm3: Decimal, quantity: int, currency: str) -> Price:
    """(volume × price per cm³ + machine hours × hourly rate) × quantity + setup fee. Each piece's material and
    machine costs are rounded half-up to the currency's places (config.money.money_round), so the breakdown adds
    up to the total exactly."""
    hours = (volume_cm3 * Decimal(material.minutes_per_cm3(quality)) / MINUTES_PER_HOUR).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP)
    material_cost = money_round(volume_cm3 * material.price_per_cm3, currency)
    machine_cost = money_round(hours * material.machine_hourly_rate, currency)
    unit_price = material_cost + machine_cost
    setup_fee = money_round(material.setup_fee, currency)
    return Price(machine_hours=hours, material_cost=material_cost, machine_cost=machine_cost, unit_price=unit_price,
                 setup_fee=setup_fee, total=money_round(unit_price * quantity + setup_fee, currency))


@transaction.atomic
def quote_create(*, store, upload: Upload, material_id, quality: str, quantity: int, user=None) -> Quote:
    """A quote for printing ``upload`` in the store's material at ``quality``, ``quantity`` times, valid for
    MAKER_QUOTE_VALID_HOURS. Raises ValidationFailed (400) for an upload not ready (still analysed, or rejected),
    an unknown or inactive material, an unknown quality or a bad quantity."""
    errors: dict[str, list[str]] = {}
    if upload.status == UploadStatus.REJECTED:
        errors["upload"] = [f"The model was rejected: {upload.error}"]
    elif upload.status != UploadStatus.READY:
        errors["upload"] = ["The model has not been analysed yet."]
    material = (Material.objects.filter(pk=material_id, store=store, is_active=True).first()
                if isinstance(material_id, int) and not isinstance(material_id, bool) else None)
    if material is None:
        errors["material"] = ["Unknown material."]
    if quality not in Quality.values:
        errors["quality"] = [f"One of {', '.join(Quality.values)}."]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUOTE_QUANTITY:
        errors["quantity"] = [f"Between 1 and {MAX_QUOTE_QUANTITY}."]
    if errors:
        raise ValidationFailed("This cannot be quoted.", **errors)
    price = quote_price(material=material, quality=quality, volume_cm3=upload.volume_cm3, quantity=quantity,
                        currency=store.currency)
    return Quote.objects.create(
        store=store, upload=upload, user=_user_or_none(user), material=material, material_name=material.name,
        quality=quality, quantity=quantity, currency=store.currency, volume_cm3=upload.volume_cm3,
        machine_hours=price.machine_hours, material_cost=price.material_cost, machine_cost=price.machine_cost,
        unit_price=price.unit_price, setup_fee=price.setup_fee, total=price.total,
        expires_at=timezone.now() + timedelta(hours=settings.MAKER_QUOTE_VALID_HOURS))


def quote_get(*, store, quote_id, user=None) -> Quote:
    """The store's quote ``quote_id`` (a signed-in customer's is theirs only). Raises NotFound (404) otherwise."""
    pk = _uuid_or_none(quote_id)
    quote = Quote.objects.select_related("upload", "store").filter(pk=pk, store=store).first() if pk else None
    user = _user_or_none(user)
    if quote is None or (quote.user_id is not None and (user is None or user.pk != quote.user_id)):
        raise NotFound("No such quote.")
    return quote


def quote_problem(quote: Quote | None, *, now=None) -> str | None:
    """Why ``quote`` cannot be bought now, or None."""
    now = now or timezone.now()
    if quote is None:
        return "This quote no longer exists."
    if quote.ordered_at is not None:
        return "This quote has already been ordered."
    if quote.expires_at <= now:
        return "This quote has expired; ask for a new quote."
    return None


def quote_line_name(quote: Quote) -> str:
    return (f"3D print: {quote.upload.filename}, {quote.material_name}, {quote.get_quality_display().lower()}, "
            f"× {quote.quantity}")


def quote_cart_add(*, cart: Cart, quote: Quote):
    """Puts ``quote`` in the cart as one line at the quote's total (a print job of ``quote.quantity`` pieces).
    Raises ValidationFailed (400) for a quote of another store, expired or already ordered, or already in it."""
    if quote.store_id != cart.store_id:
        raise NotFound("No such quote.")
    if problem := quote_problem(quote):
        raise ValidationFailed(problem, quote=[problem])
    return cart_custom_line_add(cart=cart, reference=quote.reference, name=quote_line_name(quote),
                                unit_price=quote.total, quantity=1)


def _quote_of(*, store, reference: str) -> Quote | None:
    pk = _uuid_or_none(reference.partition(":")[2])
    return Quote.objects.filter(pk=pk, store=store).first() if pk else None


def quote_line_problem(*, store, reference: str) -> str | None:
    """The custom line kind's check (cart view, checkout): why the quoted line cannot be bought now."""
    return quote_problem(_quote_of(store=store, reference=reference))


def quote_line_placed(*, store, order, line, actor=None) -> ServiceOrder:
    """The custom line kind's claim, in checkout's transaction: the quote is marked ordered by one conditional
    UPDATE (still unordered, not expired), and its print job is queued. Raises ValidationFailed (400), which rolls
    the checkout back, when another checkout took it first or it expired meanwhile."""
    quote = _quote_of(store=store, reference=line.reference)
    now = timezone.now()
    claimed = quote is not None and Quote.objects.filter(pk=quote.pk, store=store, ordered_at__isnull=True,
                                                         expires_at__gt=now).update(ordered_at=now)
    if not claimed:
        problem = quote_problem(Quote.objects.filter(pk=quote.pk).first() if quote else None, now=now) \
            or "This quote can no longer be bought."
        raise ValidationFailed("Some items can no longer be bought.", cart=[f"{line.product_name}: {problem}"])
    service_order = ServiceOrder.objects.create(store=store, order=order, order_line=line, quote=quote)
    audit_record(store=store, actor=actor, action="maker.service_order.created", target=service_order,
                 changes={"order": order.number, "quote": str(quote.pk), "status": service_order.status})
    return service_order


def service_orders_describe(lines) -> dict[int, dict]:
    """The order answer's ``service`` of each quoted line (orders.selectors' line details reader): one query."""
    rows = (ServiceOrder.objects.filter(order_line_id__in=[line.pk for line in lines])
            .select_related("quote"))
    return {row.order_line_id: {"id": row.pk, "status": row.status, "quote": str(row.quote_id),
                                "upload": str(row.quote.upload_id), "material": row.quote.material_name,
                                "quality": row.quote.quality, "quantity": row.quote.quantity,
                                "updated_at": row.updated_at.isoformat()}
            for row in rows}


# --- print jobs ------------------------------------------------------------------------------------------------
SERVICE_TRANSITIONS = {
    ServiceStatus.QUEUED: {ServiceStatus.PRINTING},
    ServiceStatus.PRINTING: {ServiceStatus.SHIPPED},
    ServiceStatus.SHIPPED: set(),
}
# a job is printed only for an order the store has taken on: paid (processing), or cash on delivery (processing)
ORDER_STATUSES_FOR_PRINTING = {OrderStatus.PROCESSING, OrderStatus.COMPLETED}


@transaction.atomic
def service_order_move(*, service_order: ServiceOrder, status: str, actor=None) -> ServiceOrder:
    """Moves a print job queued → printing → shipped in one conditional UPDATE, with an audit row. Raises
    ValidationFailed (400) for an unknown status, InvalidTransition (409) for any other move or while its order
    is not processing or completed (unpaid card orders, cancelled, refunded); nothing changes then."""
    if status not in ServiceStatus.values:
        raise ValidationFailed("Unknown status.", status=[f"One of {', '.join(ServiceStatus.values)}."])
    current = ServiceOrder.objects.select_for_update().select_related("order", "store").filter(
        pk=service_order.pk).first()
    if current is None:
        raise NotFound("No such print job.")
    if status not in SERVICE_TRANSITIONS[current.status]:
        raise InvalidTransition(f"A {current.status} print job cannot become {status}.", status=current.status,
                                to=status)
    if current.order.status not in ORDER_STATUSES_FOR_PRINTING:
        raise InvalidTransition(f"Its order {current.order.number} is {current.order.status}: a print job moves "
                                f"only for a processing or completed order.", status=current.status, to=status)
    ServiceOrder.objects.filter(pk=current.pk, status=current.status).update(status=status, updated_at=timezone.now())
    audit_record(store=current.store, actor=actor, action="maker.service_order.status_changed", target=current,
                 changes={"status": [current.status, status], "order": current.order.number})
    current.status = status
    return current


# --- retention and erasure (privacy's rules call these) ---------------------------------------------------------
def _uploads_delete(uploads) -> int:
    """Deletes ``uploads`` but those with an ordered quote (the merchant prints from them), with their quotes, and
    their files once the rows are gone (after COMMIT). Answers how many uploads went."""
    rows = list(uploads.exclude(quotes__ordered_at__isnull=False).values_list("pk", "storage_name"))
    if not rows:
        return 0
    pks, names = [pk for pk, _ in rows], [name for _, name in rows]
    with transaction.atomic():
        Quote.objects.filter(upload_id__in=pks, ordered_at__isnull=True).delete()
        deleted = Upload.objects.filter(pk__in=pks).delete()[1].get(Upload._meta.label, 0)
        transaction.on_commit(partial(_files_delete, names))
    return deleted


def _files_delete(names: list[str]) -> None:
    for name in names:
        storage.file_delete(name)


def uploads_prune(*, now=None, dry_run: bool = False) -> int:
    """Retention: uploads made more than MAKER_UPLOAD_RETENTION_DAYS ago that were never ordered go, with their
    quotes and files (0 keeps them for ever). Answers how many went (dry: would)."""
    days = settings.MAKER_UPLOAD_RETENTION_DAYS
    if not days:
        return 0
    old = Upload.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days))
    if dry_run:
        return old.exclude(quotes__ordered_at__isnull=False).count()
    return _uploads_delete(old)


def uploads_of_user_erase(*, user_id: int) -> int:
    """Erasure: the person's uploads never ordered go (quotes and files too); those in an order stay, for the
    store's print job, unlinked from them, as their quotes are. Answers how many uploads went."""
    deleted = _uploads_delete(Upload.objects.filter(user_id=user_id))
    Upload.objects.filter(user_id=user_id).update(user=None)
    Quote.objects.filter(user_id=user_id).update(user=None)
    return deleted


# --- materials (admin) -----------------------------------------------------------------------------------------
def materials_active(*, store):
    return Material.objects.filter(store=store, is_active=True).order_by("name", "id")


# --- BOM import ------------------------------------------------------------------------------------------------
@dataclass
class BomReport:
    cart: Cart
    added: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def _bom_rows(text: str) -> list[tuple[int, str, str]]:
    """(row number, sku, quantity text) of each non-empty CSV row; a first row "sku,quantity" is a header."""
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() == "sku":
            continue
        rows.append((number, cells[0] if cells else "", cells[1] if len(cells) > 1 else ""))
    return rows


def cart_bom_import(*, cart: Cart, text: str) -> BomReport:
    """Adds each ``sku,quantity`` row of a CSV to the cart through orders.services.cart_item_add (the same checks:
    published, stock, quantity, cart size), each row on its own: the rows that cannot be added are reported with
    why (row, sku, code, message) and the others stay added. At most MAX_BOM_ROWS rows (else ValidationFailed,
    nothing added)."""
    if not isinstance(text, str) or "\x00" in text:
        raise ValidationFailed("A CSV of sku,quantity rows.", csv=["A CSV of sku,quantity rows."])
    try:
        rows = _bom_rows(text)
    except csv.Error as exc:
        raise ValidationFailed(f"Not a readable CSV: {exc}.", csv=[f"Not a readable CSV: {exc}."]) from None
    if not rows:
        raise ValidationFailed("The CSV has no rows.", csv=["No sku,quantity rows."])
    if len(rows) > MAX_BOM_ROWS:
        raise ValidationFailed(f"At most {MAX_BOM_ROWS} rows.", csv=[f"At most {MAX_BOM_ROWS} rows."])
    variants = {variant.sku: variant.pk for variant in Variant.objects.filter(
        store_id=cart.store_id, sku__in={sku for _, sku, _ in rows if sku}).only("pk", "sku")}
    report = BomReport(cart=cart)
    for number, sku, quantity_text in rows:
        problem = {"row": number, "sku": sku, "quantity": quantity_text}
        try:
            quantity = int(quantity_text)
        except ValueError:
            report.failed.append({**problem, "code": "VALIDATION_ERROR", "message": "The quantity is not a number."})
            continue
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            report.failed.append({**problem, "code": "VALIDATION_ERROR",
                                  "message": f"The quantity must be between 1 and {MAX_LINE_QUANTITY}."})
            continue
        if sku not in variants:
            report.failed.append({**problem, "code": "NOT_FOUND", "message": "No product of this store has this SKU."})
            continue
        try:
            cart_item_add(cart=cart, variant_id=variants[sku], quantity=quantity)
        except DomainError as exc:
            report.failed.append({**problem, "code": exc.code, "message": exc.message})
            continue
        report.added.append({"row": number, "sku": sku, "quantity": quantity, "variant": variants[sku]})
    return report
