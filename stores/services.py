"""Store writes. Each service owns its transaction and writes its audit entry in it."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from auditlog.services import audit_diff, audit_record
from config.api.errors import AlreadyExists, ValidationFailed
from config.slugs import slug_unique
from plans.services import plan_feature_check
from teams.models import Membership
from teams.permissions import OWNER

from .models import Store, time_zone_known

SLUG_MAX_LENGTH = Store._meta.get_field("slug").max_length
# Paths that a store slug would shadow or confuse.
RESERVED_SLUGS = frozenset({"admin", "api", "new", "me", "static", "media"})


def _slug_from_name(name: str) -> str:
    source = slugify(name) or "store"
    if source in RESERVED_SLUGS:
        source = f"{source}-store"
    return slug_unique(source=source, taken_in=Store.objects.all(), max_length=SLUG_MAX_LENGTH, fallback="store",
                       ignore_case=True)


def store_slug_check(*, slug: str, store: Store | None = None) -> None:
    """Raises AlreadyExists (409) for a reserved slug or one another store has in any case ("Shop" takes
    "shop"); give it lower-cased."""
    others = Store.objects.exclude(pk=store.pk) if store is not None else Store.objects.all()
    if slug in RESERVED_SLUGS or others.filter(slug__iexact=slug).exists():
        raise AlreadyExists("This store slug is taken.", slug=["This store slug is taken."])


def store_timezone_check(*, timezone: str) -> None:
    """Raises ValidationFailed (400) unless ``timezone`` is an IANA time zone name ("Africa/Tripoli", "UTC")."""
    if not time_zone_known(timezone):
        raise ValidationFailed("Unknown time zone.", timezone=["Not a time zone name (IANA, e.g. Africa/Tripoli)."])


@transaction.atomic
def store_create(
    *, owner, name: str, currency: str, slug: str | None = None, actor=None, **fields
) -> Store:
    """Creates a store, makes ``owner`` its owner member and records ``store.created``: all or nothing.

    Without ``slug`` one is made from the name (made unique); a given slug is lower-cased, and one
    that is taken in any case ("Shop" takes "shop") raises AlreadyExists (409). ``actor`` is who
    created it (None: the system).
    """
    if "timezone" in fields:
        store_timezone_check(timezone=fields["timezone"])
    if slug:
        # One store per slug whatever its case: "Alpha" beside "alpha" would pass for the other store.
        slug = slug.lower()
        store_slug_check(slug=slug)
    try:
        with transaction.atomic():
            store = Store.objects.create(
                owner=owner, name=name, currency=currency, slug=slug or _slug_from_name(name), **fields
            )
    except IntegrityError:  # a concurrent create took the slug between the check and the insert
        raise AlreadyExists("This store slug is taken.", slug=["This store slug is taken."]) from None
    if store.email_sender:
        plan_feature_check(store=store, feature="custom_email_sender")
    Membership.objects.create(store=store, user=owner, role=OWNER)
    audit_record(store=store, actor=actor, action="store.created", target=store,
                 changes={name: getattr(store, name) for name in ("name", "slug", "currency", "owner")})
    return store


@dataclass(frozen=True)
class StoreContents:
    """What a store sells, as far as a change to the store goes. A store does not know what it sells:
    stores never imports catalog; catalog calls down once at startup (CatalogConfig.ready) to hand
    these two over with ``store_contents_register``. Both run synchronously in the caller's transaction.

    - ``currency_check(store=, currency=)`` raises (CurrencyPlacesConflict, 409) when the store's
      prices cannot be written in ``currency``;
    - ``public_pages_invalidate(store=)`` makes cached public answers that show the store stale.
    """

    currency_check: Callable[..., None]
    public_pages_invalidate: Callable[..., None]


_contents: list[StoreContents] = []


def store_contents_register(contents: StoreContents) -> None:
    """Called once by each app that holds what stores sell (catalog), from its AppConfig.ready."""
    if contents not in _contents:
        _contents.append(contents)


def store_currency_check(*, store: Store, currency: str) -> None:
    """Raises CurrencyPlacesConflict (409) when some of the store's prices have more decimal places than
    ``currency`` allows (19.995 LYD cannot become USD); the registered contents (catalog) answer."""
    if currency == store.currency:
        return
    for contents in _contents:
        contents.currency_check(store=store, currency=currency)


def store_public_pages_invalidate(*, store: Store) -> None:
    """Cached public answers show the store's name, currency and existence: drop them."""
    for contents in _contents:
        contents.public_pages_invalidate(store=store)


UPDATABLE_FIELDS = frozenset(
    {"name", "description", "currency", "contact_email", "tax_rate", "prices_include_tax", "low_stock_threshold",
     "logo", "timezone", "email_sender"}
)
# Only platform superusers change these, in the admin (``platform=True``).
PLATFORM_FIELDS = frozenset({"slug", "owner", "is_active"})


@transaction.atomic
def store_update(*, store: Store, actor=None, platform: bool = False, **changes) -> Store:
    """Changes a store's settings and records ``store.updated`` with each changed field's old and new value.

    Never its slug, owner or is_active unless ``platform`` (a superuser in the admin); other
    names are ignored (the plan: plans.services.store_plan_set). Changing nothing writes nothing. Raises
    CurrencyPlacesConflict (409) for a currency some of the store's prices cannot be written in without rounding,
    PlanLimitReached (403) for an ``email_sender`` on a plan without the custom email sender.
    """
    allowed = UPDATABLE_FIELDS | PLATFORM_FIELDS if platform else UPDATABLE_FIELDS
    values = {name: value for name, value in changes.items() if name in allowed}
    before = {name: getattr(store, name) for name in values}
    changed = list(audit_diff(before, values))
    if not changed:
        return store
    if "currency" in changed:
        store_currency_check(store=store, currency=values["currency"])
    if "timezone" in changed:
        store_timezone_check(timezone=values["timezone"])
    if "email_sender" in changed and values["email_sender"]:
        plan_feature_check(store=store, feature="custom_email_sender")
    for name in changed:
        setattr(store, name, values[name])
    store.save(update_fields=[*changed, "updated_at"])
    # read back after the save: an uploaded logo is recorded by its stored name
    audit_record(store=store, actor=actor, action="store.updated", target=store,
                 changes={name: [before[name], getattr(store, name)] for name in changed})
    store_public_pages_invalidate(store=store)
    return store


@transaction.atomic
def store_deactivate(*, store: Store, actor=None) -> None:
    """Hides a store from the public (its storefront answers 404 to everyone but members) and records
    ``store.deactivated``; an inactive store stays as it is and records nothing.

    Nothing is deleted; a platform superuser can switch it back on in the admin.
    """
    deactivated = Store.objects.filter(pk=store.pk, is_active=True).update(is_active=False)
    store.is_active = False
    if deactivated:
        audit_record(store=store, actor=actor, action="store.deactivated", target=store,
                     changes={"is_active": [True, False]})
    store_public_pages_invalidate(store=store)
