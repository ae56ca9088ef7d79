"""The servers of test_sqlite_checkout: the test settings with every throttle off.

Every buyer of the race comes from 127.0.0.1; with the per-IP limits on, the test would
measure 429 answers instead of the checkout.
"""

from config.settings_test import *  # noqa: F403
from config.settings_test import REST_FRAMEWORK, THROTTLE_RATES

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(THROTTLE_RATES)}
