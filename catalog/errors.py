from config.api.errors import DomainError


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = 413
    default_message = "The file is too large."


class CategoryInUse(DomainError):
    default_message = "The category has sub-categories; move or delete them first."


class ProductInUse(DomainError):
    default_message = "The product is referenced by orders; archive it instead."


class NotPublished(DomainError):
    default_message = "Only published products take reviews."


class OutOfStock(DomainError):
    """Fewer units available than wanted, or on-hand stock that would fall below zero or below what open
    orders hold; details name the variant(s) and what is available."""

    code = "OUT_OF_STOCK"
    default_message = "Not enough stock."
