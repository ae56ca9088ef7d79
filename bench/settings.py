"""The production settings for bench/run.sh, with the per-IP throttles off.

Every wrk connection comes from 127.0.0.1: with the anonymous throttle on (100/min)
the benchmark would measure 429 answers. Everything else is config.settings as
deployed (DEBUG off, persistent connections, Redis when REDIS_URL is set).
"""

from config.settings import *  # noqa: F403
from config.settings import REST_FRAMEWORK, THROTTLE_RATES

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**THROTTLE_RATES, "anon": None, "user": None}}
