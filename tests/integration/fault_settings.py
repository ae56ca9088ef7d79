"""The Celery workers of the fault tests (tests/integration/test_fault_worker.py): the test settings, with the Redis
broker handing back a killed worker's unacknowledged message as soon as its visibility timeout
(CELERY_VISIBILITY_TIMEOUT_SECONDS, a few seconds there) has run out: kombu looks every second instead of every
100 s."""

from config.settings_test import *  # noqa: F403
from config.settings_test import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "unacked_restore_interval": 1,
                                   "unacked_restore_throttle": 1}
