"""Settings, read from the environment (twelve-factor).

With nothing set, the service runs on an embedded default: an SQLite file under ``data/``,
audio under ``data/media/``, and Celery tasks executed in-process. Setting ``DATABASE_URL``
and ``CELERY_BROKER_URL`` switches to PostgreSQL and a real broker. ``DJANGO_ENV=production``
turns on a mode that refuses to start on insecure defaults.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


Number = TypeVar("Number", int, float)


def env_number(name: str, default: Number) -> Number:
    """An int or float setting, parsed as the type of its default."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return type(default)(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a {type(default).__name__}") from error


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_crontab(name: str, default: str) -> crontab:
    """A five-field cron expression (minute hour day-of-month month day-of-week) as a schedule.

    ``crontab()`` takes its fields in another order (minute, hour, day_of_week, ...), so the
    string goes through ``crontab.from_string``, which knows the cron order.
    """
    raw = os.environ.get(name) or default
    try:
        # from_string splits on single spaces; any run of whitespace separates cron fields.
        return crontab.from_string(" ".join(raw.split()))
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a cron expression: {error}. Give five fields, "
            "minute hour day-of-month month day-of-week, e.g. '0 4 * * 1' (Mondays 04:00)"
        ) from error


# --- Core -----------------------------------------------------------------------------------

DJANGO_ENV = env_str("DJANGO_ENV", "development")
IS_PRODUCTION = DJANGO_ENV == "production"

INSECURE_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_SECRET_KEY)
DEBUG = env_bool("DEBUG", not IS_PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))
# The SQLite file, audio, static files and beat's state go here by default. Beat's shelve does
# not create its folder, so the folder is made here, where the path is decided.
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's scripts and styles, pinned and served from here (no CDN at /api/docs/).
    "drf_spectacular_sidecar",
    "common",
    "users",
    "catalogue",
    "listening",
    "emotion",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the request guards, so the answers they refuse with carry the headers too.
    "common.middleware.RateLimitHeadersMiddleware",
    "common.middleware.RequestBodyLimitMiddleware",
    "common.middleware.RefuseNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "recommender.urls"
WSGI_APPLICATION = "recommender.wsgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite serialises writers; a busy timeout turns "database is locked" into a short wait.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Read replica (issue 13; README "Beyond one machine") ------------------------------------
# A streaming replica of the primary for the read paths (common/db_routers.py says which).
# Unset: one database, everything on default. In tests the replica alias mirrors default.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["common.db_routers.ReadReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no INCLUDE: the plays' covering index (listening.Play) is built without its
    # non-key column there, which only PostgreSQL's index-only scans use.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# --- end of read replica ---------------------------------------------------------------------

# --- Files: audio goes through Django's storage API so an object store can replace disk ---

MEDIA_ROOT = env_str("MEDIA_ROOT", str(DATA_DIR / "media"))
MEDIA_URL = env_str("MEDIA_URL", "/media/")
STATIC_ROOT = env_str("STATIC_ROOT", str(DATA_DIR / "static"))
STATIC_URL = "/static/"

STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem")
if STORAGE_BACKEND == "filesystem":
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    # Any S3-compatible store (AWS, MinIO, Ceph); credentials come from the usual AWS_* vars.
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "location": env_str("AWS_LOCATION", "media"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
    if not DEFAULT_STORAGE["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
else:
    raise ImproperlyConfigured(
        f"STORAGE_BACKEND={STORAGE_BACKEND!r} is not supported; use 'filesystem' or 's3'"
    )

STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies past this size are refused with 413 before they are parsed; audio uploads
# stream to temporary files and have their own limit (AUDIO_MAX_UPLOAD_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_number("MAX_REQUEST_BODY_BYTES", 2_621_440)
# Paths whose bodies have a limit of their own instead, with the function (path, dotted) that
# refuses a bigger body in that API's error format. ListenBrainz takes 1,000 listens of up to
# 10,240 bytes each in one submission, so a scrobbler's full batch must get through.
REQUEST_BODY_LIMITS_BY_PATH = {
    "/1/submit-listens": {
        "max_bytes": 1000 * 10_240,
        "refuse": "listening.listenbrainz.refuse_oversized_submission",
    },
}
AUDIO_MAX_UPLOAD_BYTES = env_number("AUDIO_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# Listening-history exports (POST /api/v1/imports/) are read whole by the import task. Being
# multipart uploads, they must also fit under AUDIO_MAX_UPLOAD_BYTES, which the body-size guard
# applies to every upload.
IMPORT_MAX_UPLOAD_BYTES = env_number("IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)

# --- Cache (throttle counters, the mood-refresh debounce); Redis when configured, so that -----
# --- every web process and worker counts and claims in the same place ------------------------

REDIS_CACHE_URL = env_str("REDIS_CACHE_URL")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -------------------------------------------------------------------------------

MAX_PLAYS_PER_BATCH = 1000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies are read with a nesting-depth limit (common.parsers); forms as DRF does.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # Counted atomically in the cache in fixed windows, and reported in ListenBrainz's
    # X-RateLimit-* headers (common.throttling).
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.AnonRateThrottle",
        "common.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON_RATE", "60/min"),
        "user": env_str("THROTTLE_USER_RATE", "600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Errors answered before any view runs (unknown paths, refused input) take the error shape of
# the API the path belongs to: ListenBrainz's {"code", "error"} under /1/, ours elsewhere.
ERROR_BODIES_BY_PATH_PREFIX = {"/1/": "listening.listenbrainz.listenbrainz_error_body"}
# Every response under these paths carries the X-RateLimit-* headers (common.middleware).
RATE_LIMIT_HEADERS_PATH_PREFIXES = ("/api/v1/", "/1/")

SPECTACULAR_SETTINGS = {
    "TITLE": "Emotion-aware music recommender API",
    "DESCRIPTION": (
        "Listeners submit plays; a worker analyses each track's audio and tags its emotion; "
        "recommendations follow the listener's inferred mood."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["common.openapi.document_each_route_once"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # <id:name> in URLs (common.ids): a database id, 1 to 2**63 - 1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "format": "int64", "minimum": 1}},
}

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# With no broker, tasks run in-process right after the transaction commits: the embedded
# default needs no Redis, and the code path (on_commit -> delay) is the same as in production.
# Production runs on RabbitMQ (amqp://, docker/compose.yml) because of acks_late below: a
# delivery stays unacknowledged until its task returns, and RabbitMQ puts it back in its queue
# the moment the worker's connection drops, so the task of a killed worker runs again on the
# next one at once. Redis (redis://) is fine for development, but gives such a delivery back
# only after its visibility timeout (below).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_number("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_number("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "emotion.tasks.analyse_*": {"queue": "audio"},
    "emotion.tasks.tag_*": {"queue": "inference"},
    "emotion.tasks.train_*": {"queue": "training"},
    "recommender.tasks.*": {"queue": "inference"},
}
# On Redis, a late-acked task is redelivered after this long; it must outlast the slowest task.
# (RabbitMQ ignores it. Its counterpart there is the server's consumer_timeout, which closes a
# channel holding a delivery unacknowledged for longer: 30 min by default, 4 h in compose's
# docker/rabbitmq.conf. Late-acked tasks end well within 30 min, since training, the one long
# task, is acknowledged when it starts; the 4 h is for deliveries a busy worker holds back.)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# beat's state (when each entry last ran) lives in the data folder, not in whatever directory
# beat was started from; its shelve files are celerybeat-schedule plus a backend's suffixes.
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-audio-analyses": {
        "task": "emotion.tasks.requeue_stalled_analyses",
        "schedule": timedelta(minutes=env_number("ANALYSIS_SWEEP_MINUTES", 10)),
    },
    "fail-abandoned-training-runs": {
        "task": "emotion.tasks.sweep_abandoned_training_runs",
        "schedule": timedelta(minutes=env_number("TRAINING_SWEEP_MINUTES", 30)),
    },
    "infer-active-listener-moods": {
        "task": "recommender.tasks.infer_active_listener_moods",
        "schedule": timedelta(minutes=env_number("MOOD_BATCH_REFRESH_MINUTES", 15)),
    },
    "retrain-mood-model": {
        "task": "emotion.tasks.retrain_mood_model_on_schedule",
        "schedule": env_crontab("MOOD_MODEL_RETRAIN_CRON", "0 4 * * 1"),
    },
    "sweep-imports": {
        "task": "listening.tasks.sweep_imports",
        "schedule": timedelta(minutes=env_number("IMPORT_SWEEP_MINUTES", 10)),
    },
}

# --- Audio analysis -------------------------------------------------------------------------

AUDIO_SEGMENT_SECONDS = env_number("AUDIO_SEGMENT_SECONDS", 3.0)
# The per-segment features the worker extracts (emotion/features/feature_sets.py): the seed's
# 50 LLDs plus musicnn embeddings by default, or "lld50-v1" for the LLDs alone. Changing it
# makes every stored analysis stale, and the sweep re-extracts them (README: "Upgrading the
# feature set").
AUDIO_FEATURE_SET = env_str("AUDIO_FEATURE_SET", "lld50-musicnn-v1")
AUDIO_MAX_SECONDS = env_number("AUDIO_MAX_SECONDS", 20 * 60)
# An analysis still pending after this long lost its task (broker down at commit time, say).
ANALYSIS_STALL_MINUTES = env_number("ANALYSIS_STALL_MINUTES", 30)

# --- Listening-history imports ---------------------------------------------------------------

# An import still running this long after its last attempt started has no task left to finish
# it (its worker was lost, or storage or the database failed through every retry): the beat
# sweep fails it with that reason. Keep it well above CELERY_TASK_TIME_LIMIT.
IMPORT_STALL_MINUTES = env_number("IMPORT_STALL_MINUTES", 30)


def env_file_retention(name: str, default: str) -> str | int:
    """One of delete-on-success or keep, or a whole number of days (returned as an int)."""
    raw = (os.environ.get(name) or default).strip()
    if raw in {"delete-on-success", "keep"}:
        return raw
    if raw.isdigit():
        return int(raw)
    raise ImproperlyConfigured(
        f"{name}={raw!r}; use delete-on-success, keep, or a number of days such as 30"
    )


# What becomes of an uploaded export file: "delete-on-success" (deleted once its plays are
# stored; a failed import keeps its file for a person to look at), "keep", or a number of days
# after which the file of any finished import, done or failed, is deleted by the sweep.
IMPORT_FILE_RETENTION = env_file_retention("IMPORT_FILE_RETENTION", "delete-on-success")

# --- Mood model ------------------------------------------------------------------------------

# Scheduled retraining learns from tracks with a curator label ("curator") or from a dataset
# folder in the 4Q metadata.csv format ("dataset", MOOD_MODEL_TRAINING_DATASET on the worker).
MOOD_MODEL_TRAINING_SOURCE = env_str("MOOD_MODEL_TRAINING_SOURCE", "curator")
MOOD_MODEL_TRAINING_DATASET = env_str("MOOD_MODEL_TRAINING_DATASET", "")
MOOD_MODEL_TRAINING_LABEL_COLUMN = env_str("MOOD_MODEL_TRAINING_LABEL_COLUMN", "quadrant")
# The architecture preset scheduled runs train (emotion/ml/presets.py); "default" follows the
# best in cross-validation. MOOD_MODEL_TRAINING_PRESET is its older name.
MOOD_MODEL_TRAINING_PRESET = env_str(
    "MOOD_MODEL_TRAINING_ARCHITECTURE", env_str("MOOD_MODEL_TRAINING_PRESET", "default")
)
# Training tasks are acknowledged when they start, so a long run is never delivered twice, but
# a task a worker holds back behind one waits this long: keep it below the broker's redelivery
# timeout (Redis's visibility timeout, RabbitMQ's consumer_timeout; 4 h in compose).
MOOD_MODEL_TRAINING_TIME_LIMIT = env_number("MOOD_MODEL_TRAINING_TIME_LIMIT", 3 * 3600)
# The soft limit lets a run record why it stopped; the hard limit, this much later, kills it.
MOOD_MODEL_TRAINING_HARD_LIMIT_MARGIN = 300
# Share of artists held out to compare a new model with the active one.
MOOD_MODEL_HOLDOUT_FRACTION = env_number("MOOD_MODEL_HOLDOUT_FRACTION", 0.2)
# A new model is promoted only when its held-out macro-F1 beats the active one by more.
MOOD_MODEL_MIN_IMPROVEMENT = env_number("MOOD_MODEL_MIN_IMPROVEMENT", 0.0)
MOOD_TAGGING_BATCH_SIZE = env_number("MOOD_TAGGING_BATCH_SIZE", 256)

# --- Listener mood and recommendations --------------------------------------------------------

MOOD_TOP_K = env_number("MOOD_TOP_K", 10)
MOOD_WINDOW_DAYS = env_number("MOOD_WINDOW_DAYS", 7)
# Plays marked chosen_by_user=false came from our recommendations; counting them would let
# the loop confirm its own suggestions instead of reading the listener.
MOOD_IGNORES_RECOMMENDED_PLAYS = env_bool("MOOD_IGNORES_RECOMMENDED_PLAYS", True)
# After a burst of plays, one inference runs this long after the first of them.
MOOD_REFRESH_DEBOUNCE_SECONDS = env_number("MOOD_REFRESH_DEBOUNCE_SECONDS", 60)
# Older snapshots are still served, but a refresh is queued.
MOOD_SNAPSHOT_MAX_AGE_MINUTES = env_number("MOOD_SNAPSHOT_MAX_AGE_MINUTES", 60)
# The periodic batch re-infers listeners whose plays arrived within this many minutes.
MOOD_BATCH_REFRESH_MINUTES = env_number("MOOD_BATCH_REFRESH_MINUTES", 15)
# No usable plays in the window: "last_known" mood, else "spread" over all emotions. A mood
# the listener declared always comes first.
MOOD_COLD_START = env_str("MOOD_COLD_START", "last_known")
# "bandit" (Thompson sampling over emotions) or "seed" (seed 002's plain rule).
RECOMMENDATION_POLICY = env_str("RECOMMENDATION_POLICY", "seed")
RECOMMENDATION_PRIOR_STRENGTH = env_number("RECOMMENDATION_PRIOR_STRENGTH", 20.0)
# Each answer multiplies earlier bandit counts by this: moods change, old answers fade.
RECOMMENDATION_FEEDBACK_DECAY = env_number("RECOMMENDATION_FEEDBACK_DECAY", 0.8)
RECOMMENDATION_RECENT_PLAY_DAYS = env_number("RECOMMENDATION_RECENT_PLAY_DAYS", 7)
RECOMMENDATION_POPULARITY_DAYS = env_number("RECOMMENDATION_POPULARITY_DAYS", 30)
RECOMMENDATION_POPULARITY_WEIGHT = env_number("RECOMMENDATION_POPULARITY_WEIGHT", 0.1)
RECOMMENDATION_ARTIST_REPEAT_PENALTY = env_number("RECOMMENDATION_ARTIST_REPEAT_PENALTY", 0.15)
RECOMMENDATION_MAX_LIMIT = env_number("RECOMMENDATION_MAX_LIMIT", 50)
# Emotion journeys (README "Emotion journeys"): the largest jump between consecutive tracks
# (a request may ask for another), a target point's region, and the region around a
# rejected track that a re-plan avoids (in score units: 1 = the most progress a step within
# the reach could give). Small, because a reject mostly says "too far", which the learned
# reach already answers (README, "Emotion journeys by simulation": 0.5 cost runs reaching
# the target).
JOURNEY_MAX_STEP = env_number("JOURNEY_MAX_STEP", 0.25)
JOURNEY_TARGET_RADIUS = env_number("JOURNEY_TARGET_RADIUS", 0.1)
JOURNEY_REJECT_RADIUS = env_number("JOURNEY_REJECT_RADIUS", 0.1)
JOURNEY_REJECT_PENALTY = env_number("JOURNEY_REJECT_PENALTY", 0.2)
for _name, _value, _allowed in (
    ("MOOD_COLD_START", MOOD_COLD_START, {"last_known", "spread"}),
    ("RECOMMENDATION_POLICY", RECOMMENDATION_POLICY, {"bandit", "seed"}),
):
    if _value not in _allowed:
        raise ImproperlyConfigured(f"{_name}={_value!r}; choose one of {sorted(_allowed)}")

# --- Logging: one JSON object per line in production, readable lines in development ---------

LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PRODUCTION else "console")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "console": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "numba": {"level": "WARNING"},
    },
}

