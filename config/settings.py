"""One settings file: runs with zero environment variables (SQLite, eager Celery,
local media, console email) and switches to production parts when they are set.
The variables are those of DESIGN.md's settings table."""

import base64
import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development)."
        )
    SECRET_KEY = "dev-insecure-only-for-debug-0123456789abcdefghijklmnopqrstuvwxyz"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_FAILURE_VIEW = "config.api.views.csrf_failure"  # JSON under /api/, Django's page elsewhere
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ["http://localhost:8000", "http://127.0.0.1:8000"])
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", ["http://localhost:3000", "http://127.0.0.1:3000"])
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "Idempotent-Replayed"]
CORS_ALLOW_HEADERS = (
    "accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with",
    "x-request-id", "x-api-key", "idempotency-key",
    "last-event-id", "cache-control",  # what EventSource sends when it reconnects to GET /api/v1/stream
)

INSTALLED_APPS = [
    # the admin's theme (django-unfold): its templates and static files before Django's; BasicAppConfig leaves
    # the site ours (teams.admin_base.StoreAdminSite), where unfold's default config would put its own in place
    "unfold.apps.BasicAppConfig",
    "teams.apps.StoreAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "storages",
    "config.api",
    "accounts",
    "plans",
    "stores",
    "teams",
    "features",
    "catalog",
    "orders",
    "payments",
    "auditlog",
    "notifications",
    "analytics",
    "privacy",
    "billing",
    # social login (social/, README "Social login"): allauth's models and provider flows, headless; its own pages,
    # forms and emails are never served (social.urls mounts only the providers' callbacks)
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.headless",
    "social",
    "live",
    "maker",
]

MIDDLEWARE = [
    "config.api.middleware.RequestIDMiddleware",
    "config.metrics.MetricsMiddleware",  # every answer by route and status, timed (GET /metrics)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.api.middleware.BodySizeLimitMiddleware",
    "config.api.middleware.ServiceOutageMiddleware",  # a database or cache outage outside DRF: 503, not 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # required by allauth: the request in its context
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False  # API paths accept both forms through their own patterns

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"  # set but empty: the default
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several server processes may write at once: WAL lets readers go on while one
    # writes, IMMEDIATE takes the write lock at BEGIN (no lock upgrade deadlocks) and
    # the busy timeout makes a second writer wait instead of failing "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache, Celery ----------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "store"),
            # a Redis that stopped answering fails a call within 2 s, and then every call at once for a few seconds
            # (config.cache.BreakerRedis), so requests slow down by at most that, never hang
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2,
                        "REDIS_CLIENT_CLASS": "config.cache.BreakerRedis"},
        }
    }
else:
    # No Redis: Django's database cache in the app's own database, so every server process (gunicorn -w N) shares the
    # login lockout, the throttles and the catalog's generations (a local-memory cache would keep them per process).
    # `migrate` creates its table (config.api.apps: createcachetable after every migrate). bench/shared_cache.py
    # measured it against the file-based cache (docs/PERFORMANCE.md, "The cache without Redis").
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache_entries",
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 10000)},
        }
    }

# Public catalog answers cached per store generation (catalog.cache); 0 switches it off.
CATALOG_CACHE_SECONDS = env_int("CATALOG_CACHE_SECONDS", 300)
CATALOG_COUNT_CACHE_SECONDS = env_int("CATALOG_COUNT_CACHE_SECONDS", 300)
# Per-worker micro-cache: a worker trusts the store generation it last read for this many ms and
# answers hot pages from its own memory; other workers show a write at most this late (the writing
# worker at once, members always). 0 = ask the cache on every request.
CATALOG_CACHE_LOCAL_MS = env_int("CATALOG_CACHE_LOCAL_MS", 250)
# Search ranks and answers at most this many matches, the newest (catalog.search): the bound on one search's work.
SEARCH_MAX_RESULTS = env_int("SEARCH_MAX_RESULTS", 500)
# bench/run.sh only: mounts the two reference views of bench/floors.py under /api/bench/.
BENCH_FLOORS = env_bool("BENCH_FLOORS", False)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # no broker: run tasks inline
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"  # never dialled while eager; keeps kombu from looking for localhost
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis broker: a message a worker took but never acknowledged (the worker was killed mid-task: acks are late) goes
# back to the queue this long after it was taken. Longer than any task or countdown runs; tests shorten it.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 2 * 3600, minimum=1)
# A broker that stopped answering fails a publish within 2 s (connect, then each read or write), retried once (a stale
# connection after a restart), instead of holding the request that published; config.celery's lean publisher uses
# the same figures. The task was committed work's follow-up: task_publish_on_commit logs and counts it, unsent.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS, "socket_timeout": 2,
                                   "socket_connect_timeout": 2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict = {
    "idempotency-keys-purge": {"task": "config.api.tasks.idempotency_keys_purge_task", "schedule": 3600.0},
    "webhook-deliveries-resume": {
        "task": "notifications.tasks.webhook_deliveries_resume_task", "schedule": 60.0,
    },
    "orders-expire": {"task": "orders.tasks.orders_expire_task", "schedule": 60.0},
    "payment-webhook-events-resume": {"task": "payments.tasks.webhook_events_resume_task", "schedule": 120.0},
}

