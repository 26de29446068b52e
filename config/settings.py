"""Settings, all read from the environment (and an optional `.env` file beside manage.py).

Every variable is listed with its default and meaning in `.env.example`.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The placeholder is only good enough for DEBUG; production must set its own.
INSECURE_SECRET_KEY = "insecure-dev-key-change-me"  # noqa: S105 - the refused placeholder
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=INSECURE_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the insecure default while DJANGO_DEBUG is off: "
        "set DJANGO_SECRET_KEY to a long random value (or DJANGO_DEBUG=true for development)."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",  # its abstract key model; common.ApiKey is the one used
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the docs page's assets, served locally (works offline)
    "phonenumber_field",
    "common",
    "orders",
    "coupons",
    "messaging",
    "checkout",
    "config",  # the top layer: demo data and the commands that span every app
]

MIDDLEWARE = [
    "config.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The endpoints machines call, by URL name: Kaleyra's callbacks and WhatsApp's checkout endpoint.
# They are answered through MACHINE_MIDDLEWARE instead of MIDDLEWARE (common/wsgi.py): none of
# the browser layers (sessions, CSRF, users, messages, framing, static files) applies to them.
MACHINE_URL_NAMES = ["kaleyra-callbacks", "checkout-endpoint"]
MACHINE_MIDDLEWARE = [
    "config.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",  # ALLOWED_HOSTS, APPEND_SLASH
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

PERSISTENT_CONNECTION_SECONDS = 600


def database_settings_build(url: str, *, prepared_statements: bool = True) -> dict:
    """The `default` database from DATABASE_URL, with what the URL leaves unsaid filled in.

    PostgreSQL keeps its connections for PERSISTENT_CONNECTION_SECONDS and checks them before
    reuse, unless the URL says otherwise (`?conn_max_age=0` opens one connection per request,
    as Django does by default; `?conn_health_checks=false`). Opening a connection per request
    cost get_coupons three quarters of its throughput (90 against 335 requests a second).
    """
    database = environ.Env.db_url_config(url)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        if database["NAME"] != ":memory:":
            database["NAME"] = str(BASE_DIR / database["NAME"])
        # Several processes (web, worker) share the file: wait for locks instead of failing.
        database.setdefault("OPTIONS", {})["timeout"] = 20
        database["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        return database
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that makes no round trip on a quiet connection.
        database["ENGINE"] = "common.postgresql"
    database.setdefault("CONN_MAX_AGE", PERSISTENT_CONNECTION_SECONDS)
    health_checks = database.get("CONN_HEALTH_CHECKS", True)
    if isinstance(health_checks, str):  # the URL's text: ?conn_health_checks=false
        health_checks = health_checks.strip().lower() in {"1", "true", "yes", "on"}
    database["CONN_HEALTH_CHECKS"] = bool(health_checks)
    if prepared_statements:
        # PostgreSQL plans each query text once per connection instead of on every run: psycopg
        # binds parameters on the server and prepares a statement from its 5th run. The checkout
        # endpoint's queries spent more time being planned than being executed.
        database.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    return database


DATABASES = {
    "default": database_settings_build(
        env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        prepared_statements=env.bool("DATABASE_PREPARED_STATEMENTS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The reports' covering indexes (Index(include=...) in messaging/models.py) are a PostgreSQL
    # optimisation; SQLite builds them as plain indexes, which is all it needs. Without this every
    # first run on the default setup would warn about it (models.W040).
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-in"
TIME_ZONE = env.str("SHOP_TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the project's own files (the admin's favicon)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

PHONENUMBER_DEFAULT_REGION = "IN"
PHONENUMBER_DB_FORMAT = "E164"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    # Every API error as {"code", "message", "details"} (common/api/errors.py).
    "EXCEPTION_HANDLER": "common.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

# The REST API (/api/v1/, keys made with `api_key_create` or in the admin).
# Requests per API key (DRF rate: "600/min", "20/second"); over it, 429 with Retry-After. Counted
# in the default cache: per process unless CACHES points at a shared one.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
# The largest request body read (bytes); a larger one is answered 413.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1048576)
# How long (seconds) the answer to a POST with an Idempotency-Key is kept and given again.
API_IDEMPOTENCY_TTL = env.int("API_IDEMPOTENCY_TTL", default=86400)
# Orders, messages and batches per page of a list (a client may ask for fewer with page_size).
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)

SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsApp commerce back office API",
    "DESCRIPTION": "Orders in (bodies shaped like WhatsApp's order_details), checkout and "
    "status messages out. Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PREPROCESSING_HOOKS": ["common.api.schema.api_paths_only"],
}

# Celery: an embedded filesystem broker by default (nothing to install; a real
# `celery worker` process consumes it), Redis in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker writes its own log lines (not LOGGING's): their time carries its UTC offset too.
CELERY_WORKER_LOG_DATEFMT = CELERY_WORKER_TASK_LOG_DATEFMT = "%Y-%m-%d %H:%M:%S%z"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        # kombu's default is "control" in the working directory: the web process and a worker
        # started elsewhere would not share their exchange bindings.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }

# Kaleyra WhatsApp v2
KALEYRA_API_BASE_URL = env.str("KALEYRA_API_BASE_URL", default="https://api.in.kaleyra.io").rstrip(
    "/"
)
KALEYRA_SID = env.str("KALEYRA_SID", default="")
KALEYRA_API_KEY = env.str("KALEYRA_API_KEY", default="")
KALEYRA_WHATSAPP_NUMBER = env.str("KALEYRA_WHATSAPP_NUMBER", default="")
# Get Payment Status: the business number's id at Meta and the payment configuration's id.
KALEYRA_PHONE_NUMBER_ID = env.str("KALEYRA_PHONE_NUMBER_ID", default="")
KALEYRA_PAYMENT_CONFIGURATION_ID = env.str("KALEYRA_PAYMENT_CONFIGURATION_ID", default="")
# Seconds after the checkout was used before a payment is looked up (webhooks get lost).
PAYMENT_LOOKUP_AFTER = env.float("PAYMENT_LOOKUP_AFTER", default=900.0)
KALEYRA_WA_SOURCE = env.str("KALEYRA_WA_SOURCE", default="api")
KALEYRA_SENDS_PER_SECOND = env.float("KALEYRA_SENDS_PER_SECOND", default=80.0)
KALEYRA_MAX_ATTEMPTS = env.int("KALEYRA_MAX_ATTEMPTS", default=5)
KALEYRA_CONNECT_TIMEOUT = env.float("KALEYRA_CONNECT_TIMEOUT", default=5.0)
KALEYRA_READ_TIMEOUT = env.float("KALEYRA_READ_TIMEOUT", default=15.0)
KALEYRA_CALLBACK_BASIC_AUTH = env.str("KALEYRA_CALLBACK_BASIC_AUTH", default="")
KALEYRA_CALLBACK_MAX_BODY_BYTES = env.int("KALEYRA_CALLBACK_MAX_BODY_BYTES", default=10_485_760)
# Who stores and applies a callback's events: `queued` (a worker, in batches; the request only
# stores the raw receipt and answers) or `inline` (the request itself, before it answers).
CALLBACKS_APPLY = env.str("CALLBACKS_APPLY", default="queued")
if CALLBACKS_APPLY not in ("queued", "inline"):
    raise ImproperlyConfigured("CALLBACKS_APPLY must be queued or inline.")
# One callbacks_apply_task run stops taking receipts after this many seconds (it wakes another);
# beat runs it every CALLBACKS_APPLY_SWEEP_SECONDS too, in case a wake-up was lost.
CALLBACKS_APPLY_RUN_SECONDS = env.float("CALLBACKS_APPLY_RUN_SECONDS", default=50.0)
CALLBACKS_APPLY_SWEEP_SECONDS = env.float("CALLBACKS_APPLY_SWEEP_SECONDS", default=10.0)
KALEYRA_HTTP_POOL_SIZE = env.int("KALEYRA_HTTP_POOL_SIZE", default=64)
KALEYRA_RETRY_BACKOFF_SECONDS = env.float("KALEYRA_RETRY_BACKOFF_SECONDS", default=5.0)
KALEYRA_RETRY_BACKOFF_MAX_SECONDS = env.float("KALEYRA_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
KALEYRA_PAUSE_SECONDS = env.float("KALEYRA_PAUSE_SECONDS", default=300.0)
KALEYRA_SENDING_STALE_AFTER = env.float("KALEYRA_SENDING_STALE_AFTER", default=300.0)
KALEYRA_UNKNOWN_RESEND_AFTER = env.float("KALEYRA_UNKNOWN_RESEND_AFTER", default=0.0)
KALEYRA_REQUEUE_AFTER = env.float("KALEYRA_REQUEUE_AFTER", default=600.0)
KALEYRA_SEND_CHUNK_SIZE = env.int("KALEYRA_SEND_CHUNK_SIZE", default=25)
KALEYRA_TEMPLATE_LANGUAGE = env.str("KALEYRA_TEMPLATE_LANGUAGE", default="en_US")
KALEYRA_ORDER_DETAILS_TEMPLATE = env.str("KALEYRA_ORDER_DETAILS_TEMPLATE", default="order_details")
KALEYRA_ORDER_STATUS_TEMPLATE = env.str("KALEYRA_ORDER_STATUS_TEMPLATE", default="order_status")
KALEYRA_COUPON_TEMPLATE = env.str("KALEYRA_COUPON_TEMPLATE", default="coupon_code")
# A captured payment queues the order-status message `processing` with this description
# (WhatsApp expects the business to answer every payment); PAYMENT_STATUS_MESSAGE=false: none.
PAYMENT_STATUS_MESSAGE = env.bool("PAYMENT_STATUS_MESSAGE", default=True)
PAYMENT_STATUS_DESCRIPTION = env.str(
    "PAYMENT_STATUS_DESCRIPTION", default="Payment received. We are preparing your order."
)
# Outgoing event webhooks (common/outbound/): seconds to connect and to wait for the answer of
# each POST; retries with exponential backoff (first delay, cap) until an event is
# WEBHOOK_MAX_AGE seconds old, then given up; an endpoint is paused after this many failed
# deliveries in a row (0: never); after a secret rotation the previous secret keeps signing
# (beside the new one) this many seconds.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_MAX_AGE = env.float("WEBHOOK_MAX_AGE", default=24 * 3600.0)
WEBHOOK_RETRY_BACKOFF_SECONDS = env.float("WEBHOOK_RETRY_BACKOFF_SECONDS", default=30.0)
WEBHOOK_RETRY_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_RETRY_BACKOFF_MAX_SECONDS", default=3600.0)
WEBHOOK_PAUSE_AFTER_FAILURES = env.int("WEBHOOK_PAUSE_AFTER_FAILURES", default=20)
WEBHOOK_SECRET_ROTATION_WINDOW = env.float("WEBHOOK_SECRET_ROTATION_WINDOW", default=24 * 3600.0)
# Webhooks to private, loopback or reserved addresses are refused (SSRF) unless this is true
# (tests, the local sandbox).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# A worker holds a delivery this many seconds while it POSTs it; a killed worker's delivery is
# taken again after it. Must exceed twice WEBHOOK_TIMEOUT.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
# One delivery task stops claiming after this many seconds (the next kick or sweep goes on);
# the periodic sweep runs every WEBHOOK_SWEEP_SECONDS.
WEBHOOK_RUN_SECONDS = env.float("WEBHOOK_RUN_SECONDS", default=50.0)
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=15.0)
# An event whose every delivery finished (delivered or given up) is deleted, with its deliveries
# and attempts, this many seconds after the last one finished (pending ones are never deleted).
WEBHOOK_RETENTION = env.int("WEBHOOK_RETENTION", default=30 * 86400)
# Batch counts and report rollups (messaging.rollups): every ROLLUPS_FOLD_SECONDS the beat task
# folds the deltas the messages' trigger wrote into the rollups (readers add the rest, so figures
# are exact either way; a longer period only leaves more deltas for each read to add).
ROLLUPS_FOLD_SECONDS = env.float("ROLLUPS_FOLD_SECONDS", default=5.0)
# Periodic jobs, run by `celery beat` (or a worker started with -B, as bin/run does).
CELERY_BEAT_SCHEDULE = {
    "messaging-sweep": {"task": "messaging.tasks.messages_sweep_task", "schedule": 30.0},
    "callbacks-sweep": {"task": "messaging.tasks.callbacks_sweep_task", "schedule": 120.0},
    "callbacks-apply": {
        "task": "messaging.tasks.callbacks_apply_task",
        "schedule": CALLBACKS_APPLY_SWEEP_SECONDS,
    },
    "rollups-fold": {
        "task": "messaging.tasks.rollups_fold_task",
        "schedule": ROLLUPS_FOLD_SECONDS,
    },
    "payments-reconcile": {"task": "checkout.tasks.payments_reconcile_task", "schedule": 300.0},
    "webhooks-deliver": {
        "task": "common.outbound.tasks.outbound_deliver_task",
        "schedule": WEBHOOK_SWEEP_SECONDS,
    },
    "coupons-release-expired": {
        "task": "coupons.tasks.coupons_release_expired_task",
        "schedule": 300.0,
    },
    # Idempotency-Key answers older than API_IDEMPOTENCY_TTL deleted.
    "api-idempotency-purge": {
        "task": "common.tasks.idempotency_records_purge_task",
        "schedule": 3600.0,
    },
    # Finished webhook events older than WEBHOOK_RETENTION deleted.
    "webhooks-purge": {
        "task": "common.outbound.tasks.outbound_events_purge_task",
        "schedule": 3600.0,
    },
    # Expired CSV import previews and imports older than ORDER_IMPORT_RETENTION deleted.
    "order-imports-purge": {"task": "orders.tasks.order_imports_purge_task", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Payments: the admin's "Payments needing attention" lists a payment pending this long (seconds).
PAYMENT_PENDING_ATTENTION_AFTER = env.float("PAYMENT_PENDING_ATTENTION_AFTER", default=3600.0)

# Order import from CSV in the admin: the largest file (bytes) and the most order rows (one per
# item) taken at once; a larger file is refused with the limit named (split it).
ORDER_IMPORT_MAX_BYTES = env.int("ORDER_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
ORDER_IMPORT_MAX_ROWS = env.int("ORDER_IMPORT_MAX_ROWS", default=50_000)
# A previewed file not confirmed within ORDER_IMPORT_PREVIEW_TTL seconds expires (deleted, upload
# it again); an import's file is emptied once imported and its record deleted
# ORDER_IMPORT_RETENTION seconds later.
ORDER_IMPORT_PREVIEW_TTL = env.int("ORDER_IMPORT_PREVIEW_TTL", default=86400)
ORDER_IMPORT_RETENTION = env.int("ORDER_IMPORT_RETENTION", default=90 * 86400)
# Admin lists of big tables (common/changelists.py). Rows are counted exactly up to
# ADMIN_EXACT_COUNT_BELOW (a count that stops there); past it the list shows PostgreSQL's
# estimate ("about 10.2 million"). Pages past ADMIN_MAX_PAGES are not served (a message asks for
# a filter). A search term shorter than ADMIN_SEARCH_MIN_LENGTH characters finds nothing and says
# so (shorter substrings cannot use the trigram indexes, so they would read every row).
ADMIN_EXACT_COUNT_BELOW = env.int("ADMIN_EXACT_COUNT_BELOW", default=10_000)
ADMIN_MAX_PAGES = env.int("ADMIN_MAX_PAGES", default=1_000)
ADMIN_SEARCH_MIN_LENGTH = env.int("ADMIN_SEARCH_MIN_LENGTH", default=3)

# WhatsApp checkout endpoint
WHATSAPP_CHECKOUT_PRIVATE_KEY = env.str("WHATSAPP_CHECKOUT_PRIVATE_KEY", default="", multiline=True)
WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE = env.str("WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE", default="")
WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE = env.str(
    "WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE", default=""
)
WHATSAPP_APP_SECRET = env.list("WHATSAPP_APP_SECRET", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            # The time with its UTC offset: 2026-11-30 18:53:06.123+05:30
            "()": "config.logformat.OffsetTimeFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
