"""Settings for the test suite: the real settings, with test-only keys and a fast hasher.

DATABASE_URL and REDIS_URL switch the suite to PostgreSQL and Redis as they do the app.
"""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5ISE=")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("CACHE_KEY_PREFIX", f"test{os.getpid()}")
os.environ.setdefault("DEMO_HISTORY_DAYS", "0")  # seed_demo without the dashboard's 90 days: its tests set it
os.environ.setdefault("EXPORTS_ROOT", str(Path(__file__).resolve().parent.parent / ".test-media" / "exports"))
os.environ.setdefault("MAKER_UPLOADS_ROOT", str(Path(__file__).resolve().parent.parent / ".test-media" / "maker"))

from config.settings import *  # noqa: E402,F403

# Argon2 is deliberately slow; the suite hashes thousands of passwords.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405

# Tasks run inline in tests; the integration tests start a real worker with CELERY_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_EAGER", "1") == "1"

# One process runs every test: a local-memory cache (no table to create, no database access in tests without one).
# The servers of the integration tests run the real default, the database cache (tests/integration/sqlite_settings.py).
if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "store"}}

# One process plays every "worker" in a test: the per-worker micro-cache would let one test's pages
# answer the next one's requests for the same store id. Tests of it turn it on themselves.
CATALOG_CACHE_LOCAL_MS = 0

# Stores without a plan have no limits in the suite: the plan limits show only in the tests about them, which put
# their stores on a plan (plans/tests, billing/tests).
PLAN_DEFAULT = ""