# --- Analytics --------------------------------------------------------------
# Storefront events are deleted this many days after they arrive (the daily rollups keep their figures), by the
# privacy-retention job (kind analytics_events; below).
ANALYTICS_RETENTION_DAYS = env_int("ANALYTICS_RETENTION_DAYS", 90, minimum=1)
# How often the metrics-refresh job brings the daily rollups up to date (today and every day that changed).
ANALYTICS_REFRESH_SECONDS = env_int("ANALYTICS_REFRESH_SECONDS", 60, minimum=5)
# A dashboard answer is cached this long per store and period (0: computed on every request).
ANALYTICS_DASHBOARD_CACHE_SECONDS = env_int("ANALYTICS_DASHBOARD_CACHE_SECONDS", 60, minimum=0)
# `seed_demo` gives the demo stores this many days of past orders and storefront events (0: none).
DEMO_HISTORY_DAYS = env_int("DEMO_HISTORY_DAYS", 90, minimum=0)
# Export files (POST exports) are deleted this many days after they were asked for.
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 7, minimum=1)
CELERY_BEAT_SCHEDULE.update({
    "analytics-metrics-refresh": {"task": "analytics.tasks.metrics_refresh_task",
                                  "schedule": float(ANALYTICS_REFRESH_SECONDS)},
    "analytics-exports-purge": {"task": "analytics.tasks.exports_purge_task", "schedule": 3600.0},
})

# --- Plans and billing the merchants ----------------------------------------------
# The plan (a Plan code) of every store that has none of its own: new stores, and the stores that existed before
# plans did. Empty: such stores have no limits (a platform that does not sell plans).
PLAN_DEFAULT = env("PLAN_DEFAULT", "free")
# Stripe Billing for the platform's own account (not a store's): without the secret key billing is off and
# superusers assign plans by hand in the admin. The keys are read from the environment only, never logged.
BILLING_STRIPE_SECRET_KEY = env("BILLING_STRIPE_SECRET_KEY")
BILLING_STRIPE_WEBHOOK_SECRET = env("BILLING_STRIPE_WEBHOOK_SECRET")
# A store whose invoice failed keeps its plan this many days (past_due), then falls back to the default plan.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7, minimum=0)
# Where Stripe's customer portal sends the merchant back (empty: FRONTEND_URL).
BILLING_RETURN_URL = env("BILLING_RETURN_URL")
CELERY_BEAT_SCHEDULE["billing-subscriptions-expire"] = {
    "task": "billing.tasks.subscriptions_expire_task",
    "schedule": 3600.0,
}

# --- Orders -----------------------------------------------------------------
# A cart untouched this long is deleted by the privacy-retention job (kind carts; below).
CART_IDLE_DAYS = env_int("CART_IDLE_DAYS", 30, minimum=1)
# A pending unpaid order holds its stock this long; then the orders-expire job cancels it.
ORDER_RESERVATION_MINUTES = env_int("ORDER_RESERVATION_MINUTES", 30, minimum=1)

