"""The servers of the SQLite integration tests: the test settings with every throttle off, and the cache as the
embedded default runs it (the database cache both servers share, the per-worker micro-cache on).

Every buyer of the race comes from 127.0.0.1; with the per-IP limits on, the test would
measure 429 answers instead of the checkout.
"""

from config import settings as embedded
from config.settings_test import *  # noqa: F403
from config.settings_test import REST_FRAMEWORK, THROTTLE_RATES

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(THROTTLE_RATES)}
CACHES = embedded.CACHES
CATALOG_CACHE_LOCAL_MS = embedded.CATALOG_CACHE_LOCAL_MS
