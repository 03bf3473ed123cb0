"""Handover settings: everything an operator may change is read from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from handover.lib.env import (
    env_base_url,
    env_bool,
    env_choice,
    env_duration,
    env_int,
    env_networks,
    env_path,
    env_percent,
    env_size,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("HANDOVER_DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("HANDOVER_DEBUG", False)
SECRET_KEY_FILE = DATA_DIR / "secret_key"


def _secret_key() -> str:
    """The operator's key, or one made on first start and kept in the data directory."""
    configured = os.environ.get("HANDOVER_SECRET_KEY")
    if configured:
        return configured
    if SECRET_KEY_FILE.exists():
        return SECRET_KEY_FILE.read_text().strip()
    import secrets

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    SECRET_KEY_FILE.touch(mode=0o600)
    SECRET_KEY_FILE.write_text(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h for h in env_str("HANDOVER_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "ninja",
    "django_htmx",
    "axes",
    "handover.accounts",
    "handover.offers",
    "handover.orders",
    "handover.ledger",
    "handover.payments",
    "handover.billing",
    "handover.delivery",
    "handover.evidence",
    "handover.records",
    "handover.disputes",
    "handover.trust",
    "handover.notifications",
    "handover.api",
    "handover.ops",
    "handover.web",
]

MIDDLEWARE = [
    # The client's address behind the proxies named in HANDOVER_TRUSTED_PROXIES, for all below.
    "handover.lib.proxies.ForwardedForMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times on every page in the signed-in user's zone.
    "handover.accounts.middleware.TimeZoneMiddleware",
    "handover.api.uploads.UploadMiddleware",
    "handover.api.middleware.IdempotencyMiddleware",
    # Inside the idempotency layer, so the 405 stored for a key is the JSON one.
    "handover.api.middleware.MethodNotAllowedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A suspended user's session ends; support's warnings show (after the messages).
    "handover.web.auth.AccountStandingMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Every page loads only our own files: no inline script or style, nothing from elsewhere.
# A response that sets its own policy (delivered files, previews) keeps it.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Production security (operator) ---------------------------------------------------------
# HANDOVER_HTTPS=true says the site is served over HTTPS, by the app or by a proxy in front of
# it: cookies then travel over HTTPS only, plain HTTP is redirected, and browsers are told
# (HSTS) to use nothing but HTTPS for this host. Off by default, so that the demo keeps working
# on http://127.0.0.1; `handover check --deploy` says what a public site still lacks.
HANDOVER_HTTPS = env_bool("HANDOVER_HTTPS", False)
# A proxy that already redirects HTTP may keep the app from doing it too.
SECURE_SSL_REDIRECT = env_bool("HANDOVER_SSL_REDIRECT", HANDOVER_HTTPS)
SESSION_COOKIE_SECURE = HANDOVER_HTTPS
CSRF_COOKIE_SECURE = HANDOVER_HTTPS
SECURE_HSTS_SECONDS = env_int(
    "HANDOVER_HSTS_SECONDS", 365 * 24 * 3600 if HANDOVER_HTTPS else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HANDOVER_HSTS_INCLUDE_SUBDOMAINS", HANDOVER_HTTPS)
# Off unless asked: once a browser vendor's preload list holds the domain, leaving it is slow.
SECURE_HSTS_PRELOAD = env_bool("HANDOVER_HSTS_PRELOAD", False)


def _proxy_ssl_header() -> tuple[str, str] | None:
    """The header a TLS-terminating proxy sets, as ``X-Forwarded-Proto: https``.

    Trust it only behind a proxy that always sets or strips it: anyone could send it
    otherwise, and the app would take a plain HTTP request for a secure one."""
    raw = env_str("HANDOVER_PROXY_SSL_HEADER", "").strip()
    if not raw:
        return None
    name, colon, value = (part.strip() for part in raw.partition(":"))
    if not colon or not name or not value or " " in name:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"HANDOVER_PROXY_SSL_HEADER={raw!r}: expected a header and its value, "
            "like X-Forwarded-Proto: https"
        )
    return "HTTP_" + name.upper().replace("-", "_"), value


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header()
# The proxies in front (addresses or networks): behind them, the client's address is read from
# X-Forwarded-For (handover.lib.proxies). Empty: the connection's address is the client's.
HANDOVER_TRUSTED_PROXIES = env_networks("HANDOVER_TRUSTED_PROXIES")
# Whatever the scheme (Django's defaults, written out so that nobody loosens them unseen).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# --- end of production security ----------------------------------------------------------------

ROOT_URLCONF = "handover.urls"
WSGI_APPLICATION = "handover.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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


def _database() -> dict:
    """PostgreSQL when DATABASE_URL or the PG* variables say so, else SQLite in WAL mode."""
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    elif os.environ.get("PGDATABASE") or os.environ.get("PGHOST"):
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "handover"),
            "USER": os.environ.get("PGUSER", ""),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {
            # Django's SQLite backend with a fair queue for writers (handover/lib/sqlite: it
            # cuts the transition's p99 with 2 clients 5x, bench/RESULTS.md, 2026-12-06).
            "ENGINE": "handover.lib.sqlite",
            "NAME": str(DATA_DIR / "handover.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
                # failing with "database is locked" when a reader upgrades to a writer; a
                # writer waits up to ``timeout`` seconds.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    if config.get("ENGINE") not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"DATABASE_URL: unsupported engine {config.get('ENGINE')}")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

HANDOVER_STORAGE = env_choice("HANDOVER_STORAGE", "local", {"local", "s3"})
# Presigned S3 links for downloads live this long at most (seconds).
HANDOVER_S3_URL_LIFETIME = min(env_int("HANDOVER_S3_URL_LIFETIME", 300, minimum=1), 300)


def _file_storage() -> dict:
    """Delivered files and previews: local files under the data directory, or an S3 bucket."""
    if HANDOVER_STORAGE == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": str(DATA_DIR / "files"),
                "directory_permissions_mode": 0o700,
                "file_permissions_mode": 0o600,
            },
        }
    from django.core.exceptions import ImproperlyConfigured

    required = ("HANDOVER_S3_BUCKET", "HANDOVER_S3_ACCESS_KEY", "HANDOVER_S3_SECRET_KEY")
    missing = [name for name in required if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured("HANDOVER_STORAGE=s3 needs " + ", ".join(missing))
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("HANDOVER_S3_BUCKET", ""),
            "endpoint_url": env_str("HANDOVER_S3_ENDPOINT", "") or None,
            "region_name": env_str("HANDOVER_S3_REGION", "") or None,
            "access_key": env_str("HANDOVER_S3_ACCESS_KEY", ""),
            "secret_key": env_str("HANDOVER_S3_SECRET_KEY", ""),
            "location": env_str("HANDOVER_S3_PREFIX", ""),
            "addressing_style": env_choice("HANDOVER_S3_ADDRESSING", "path", {"path", "virtual"}),
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": HANDOVER_S3_URL_LIFETIME,
            "file_overwrite": False,
        },
    }