# --- Privacy (customers' data rights; privacy/, docs/PRIVACY.md) ----------------------------------------------------
# The purposes customers consent to, each with the current version of its wording ("purpose:version", comma list).
# Changing a version does not undo earlier answers; GET /me/consents shows which wording each answer was given to.
CONSENT_PURPOSES = {}
for _item in env_list("CONSENT_PURPOSES", ["marketing_email:1", "analytics:1", "personalisation:1"]):
    _purpose, _, _version = (part.strip() for part in _item.partition(":"))
    if not re.fullmatch(r"[a-z_]{1,40}", _purpose) or not _version:
        raise ImproperlyConfigured(f"CONSENT_PURPOSES: {_item!r} is not purpose:version.")
    CONSENT_PURPOSES[_purpose] = _version[:40]
# Retention, per kind of data (privacy.retention, run by the privacy-retention job and `manage.py enforce_retention`):
# how many days a row is kept (0: kept for ever). Carts and storefront events keep their own settings above
# (CART_IDLE_DAYS, ANALYTICS_RETENTION_DAYS). This job alone removes these kinds: the per-kind jobs that ran beside it
# (carts-prune, analytics-events-prune, webhook-deliveries-purge) are gone, their settings unchanged.
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30, minimum=0)
PAYMENT_EVENT_RETENTION_DAYS = env_int("PAYMENT_EVENT_RETENTION_DAYS", 365, minimum=0)
BILLING_EVENT_RETENTION_DAYS = env_int("BILLING_EVENT_RETENTION_DAYS", 365, minimum=0)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 7 * 365, minimum=0)
UNVERIFIED_ACCOUNT_RETENTION_DAYS = env_int("UNVERIFIED_ACCOUNT_RETENTION_DAYS", 30, minimum=0)
# a guest's order keeps its amounts and lines; its buyer's name, email and addresses are erased after this many years
GUEST_ORDER_PERSONAL_DATA_YEARS = env_int("GUEST_ORDER_PERSONAL_DATA_YEARS", 6, minimum=0)
# a person's data export (POST /me/data-export; its link lives 24 hours) is deleted, file and all, after this
DATA_EXPORT_RETENTION_DAYS = env_int("DATA_EXPORT_RETENTION_DAYS", 2, minimum=1)
# the security log (auditlog.security, docs/SECURITY.md): events older than this many days are deleted (0: kept)
SECURITY_EVENT_RETENTION_DAYS = env_int("SECURITY_EVENT_RETENTION_DAYS", 365, minimum=0)
RETENTION_SCHEDULE_SECONDS = env_int("RETENTION_SCHEDULE_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {"task": "privacy.tasks.retention_enforce_task",
                                             "schedule": float(RETENTION_SCHEDULE_SECONDS)}
# The security log's daily summary to store owners: yesterday's (UTC), sent by the first run after midnight; the
# job runs this often so a beat down at midnight still sends it, and each store gets it once a day whatever runs.
SECURITY_DIGEST_SCHEDULE_SECONDS = env_int("SECURITY_DIGEST_SCHEDULE_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["security-digests-send"] = {"task": "auditlog.tasks.security_digests_send_task",
                                                 "schedule": float(SECURITY_DIGEST_SCHEDULE_SECONDS)}

# --- Auth -------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
FRONTEND_URL = env("FRONTEND_URL", "http://localhost:3000")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# Secrets at rest (TOTP seeds, gateway credentials, webhook secrets) are encrypted with this key (AES-256-GCM,
# config/fields.py). To rotate: the new key here, the old one in FIELD_ENCRYPTION_OLD_KEYS (still read), then
# `manage.py rotate_encryption_key` re-encrypts every stored value with the new one.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY (32 bytes, base64) must be set when DEBUG is off.")
    FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
FIELD_ENCRYPTION_OLD_KEYS = env_list("FIELD_ENCRYPTION_OLD_KEYS", [])
for _name, _key in [("FIELD_ENCRYPTION_KEY", FIELD_ENCRYPTION_KEY),
                    *(("FIELD_ENCRYPTION_OLD_KEYS", key) for key in FIELD_ENCRYPTION_OLD_KEYS)]:
    try:  # a malformed key is a startup error, not a 500 at the first secret saved
        _field_key_length = len(base64.urlsafe_b64decode(_key.replace("+", "-").replace("/", "_")))
    except ValueError:
        _field_key_length = 0
    if _field_key_length != 32:
        raise ImproperlyConfigured(f"{_name} must be 32 random bytes, base64-encoded (comma-separated for the old "
                                   "keys).")

