from config.api.errors import DomainError


class CurrencyPlacesConflict(DomainError):
    default_message = "The store's prices do not fit the new currency's decimal places."