# --- Production guard -----------------------------------------------------------------------

if IS_PRODUCTION:
    # HTTPS only, behind a TLS-terminating proxy that says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The compose health check asks the web container itself, over plain http, with no proxy
    # in between; a redirect to https would make it fail.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # A year, as the browsers' preload lists require. Browsers remember it: a domain that must
    # also serve plain http (itself or a subdomain) sets these lower or off before deploying.
    SECURE_HSTS_SECONDS = env_number("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

    insecure = []
    if SECRET_KEY == INSECURE_SECRET_KEY or len(SECRET_KEY) < 50:
        insecure.append("SECRET_KEY must be set to a random value of at least 50 characters")
    if DEBUG:
        insecure.append("DEBUG must be false")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        insecure.append("ALLOWED_HOSTS must list the service's host names (no '*')")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        insecure.append("DATABASE_URL must point at PostgreSQL, not the embedded SQLite file")
    if not CELERY_BROKER_URL:
        insecure.append("CELERY_BROKER_URL must be set: production runs tasks on workers")
    if not REDIS_CACHE_URL:
        insecure.append(
            "REDIS_CACHE_URL must be set: web processes and workers share rate-limit counters "
            "and the mood-refresh debounce through it"
        )
    if insecure:
        raise ImproperlyConfigured(
            "Refusing to start in production with insecure settings: " + "; ".join(insecure)
        )