# --- Social login (social/, README "Social login") ---------------------------
# Google, GitHub and one OpenID Connect provider from the environment; more (any OIDC provider) as allauth's
# "Social applications" in the admin. A provider without its client id and secret is not offered.
SOCIAL_GOOGLE_CLIENT_ID = env("SOCIAL_GOOGLE_CLIENT_ID")
SOCIAL_GOOGLE_CLIENT_SECRET = env("SOCIAL_GOOGLE_CLIENT_SECRET")
SOCIAL_GITHUB_CLIENT_ID = env("SOCIAL_GITHUB_CLIENT_ID")
SOCIAL_GITHUB_CLIENT_SECRET = env("SOCIAL_GITHUB_CLIENT_SECRET")
SOCIAL_OIDC_ID = env("SOCIAL_OIDC_ID", "oidc")  # the provider's id in the API's paths (letters, digits, - and _)
SOCIAL_OIDC_NAME = env("SOCIAL_OIDC_NAME", "OpenID Connect")
SOCIAL_OIDC_SERVER_URL = env("SOCIAL_OIDC_SERVER_URL")  # the issuer (its /.well-known/openid-configuration is read)
SOCIAL_OIDC_CLIENT_ID = env("SOCIAL_OIDC_CLIENT_ID")
SOCIAL_OIDC_CLIENT_SECRET = env("SOCIAL_OIDC_CLIENT_SECRET")
# Where a social login may send the browser back with its one-time code: these origins (scheme://host[:port]);
# empty: FRONTEND_URL's and CORS_ALLOWED_ORIGINS'.
SOCIAL_LOGIN_CALLBACK_ORIGINS = env_list("SOCIAL_LOGIN_CALLBACK_ORIGINS", [])
# The one-time code a social login hands the storefront is exchanged for the JWT pair within this many seconds.
SOCIAL_LOGIN_CODE_SECONDS = env_int("SOCIAL_LOGIN_CODE_SECONDS", 120, minimum=10)

SOCIALACCOUNT_PROVIDERS: dict = {
    "google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True},
    "github": {"SCOPE": ["read:user", "user:email"]},
    "openid_connect": {"OAUTH_PKCE_ENABLED": True},
}
if SOCIAL_GOOGLE_CLIENT_ID and SOCIAL_GOOGLE_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["google"]["APPS"] = [
        {"client_id": SOCIAL_GOOGLE_CLIENT_ID, "secret": SOCIAL_GOOGLE_CLIENT_SECRET, "key": ""}]
if SOCIAL_GITHUB_CLIENT_ID and SOCIAL_GITHUB_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["github"]["APPS"] = [
        {"client_id": SOCIAL_GITHUB_CLIENT_ID, "secret": SOCIAL_GITHUB_CLIENT_SECRET, "key": ""}]
if SOCIAL_OIDC_SERVER_URL and SOCIAL_OIDC_CLIENT_ID:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", SOCIAL_OIDC_ID):
        raise ImproperlyConfigured("SOCIAL_OIDC_ID: letters, digits, - and _ only.")
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {"provider_id": SOCIAL_OIDC_ID, "name": SOCIAL_OIDC_NAME, "client_id": SOCIAL_OIDC_CLIENT_ID,
         "secret": SOCIAL_OIDC_CLIENT_SECRET, "settings": {"server_url": SOCIAL_OIDC_SERVER_URL}}]

# allauth runs headless and only the providers' part: our users log in by email, our adapters turn a finished social
# login into this API's JWT pair (social/adapters.py), and allauth sends no email and shows no page of its own.
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("browser",)
HEADLESS_FRONTEND_URLS = {"socialaccount_login_error": f"{FRONTEND_URL.rstrip('/')}/social-login/callback"}
ACCOUNT_ADAPTER = "social.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "social.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a provider's verified email finds the account that has it ...
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # ... and links the provider to it: no second account
SOCIALACCOUNT_STORE_TOKENS = False  # the provider's tokens are used once, at login, and never kept
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_OPENID_CONNECT_URL_PREFIX = "oidc"

# --- REST framework ---------------------------------------------------------
# THROTTLE_RATES names the scopes it changes ("auth=5/min,uploads=20/hour"); the others keep their
# default, so a view's scope never lacks a rate (DRF answers that with ImproperlyConfigured, a 500).
THROTTLE_RATES = {"anon": "100/min", "user": "1000/min", "auth": "10/min", "payments": "50/hour", "uploads": "10/min",
                  "analytics": "120/min"}
