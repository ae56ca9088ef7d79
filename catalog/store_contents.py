"""What a store's catalog says when the store itself changes. stores does not import catalog (a store does
not know what it sells): CatalogConfig.ready hands these to ``stores.services.store_contents_register``."""

from stores.errors import CurrencyPlacesConflict
from stores.models import Store
from stores.services import StoreContents, store_contents_register

from .cache import catalog_cache_invalidate
from .selectors import store_prices_fit


def currency_check(*, store: Store, currency: str) -> None:
    """Raises CurrencyPlacesConflict (409) when some variant price of the store cannot be written in
    ``currency`` without rounding."""
    if not store_prices_fit(store=store, currency=currency):
        raise CurrencyPlacesConflict(currency=[f"Some prices have more decimal places than {currency} allows; "
                                               "change them first."])


def public_pages_invalidate(*, store: Store) -> None:
    """The cached public catalog answers show the store's name, currency and existence."""
    catalog_cache_invalidate(store.pk)


CATALOG_CONTENTS = StoreContents(currency_check=currency_check, public_pages_invalidate=public_pages_invalidate)


def register() -> None:
    store_contents_register(CATALOG_CONTENTS)
