"""Base settings. Everything deployment-specific comes from environment variables.

Embedded default (demo, quick tests): SQLite, a broker that needs no daemon
(kombu's SQLAlchemy transport over a SQLite file) and filesystem storage.
Production: ``DATABASE_URL`` (Postgres), ``CELERY_BROKER_URL`` (Redis/RabbitMQ),
``EARTHBENCH_STORAGE_DIR`` (a mounted volume).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

REPO_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = Path(os.environ.get("EARTHBENCH_VAR_DIR", REPO_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite and the embedded broker live here

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "earthbench.accounts",
    "earthbench.benchmarks",
    "earthbench.submissions",
    "earthbench.leaderboards",
    "earthbench.api",
    "earthbench.web",
]

MIDDLEWARE = [
    # Health checks answer before anything else; then forwarded headers are
    # believed only from trusted proxies; then an oversize body is refused (413)
    # before any parser reads it, and "database is locked" anywhere below
    # becomes 503 + Retry-After.
    "earthbench.middleware.HealthCheckMiddleware",
    "earthbench.middleware.ForwardedHeadersMiddleware",
    "earthbench.guards.BodyLimitMiddleware",
    "earthbench.guards.DatabaseBusyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "earthbench.urls"
WSGI_APPLICATION = "earthbench.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and worker share one SQLite file. WAL: readers never block the writer
    # nor it them. IMMEDIATE: an atomic block takes the write lock when it begins,
    # so two transactions that read and then write cannot deadlock (a deferred
    # one fails at once with "database is locked" when it tries to upgrade). The
    # busy timeout makes a writer wait for the lock; past it the request answers
    # 503 + Retry-After (earthbench.guards) and the worker retries.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=int(os.environ.get("EARTHBENCH_SQLITE_TIMEOUT_S", 20)),
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [REPO_DIR / "platform" / "earthbench" / "static"]

# Where uploads, public inputs and hidden ground truth live. No URL serves this
# tree: downloads go through views that check what may be shown.
EARTHBENCH_STORAGE_DIR = Path(
    os.environ.get("EARTHBENCH_STORAGE_DIR", VAR_DIR / "storage")
)
# Wheels of the CLI and the scorer served at /downloads/ (`manage.py build_downloads`,
# run by `make demo` and the production image).
EARTHBENCH_DOWNLOADS_DIR = Path(
    os.environ.get("EARTHBENCH_DOWNLOADS_DIR", VAR_DIR / "downloads")
)
EARTHBENCH_CATALOG_DIR = Path(
    os.environ.get("EARTHBENCH_CATALOG_DIR", REPO_DIR / "benchmarks")
)
# Generated demo datasets shared by processes, keyed by generator code, params and
# seed (benchmarks/generators/cache.py): a later load copies instead of generating.
# Unset (the default), every load generates its own; the tests set one per session.
EARTHBENCH_DEMO_CACHE_DIR = os.environ.get("EARTHBENCH_DEMO_CACHE_DIR") or None
EARTHBENCH_MAX_UPLOAD_BYTES = int(
    os.environ.get("EARTHBENCH_MAX_UPLOAD_BYTES", 2 * 1024**3)
)
# Model-container tarballs (`docker save`) are larger than prediction files.
EARTHBENCH_MAX_CONTAINER_BYTES = int(
    os.environ.get("EARTHBENCH_MAX_CONTAINER_BYTES", 20 * 1024**3)
)
EARTHBENCH_BOOTSTRAP_RESAMPLES = int(os.environ.get("EARTHBENCH_BOOTSTRAP_RESAMPLES", 200))
# A submission running longer than this is failed by the reaper (after retries).
EARTHBENCH_SCORING_TIMEOUT_S = int(os.environ.get("EARTHBENCH_SCORING_TIMEOUT_S", 3600))
EARTHBENCH_MAX_ATTEMPTS = int(os.environ.get("EARTHBENCH_MAX_ATTEMPTS", 3))
# Scoring runs in a forked child with these limits (submissions/isolation.py):
# memory on top of what the worker holds at the fork (RLIMIT_DATA), and CPU
# seconds (RLIMIT_CPU). A file crossing either fails with that one line; the
# worker lives on. 0 disables a limit (both 0: scoring runs in the worker).
EARTHBENCH_SCORING_MEMORY_MB = int(os.environ.get("EARTHBENCH_SCORING_MEMORY_MB", 4096))
EARTHBENCH_SCORING_CPU_S = int(os.environ.get("EARTHBENCH_SCORING_CPU_S", 1800))
# A redelivered task finding its submission "running" takes it over only after
# this long (the first worker is presumed dead); sooner it is a duplicate.
EARTHBENCH_RETAKE_AFTER_S = int(os.environ.get("EARTHBENCH_RETAKE_AFTER_S", 600))
# Liveness (submissions/heartbeat.py): a scoring worker writes a heartbeat every
# EARTHBENCH_HEARTBEAT_S; the reaper requeues a running submission whose
# heartbeat is older than EARTHBENCH_HEARTBEAT_TIMEOUT_S, and a queued one older
# than EARTHBENCH_QUEUED_ORPHAN_S with no message waiting in the broker.
EARTHBENCH_HEARTBEAT_S = float(os.environ.get("EARTHBENCH_HEARTBEAT_S", 10))
EARTHBENCH_HEARTBEAT_TIMEOUT_S = int(os.environ.get("EARTHBENCH_HEARTBEAT_TIMEOUT_S", 60))
EARTHBENCH_QUEUED_ORPHAN_S = int(os.environ.get("EARTHBENCH_QUEUED_ORPHAN_S", 60))
EARTHBENCH_REAP_EVERY_S = float(os.environ.get("EARTHBENCH_REAP_EVERY_S", 30))
# Worker writes that meet "database is locked" (SQLite) are retried this often.
EARTHBENCH_DB_RETRIES = int(os.environ.get("EARTHBENCH_DB_RETRIES", 8))

# Container runs: staging folders (same path on the host and in the GPU worker)
# and the GPU this worker owns (one worker per GPU, concurrency 1).
EARTHBENCH_SANDBOX_DIR = Path(os.environ.get("EARTHBENCH_SANDBOX_DIR", VAR_DIR / "sandbox"))
EARTHBENCH_WORKER_GPU_UUID = os.environ.get("EARTHBENCH_WORKER_GPU_UUID", "")
# What runs a model container (submissions/backends.py): "docker" (the hardened
# sandbox on the Docker engine) or "fake" (no engine; tests and development).
EARTHBENCH_SANDBOX_BACKEND = os.environ.get("EARTHBENCH_SANDBOX_BACKEND", "docker")

FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2  # larger uploads stream to a temp file
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
# Request bodies (earthbench.guards.BodyLimitMiddleware): anonymous callers may
# send this much; a valid session or token the largest upload plus 1 MiB of
# multipart overhead. Checked on Content-Length and while a chunked body streams.
EARTHBENCH_ANON_MAX_BODY_BYTES = int(os.environ.get("EARTHBENCH_ANON_MAX_BODY_BYTES", 1024**2))
EARTHBENCH_MAX_BODY_BYTES = int(
    os.environ.get(
        "EARTHBENCH_MAX_BODY_BYTES",
        max(EARTHBENCH_MAX_UPLOAD_BYTES, EARTHBENCH_MAX_CONTAINER_BYTES) + 1024**2,
    )
)


def upload_temp_dir(storage_dir: Path) -> str:
    """Spooled uploads go to the storage volume, not the root disk's /tmp."""
    path = Path(os.environ.get("EARTHBENCH_UPLOAD_TEMP_DIR", storage_dir / "tmp" / "uploads"))
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