for _item in env_list("THROTTLE_RATES", []):
    _scope, _, _rate = (part.strip() for part in _item.partition("="))
    if not re.fullmatch(r"[A-Za-z_]+", _scope) or not re.fullmatch(r"\d+/[smhd][a-z]*", _rate):
        raise ImproperlyConfigured(f"THROTTLE_RATES: {_item!r} is not scope=<number>/<s|min|hour|day>.")
    THROTTLE_RATES[_scope] = _rate
# How many reverse proxies stand in front of the app, each appending to X-Forwarded-For: the client's address is
# then the one the outermost proxy saw. Unset: X-Forwarded-For is not trusted (the throttles and the fraud checks
# read REMOTE_ADDR: config.api.actor.request_ip). Behind a proxy, set it (usually 1).
NUM_PROXIES = env_int("NUM_PROXIES", -1, minimum=0) if env("NUM_PROXIES").strip() else None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.JWTAuthentication",
        "teams.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["config.api.renderers.EnvelopeJSONRenderer"],
    # JSON in (API.md): a form or multipart body answers 415 UNSUPPORTED_MEDIA_TYPE. Upload
    # endpoints (product images) choose their own parsers to take multipart.
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # APIClient posts JSON unless a test says otherwise
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PagePagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttles.AnonThrottle", "config.api.throttles.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "NUM_PROXIES": NUM_PROXIES,
    "EXCEPTION_HANDLER": "config.api.exceptions.exception_handler",
    "DEFAULT_METADATA_CLASS": "config.api.metadata.ApiMetadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "URL_FORMAT_OVERRIDE": None,  # ?format= belongs to endpoints (CSV export), not to DRF
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Store API",
    "DESCRIPTION": "Multi-store commerce backend. Every JSON answer is wrapped in the success/error envelope.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # choice sets sharing a field name ("status") get a name each instead of a hashed one
    "ENUM_NAME_OVERRIDES": {
        "ProductStatusEnum": "catalog.models.ProductStatus.choices",
        "OrderStatusEnum": "orders.models.OrderStatus.choices",
        "PaymentStatusEnum": "orders.models.PaymentStatus.choices",
        "PaymentOutputStatusEnum": "payments.models.PaymentStatus.choices",
        "EventTypeEnum": "analytics.models.EventType.choices",
        "ExportTypeEnum": "analytics.models.ExportType.choices",
        "RefundStatusEnum": "payments.models.RefundStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "live.schema.stream_path_hook",  # GET /api/v1/stream: an async Django view spectacular cannot see
        "config.api.schema.envelope_postprocessing_hook",
    ],
}

# --- Admin (the merchant dashboard) -----------------------------------------
# django-unfold's settings (teams.admin_base.StoreAdminSite is an UnfoldAdminSite). "View site" opens the API's
# docs: this backend has no storefront of its own to show.
UNFOLD = {
    "SITE_TITLE": "Store Admin",
    "SITE_HEADER": "Store Admin",
    "SITE_URL": "/api/docs/",
    "SITE_SYMBOL": "storefront",
    # a page without an icon makes the browser ask for /favicon.ico, a 404 in its console
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("teams/favicon.svg")}],
    # the merchant's dashboard on the admin index (templates/admin/index.html)
    "DASHBOARD_CALLBACK": "analytics.admin_dashboard.dashboard_callback",
    # the live notices (README "Live updates"): where to ask for a ticket, and whether a stream is served here
    "SCRIPTS": [lambda request: static("live/admin-live.js") + "?" + urlencode(
        {"ticket": reverse("admin-live-ticket"), "probe": reverse("live-stream") + "?probe=1"})],
}

