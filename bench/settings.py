"""The production settings for the benchmarks (bench/run.sh, bench/checkout.sh), with the throttles off.

Every load-generator connection comes from 127.0.0.1: with the anonymous throttle on
(100/min), or a scoped one, the benchmark would measure 429 answers. Everything else is
config.settings as deployed (DEBUG off, persistent connections, Redis when REDIS_URL is set).
"""

from config.settings import *  # noqa: F403
from config.settings import REST_FRAMEWORK, THROTTLE_RATES

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(THROTTLE_RATES)}

# The benchmarks measure the store, not its plan's limits: the bench store has none (its monthly orders would run
# out mid-run on the default Free plan).
PLAN_DEFAULT = ""
