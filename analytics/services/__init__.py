"""Analytics writes: the daily rollups (``rollup``), storefront events (``events``) and exports run by a worker
(``exports``). Callers import from ``analytics.services``."""

from .events import MAX_BATCH, event_check, events_prune, events_record
from .exports import (
    export_check,
    export_link_check,
    export_request,
    export_run,
    export_streamed_record,
    export_url,
    exports_purge,
    exports_storage,
)
from .rollup import (
    OVERLAP,
    events_kept_from,
    metrics_days_refresh,
    metrics_rebuild,
    metrics_refresh,
    rollup_live_from,
    store_first_day,
)

__all__ = [
    "MAX_BATCH", "OVERLAP", "event_check", "events_kept_from", "events_prune", "events_record", "export_check",
    "export_link_check", "export_request", "export_run", "export_streamed_record", "export_url", "exports_purge",
    "exports_storage", "metrics_days_refresh", "metrics_rebuild", "metrics_refresh", "rollup_live_from",
    "store_first_day",
]