# --- Uploads, storage, static -----------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
IMAGE_UPLOAD_MAX_BYTES = env_int("IMAGE_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
STATIC_URL = "static/"
# WhiteNoise serves the admin's and Swagger UI's assets (drf-spectacular-sidecar) straight from the
# installed apps, so /api/docs/ works offline under gunicorn with no collectstatic and no web server;
# STATIC_ROOT only for a deployment that runs collectstatic to put a CDN or proxy in front
STATIC_ROOT = env("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME") or None
AWS_DEFAULT_ACL = None
AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", False)
AWS_S3_FILE_OVERWRITE = False
STORAGES = {
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage"}
        if AWS_STORAGE_BUCKET_NAME
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Exports hold customers' data: never public. S3: a private folder of the bucket, read through links signed
    # for 24 hours; local: a folder /media/ does not serve, read through the API's signed download link.
    "exports": (
        {"BACKEND": "storages.backends.s3.S3Storage",
         "OPTIONS": {"location": "exports", "default_acl": "private", "querystring_auth": True,
                     "querystring_expire": 24 * 3600, "file_overwrite": False}}
        if AWS_STORAGE_BUCKET_NAME
        else {"BACKEND": "django.core.files.storage.FileSystemStorage",
              "OPTIONS": {"location": env("EXPORTS_ROOT", str(BASE_DIR / "exports")), "base_url": None}}
    ),
    # Customers' 3D models (maker): private. S3: a private folder of the bucket, written by the buyer's client through
    # a presigned PUT; local: a folder /media/ does not serve, written through the API's signed upload URL.
    "maker": (
        {"BACKEND": "storages.backends.s3.S3Storage",
         "OPTIONS": {"location": "maker-uploads", "default_acl": "private", "querystring_auth": True,
                     "file_overwrite": True}}
        if AWS_STORAGE_BUCKET_NAME
        else {"BACKEND": "django.core.files.storage.FileSystemStorage",
              "OPTIONS": {"location": env("MAKER_UPLOADS_ROOT", str(BASE_DIR / "maker-uploads")), "base_url": None}}
    ),
}
# Maker services (maker/): the largest model file accepted (STL, OBJ, 3MF), how long a signed upload URL and a quote
# stay valid, and how much a 3MF (a zip) may unpack to.
MAKER_UPLOAD_MAX_BYTES = env_int("MAKER_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
MAKER_UPLOAD_URL_SECONDS = env_int("MAKER_UPLOAD_URL_SECONDS", 15 * 60, minimum=1)
MAKER_UNPACKED_MAX_BYTES = env_int("MAKER_UNPACKED_MAX_BYTES", 4 * MAKER_UPLOAD_MAX_BYTES, minimum=1)
MAKER_QUOTE_VALID_HOURS = env_int("MAKER_QUOTE_VALID_HOURS", 72, minimum=1)
# uploads never ordered are deleted (rows and files) after this many days (privacy retention; 0: kept for ever)
MAKER_UPLOAD_RETENTION_DAYS = env_int("MAKER_UPLOAD_RETENTION_DAYS", 30, minimum=0)

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "sent_emails"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Store <no-reply@localhost>")

# --- Payments, webhooks -----------------------------------------------------
# Where each gateway is reached: their own by default; tests point them at localstripe and a local fake.
STRIPE_API_BASE = env("STRIPE_API_BASE")  # empty: the SDK's own (https://api.stripe.com)
KASHIER_CHECKOUT_URL = env("KASHIER_CHECKOUT_URL", "https://checkout.kashier.io/")
# Kashier's and Moamalat's APIs (refunds): empty → theirs, the test or live one by the store's mode; set → that one
# for every store (tests: a local fake).
KASHIER_API_BASE = env("KASHIER_API_BASE")
MOAMALAT_API_BASE = env("MOAMALAT_API_BASE")
# The address gateways reach this API at (their webhook URLs, Kashier's serverWebhook); empty: the request's host.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL").rstrip("/")
PAYMENT_GATEWAY_TIMEOUT_SECONDS = float(env("PAYMENT_GATEWAY_TIMEOUT_SECONDS", "10"))
# Fraud checks before a card payment starts (payments.services.fraud): the defaults of every store that has not
# set its own (FraudSetting). N failed payments from one email, IP or card in the window hold the next one for
# review; 0 switches that count off. An amount ceiling is per store only (stores have their own currencies).
FRAUD_WINDOW_MINUTES = env_int("FRAUD_WINDOW_MINUTES", 60, minimum=1)
FRAUD_MAX_FAILED_PER_EMAIL = env_int("FRAUD_MAX_FAILED_PER_EMAIL", 3, minimum=0)
FRAUD_MAX_FAILED_PER_IP = env_int("FRAUD_MAX_FAILED_PER_IP", 5, minimum=0)
FRAUD_MAX_FAILED_PER_CARD = env_int("FRAUD_MAX_FAILED_PER_CARD", 3, minimum=0)
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
# Outgoing webhooks: connect and read timeouts, retries (15 s × 3ⁿ capped at 6 h, 11 attempts ≈ a day),
# consecutive failed deliveries before an endpoint is disabled, and when a lost retry is re-enqueued.
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "15"))
WEBHOOK_RETRY_MAX_SECONDS = float(env("WEBHOOK_RETRY_MAX_SECONDS", str(6 * 3600)))
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 11)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5)
WEBHOOK_RESUME_AFTER_SECONDS = env_int("WEBHOOK_RESUME_AFTER_SECONDS", 300)
# An attempt holds its delivery this long (a worker killed mid-attempt leaves it pending; the attempt is made again
# once the lease has run out): longer than an attempt may last (the task's hard limit, 50 s). Tests shorten it.
WEBHOOK_ATTEMPT_LEASE_SECONDS = env_int("WEBHOOK_ATTEMPT_LEASE_SECONDS", 60, minimum=1)

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- I18N -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: JSON lines carrying the request id ----------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.api.middleware.RequestIDLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # every eager task would log its arguments on success; workers keep Celery's own logging
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        "django.request": {"level": "ERROR"},
        # the Stripe SDK logs each request at INFO and each answer's body (client secrets) at DEBUG
        "stripe": {"level": "WARNING"},
    },
}

