from .erasure import (
    account_delete,
    account_delete_check,
    account_erase,
    guest_erase,
    guest_orders_erase_expired,
    orders_erase,
)
from .exports import (
    ExportInProgress,
    data_export_collect,
    data_export_link_check,
    data_export_request,
    data_export_run,
    data_export_url,
    data_exports_purge,
)
from .retention import KINDS, RetentionKind, retention_enforce, retention_kinds

__all__ = [
    "KINDS", "RetentionKind", "retention_enforce", "retention_kinds",
    "account_delete", "account_delete_check", "account_erase", "guest_erase", "guest_orders_erase_expired",
    "orders_erase",
    "ExportInProgress", "data_export_collect", "data_export_link_check", "data_export_request", "data_export_run",
    "data_export_url", "data_exports_purge",
]