FILE_UPLOAD_TEMP_DIR = upload_temp_dir(EARTHBENCH_STORAGE_DIR)

# Celery
CELERY_BROKER_URL = os.environ.get(
    "CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis/SQS: an unacknowledged message (its worker died) is redelivered after
# this many seconds (kombu's default: 3600). Keep it above the longest scoring
# run, or a healthy run is handed to a second worker (which then waits for
# EARTHBENCH_RETAKE_AFTER_S before taking it over).
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("sqla+sqlite"):
    # The embedded broker's SQLite file: wait for its lock (SQLAlchemy's
    # create_engine gets these options) instead of failing a publish.
    CELERY_BROKER_TRANSPORT_OPTIONS["connect_args"] = {"timeout": 30}
if os.environ.get("CELERY_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = int(
        os.environ["CELERY_VISIBILITY_TIMEOUT"]
    )
# The embedded broker (earthbench/broker.py, kombu's SQLAlchemy transport) wakes
# within wakeup_check_s of a commit to its SQLite file (PRAGMA data_version) and
# polls its tables at least every polling_interval regardless; production
# brokers (Redis) push instead.
if CELERY_BROKER_URL.startswith("sqla+sqlite"):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        polling_interval=float(os.environ.get("EARTHBENCH_BROKER_POLL_S", 1.0)),
        wakeup_check_s=float(os.environ.get("EARTHBENCH_BROKER_WAKEUP_S", 0.02)),
    )
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ROUTES = {
    "earthbench.submissions.tasks.score_submission": {"queue": "scoring"},
    "earthbench.submissions.tasks.run_container_submission": {"queue": "gpu"},
    "earthbench.submissions.tasks.reap_stuck_submissions": {"queue": "scoring"},
    "earthbench.submissions.tasks.reap_containers": {"queue": "gpu"},
}
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_BEAT_SCHEDULE = {
    "reap-stuck-submissions": {
        "task": "earthbench.submissions.tasks.reap_stuck_submissions",
        "schedule": EARTHBENCH_REAP_EVERY_S,
    },
    "reap-containers": {
        "task": "earthbench.submissions.tasks.reap_containers",
        "schedule": 60.0,
    },
}
# Redis hands an unacknowledged message on (its worker died) only when some
# idle worker sweeps the unacked index (kombu's restore_visible): once as a
# worker starts, then on a 10 s timer that scans only every 10th call (kombu
# 5.7), i.e. every 100 s. A message that was not yet due when the survivors
# started waited up to 100 s past its visibility timeout (docs/reliability.md).
# Sweep on every tick, at a quarter of the timeout (1-10 s): one ZRANGE on a
# small index. A worker killed inside a sweep holds its mutex until it expires
# (kombu: 300 s, no sweep by anyone meanwhile); a sweep takes milliseconds.
if CELERY_BROKER_URL.split("://", 1)[0] in ("redis", "rediss", "redis+socket", "sentinel"):
    _visibility = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        unacked_restore_interval=min(10, max(1, _visibility // 4)),
        unacked_restore_throttle=1,
        unacked_mutex_expire=30,
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "earthbench.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "earthbench.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # ?format=csv is ours (leaderboard exports), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_CLASSES": [
        "earthbench.api.throttling.TokenRateThrottle",
        "earthbench.api.throttling.SubmitRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("EARTHBENCH_RATE_TOKEN", "1200/min"),
        "submit": os.environ.get("EARTHBENCH_RATE_SUBMIT", "120/min"),
    },
}

# Throttle counters and login-attempt counters. Production: a shared Redis cache.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
        if os.environ.get("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
EARTHBENCH_LOGIN_MAX_FAILURES = int(os.environ.get("EARTHBENCH_LOGIN_MAX_FAILURES", 10))
EARTHBENCH_LOGIN_LOCKOUT_S = int(os.environ.get("EARTHBENCH_LOGIN_LOCKOUT_S", 900))
# Reverse proxies (addresses or CIDR networks, comma-separated) whose
# X-Forwarded-For/-Proto/-Host are believed; from anyone else they are dropped.
EARTHBENCH_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("EARTHBENCH_TRUSTED_PROXIES", "").split(",") if p.strip()
]
SPECTACULAR_SETTINGS = {
    "TITLE": "EarthBench API",
    "DESCRIPTION": "Benchmarks, leaderboards and submissions for remote-sensing ML.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# E-mail (password reset). Demo and development print messages on the console;
# production sends them over SMTP (settings/production.py).
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "EarthBench <noreply@localhost>")