STORAGES = {
    "default": _file_storage(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads stream straight to storage (handover.delivery.uploads); nothing else takes files.
FILE_UPLOAD_HANDLERS = ["handover.delivery.uploads.NoFilesHandler"]
# Our own scratch files (an S3 original fetched for its preview, previews being made).
HANDOVER_TMP_DIR = DATA_DIR / "tmp"
HANDOVER_TMP_DIR.mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_TEMP_DIR = str(HANDOVER_TMP_DIR)
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Serve the apps' static files (admin, API docs) without a collectstatic step.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

TASKS = {
    "default": {
        "BACKEND": env_str("HANDOVER_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Sign-in: django-axes locks a username at one address out after repeated failures.
AUTHENTICATION_BACKENDS = [
    "handover.web.auth.LoginThrottleBackend",
    "handover.web.auth.SuspensionCheckBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# By name and address together, so that nobody can lock a stranger out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/accounts/locked_out.html"
# The API's token exchange is throttled too, and answers its lockout in JSON.
AXES_LOCKOUT_CALLABLE = "handover.accounts.lockout.lockout_response"
# Over all names: an address that failed this many sign-ins in one window is refused (429)
# until the window ends, before any password is hashed (accounts.lockout). Counted in Django's
# cache: files under DATA_DIR, shared by every worker process of this machine (a deployment on
# several machines sets a shared cache here instead).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}
HANDOVER_LOGIN_ADDRESS_LIMIT = env_int("HANDOVER_LOGIN_ADDRESS_LIMIT", 20, minimum=1)
HANDOVER_LOGIN_ADDRESS_WINDOW = env_duration("HANDOVER_LOGIN_ADDRESS_WINDOW", "15m")
# Each sign-in costs one hash, a wrong name as much as a wrong password (Django hashes once to
# equalise them); the throttles above bound how many a client can ask for. The README states
# this hasher and its cost; accounts/tests/test_lockout.py holds them, so a change is deliberate.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # Django 6.1: 1,500,000 iterations
    # Django's others, to read hashes made with them.
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:offers"
LOGOUT_REDIRECT_URL = "web:offers"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

MAILERS = {
    "default": {
        "BACKEND": env_str(
            "HANDOVER_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        ),
    }
}
if MAILERS["default"]["BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {  # type: ignore[assignment]
        "host": env_str("HANDOVER_SMTP_HOST", "localhost"),
        "port": env_int("HANDOVER_SMTP_PORT", 587, minimum=1),
        "username": env_str("HANDOVER_SMTP_USER", ""),
        "password": env_str("HANDOVER_SMTP_PASSWORD", ""),
        # STARTTLS on the submission port; HANDOVER_SMTP_SSL for implicit TLS (port 465).
        "use_tls": env_bool("HANDOVER_SMTP_STARTTLS", True),
        "use_ssl": env_bool("HANDOVER_SMTP_SSL", False),
        # Django's SMTP sender waits forever by default; the worker must not.
        "timeout": 10,
    }
# The address every e-mail's links start with (lib.links.page_url): where users reach the web.
HANDOVER_BASE_URL = env_base_url("HANDOVER_BASE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env_str("HANDOVER_EMAIL_FROM", "Handover <handover@localhost>")
# A password-reset link works this long (Django's token; it also dies once the password or the
# address changes, or the user logs in); links that confirm an address work the other.
PASSWORD_RESET_TIMEOUT = int(env_duration("HANDOVER_PASSWORD_RESET_LIFETIME", "1h").total_seconds())
HANDOVER_EMAIL_LINK_LIFETIME = env_duration("HANDOVER_EMAIL_LINK_LIFETIME", "3d")
# Our handover.E001 (handover/ops/checks.py) says the same, naming the variable to set.
SILENCED_SYSTEM_CHECKS = ["mail.E001"]
# Webhooks go only to public addresses unless this is on (else any user could make the
# server call its own network, the cloud metadata address among it).
HANDOVER_WEBHOOK_ALLOW_PRIVATE = env_bool("HANDOVER_WEBHOOK_ALLOW_PRIVATE", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"axes_requestless": {"()": "handover.web.logfilters.SkipRequestlessAxesRecords"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "axes_console": {"class": "logging.StreamHandler", "filters": ["axes_requestless"]},
    },
    "loggers": {
        # Lockouts are warnings; every attempt (INFO) would drown them.
        "axes": {"handlers": ["axes_console"], "level": "WARNING", "propagate": False},
        "handover": {"handlers": ["console"], "level": env_str("HANDOVER_LOG_LEVEL", "INFO")},
        # A 500's traceback goes to the console whatever DEBUG says; operators need it.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# --- Product settings (operator) ---
HANDOVER_CURRENCY = env_str("HANDOVER_CURRENCY", "EUR")
HANDOVER_SELLER_FEE_PERCENT = env_percent("HANDOVER_SELLER_FEE_PERCENT", "20")
HANDOVER_BUYER_FEE_PERCENT = env_percent("HANDOVER_BUYER_FEE_PERCENT", "5.5")
HANDOVER_AUTO_COMPLETE_AFTER = env_duration("HANDOVER_AUTO_COMPLETE_AFTER", "3d")
HANDOVER_CANCELLATION_WINDOW = env_duration("HANDOVER_CANCELLATION_WINDOW", "48h")
HANDOVER_ACCEPTANCE_WINDOW = env_duration("HANDOVER_ACCEPTANCE_WINDOW", "24h")
HANDOVER_PAYMENT_WINDOW = env_duration("HANDOVER_PAYMENT_WINDOW", "1h")
HANDOVER_CLEARANCE_PERIOD = env_duration("HANDOVER_CLEARANCE_PERIOD", "14d")
# How soon support should decide a dispute; the queue shows due_at and overdue.
HANDOVER_SUPPORT_RESPONSE_TARGET = env_duration("HANDOVER_SUPPORT_RESPONSE_TARGET", "24h")
HANDOVER_SCHEDULER_INTERVAL = env_duration("HANDOVER_SCHEDULER_INTERVAL", "10s")
HANDOVER_PAYMENT_PROVIDER = env_choice(
    "HANDOVER_PAYMENT_PROVIDER", "test", {"test", "manual", "stripe"}
)
# Stripe (HANDOVER_PAYMENT_PROVIDER=stripe). The keys are never logged or shown; the API base
# points the SDK at a test server (empty: Stripe's own).
HANDOVER_STRIPE_SECRET_KEY = env_str("HANDOVER_STRIPE_SECRET_KEY", "")
HANDOVER_STRIPE_PUBLISHABLE_KEY = env_str("HANDOVER_STRIPE_PUBLISHABLE_KEY", "")
HANDOVER_STRIPE_WEBHOOK_SECRET = env_str("HANDOVER_STRIPE_WEBHOOK_SECRET", "")
HANDOVER_STRIPE_API_BASE = env_str("HANDOVER_STRIPE_API_BASE", "")
# Handover answers a chargeback this long before the bank's deadline (the seller's note is
# taken until then).
HANDOVER_CHARGEBACK_SUBMIT_BEFORE = env_duration("HANDOVER_CHARGEBACK_SUBMIT_BEFORE", "2d")

# A card payment still pending this long after it started is asked about at Stripe by the
# worker, so that a lost webhook never strands an order.
HANDOVER_STRIPE_CHECK_AFTER = env_duration("HANDOVER_STRIPE_CHECK_AFTER", "5m")


def stripe_csp(csp: dict[str, list[str]], api_base: str) -> dict[str, list[str]]:
    """The policy with what Stripe.js needs on the pay page: its script, its frames and its
    calls to Stripe's API (https://docs.stripe.com/security/guide#content-security-policy);
    a test server's address instead of Stripe's when ``api_base`` is set."""
    script, frame, connect = (
        ([api_base], [api_base], [api_base])
        if api_base
        else (
            ["https://js.stripe.com", "https://*.js.stripe.com"],
            ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
            ["https://api.stripe.com"],
        )
    )
    return {
        **csp,
        "script-src": [*csp["script-src"], *script],
        "frame-src": [CSP.SELF, *frame],
        "connect-src": [CSP.SELF, *connect],
    }


if HANDOVER_PAYMENT_PROVIDER == "stripe":
    SECURE_CSP = stripe_csp(SECURE_CSP, HANDOVER_STRIPE_API_BASE)
HANDOVER_MAX_UPLOAD_FILES = env_int("HANDOVER_MAX_UPLOAD_FILES", 50, minimum=1)
HANDOVER_MAX_FILE_SIZE = env_size("HANDOVER_MAX_FILE_SIZE", "5G")
HANDOVER_MAX_DELIVERY_SIZE = env_size("HANDOVER_MAX_DELIVERY_SIZE", "20G")
# Behind nginx: the internal location that maps to the data directory's files/ folder, e.g.
# /_handover_files/; empty serves the bytes from the app (local storage only).
HANDOVER_ACCEL_REDIRECT = env_str("HANDOVER_ACCEL_REDIRECT", "")
# The deployment's Ed25519 key for tree heads and receipts; made on first use.
HANDOVER_EVIDENCE_KEY_FILE = env_path(
    "HANDOVER_EVIDENCE_KEY_FILE", DATA_DIR / "keys" / "evidence.pem"
)
# The worker signs a tree head this often while new events arrive.
HANDOVER_TREE_HEAD_INTERVAL = env_duration("HANDOVER_TREE_HEAD_INTERVAL", "60s")
HANDOVER_PREVIEW_TIMEOUT = env_duration("HANDOVER_PREVIEW_TIMEOUT", "120s")
HANDOVER_PREVIEW_MEMORY = env_size("HANDOVER_PREVIEW_MEMORY", "1G")
HANDOVER_PREVIEW_ATTEMPTS = env_int("HANDOVER_PREVIEW_ATTEMPTS", 3, minimum=1)
HANDOVER_PREVIEW_VIEW_WINDOW = env_duration("HANDOVER_PREVIEW_VIEW_WINDOW", "15m")
# A video's preview: its first quarter, at most this long ("clip"), or all of it small ("whole").
HANDOVER_PREVIEW_CLIP = env_duration("HANDOVER_PREVIEW_CLIP", "20s")
HANDOVER_PREVIEW_VIDEO = env_choice("HANDOVER_PREVIEW_VIDEO", "clip", {"clip", "whole"})
HANDOVER_REFUSED_LIMIT = env_int("HANDOVER_REFUSED_LIMIT", 10, minimum=1)
HANDOVER_REFUSED_WINDOW = env_duration("HANDOVER_REFUSED_WINDOW", "1h")
HANDOVER_MAX_IMAGE_PIXELS = env_int("HANDOVER_MAX_IMAGE_PIXELS", 100_000_000, minimum=1)
HANDOVER_IDEMPOTENCY_TTL = env_duration("HANDOVER_IDEMPOTENCY_TTL", "1d")
HANDOVER_WEB_WORKERS = env_int("HANDOVER_WEB_WORKERS", 2, minimum=1)
HANDOVER_WEB_THREADS = env_int("HANDOVER_WEB_THREADS", 8, minimum=1)