# --- Live updates (GET /api/v1/stream, README "Live updates") -------------------
# The channel between the processes that emit and those that stream: a Redis stream with REDIS_URL, else a table in
# the app's database (polled every LIVE_POLL_SECONDS). Either keeps LIVE_RESUME_SECONDS of events for Last-Event-ID.
LIVE_CHANNEL = env("LIVE_CHANNEL", "redis" if REDIS_URL else "database")
if LIVE_CHANNEL not in ("redis", "database") or (LIVE_CHANNEL == "redis" and not REDIS_URL):
    raise ImproperlyConfigured("LIVE_CHANNEL is 'redis' (needs REDIS_URL) or 'database'.")
LIVE_REDIS_KEY = env("LIVE_REDIS_KEY", "live:events")
LIVE_RESUME_SECONDS = env_int("LIVE_RESUME_SECONDS", 300, minimum=1)
LIVE_HEARTBEAT_SECONDS = env_int("LIVE_HEARTBEAT_SECONDS", 15, minimum=1)
LIVE_RECHECK_SECONDS = env_int("LIVE_RECHECK_SECONDS", 10, minimum=1)  # a removed member stops receiving within it
LIVE_TICKET_SECONDS = env_int("LIVE_TICKET_SECONDS", 60, minimum=1)
LIVE_RETRY_MS = env_int("LIVE_RETRY_MS", 3000, minimum=0)  # the `retry:` hint to EventSource
LIVE_POLL_SECONDS = float(env("LIVE_POLL_SECONDS", "1") or 1)
LIVE_BLOCK_SECONDS = env_int("LIVE_BLOCK_SECONDS", 5, minimum=1)  # one XREAD BLOCK (Redis)
LIVE_MAX_STREAMS = env_int("LIVE_MAX_STREAMS", 1000, minimum=1)  # open streams per ASGI process
# Where the WSGI server sends a stream request (307), e.g. the ASGI server of `make run`; empty: 503.
LIVE_STREAM_URL = env("LIVE_STREAM_URL")

# --- Metrics and error tracking -----------------------------------------------
# GET /metrics (Prometheus, config/metrics.py) answers a scraper with `Authorization: Bearer <METRICS_TOKEN>` or one
# connecting from METRICS_ALLOWED_IPS (addresses or networks, the connection's own address); with neither set it
# is 404. Several processes (gunicorn -w N, workers on the host): set PROMETHEUS_MULTIPROC_DIR (README).
METRICS_TOKEN = env("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
# Sentry (config/sentry.py): on when SENTRY_DSN is set; no personal data is sent (before_send scrubs it).
SENTRY_DSN = env("SENTRY_DSN")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0)
if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=env("GIT_COMMIT") or VERSION,
                traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)
