"""Settings, all read from the environment with safe defaults for local use.

DATABASE_URL   sqlite:///db.sqlite3 by default; postgres://user@host:5432/name for PostgreSQL
DATABASE_REPLICA_URL  a streaming replica of DATABASE_URL: reads go there (config/replicas.py)
SECRET_KEY     required when DEBUG is off
DEBUG          "1"/"true" for local development (default off)
ALLOWED_HOSTS  comma-separated host names
HTTPS          "0" serves plain http (no https redirect, no secure-only cookies, no HSTS);
               default on unless DEBUG, with TLS ended by a reverse proxy in front
API_READS_REQUIRE_LOGIN   "1" makes API reads need an authenticated user (default: public)
API_ANON_THROTTLE_RATE    requests per client for anonymous API use (default 300/minute)
API_NUM_PROXIES           reverse proxies in front of the app, for throttling by client address
REDIS_URL      redis://host:6379/0 puts the cache (throttle counts, cached reports) in Redis,
               shared by every web process; without it each process has its own memory cache
CACHE_KEY_PREFIX          prefix of this site's cache keys (for several sites on one Redis)
STATIC_ROOT    where collectstatic puts the static files and WhiteNoise serves them from
               (default: staticfiles/ in the project)
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment (or DEBUG=1 for local use).")
    SECRET_KEY = "insecure-local-development-key-" + "x" * 32

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "csp",
    "pledges",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.transactions.DeferredReadTransactions",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

# django-axes counts failed sign-ins first; Django's own backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A refused request leaves nothing half-written.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=5,
        # JIT compiling costs about half a second on the reports' queries, more than it saves.
        options="-c jit=off",
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers wait for each other instead of failing with "database is locked":
    # a transaction takes the write lock when it begins (it cannot be refused later, when it
    # tries to upgrade a read lock), and readers do not block the writer (WAL). Requests that
    # only read begin DEFERRED instead (config/transactions.py): they never wait for a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

# Reads on a streaming replica, writes (and the reads of a request that writes) on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
    # Under test, the replica is the test database itself (a real replica cannot see it).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.replicas.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(0, "config.replicas.PrimaryForWritesMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Shared state: with REDIS_URL every web process counts throttles and caches answers
# (api/caching.py) in the same Redis, through Django's own backend; without it, in its own memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "config.redis_cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
    | {"KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "")}
}

# Oversized bodies are refused (413) before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", "2097152"))

# django-import-export: exporting needs the view permission (importing is the pledge admin's
# own rule: add and change).
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"

# Admin imports: the largest file accepted, and for XLSX (a zip archive) the largest total
# uncompressed size and number of members, read from the archive's directory before parsing.
IMPORT_MAX_FILE_SIZE = int(os.environ.get("IMPORT_MAX_FILE_SIZE", str(20 * 1024 * 1024)))
IMPORT_MAX_UNCOMPRESSED_SIZE = int(
    os.environ.get("IMPORT_MAX_UNCOMPRESSED_SIZE", str(200 * 1024 * 1024))
)
IMPORT_MAX_ARCHIVE_MEMBERS = int(os.environ.get("IMPORT_MAX_ARCHIVE_MEMBERS", "1000"))

# Served over https unless DEBUG: TLS ends at a reverse proxy in front of gunicorn. HTTPS=0
# serves plain http on purpose (the local docker-compose run on http://localhost): no redirect,
# cookies not marked secure-only, no HSTS.
HTTPS = env_bool("HTTPS", default=not DEBUG)
# X-Forwarded-Proto is trusted only behind a proxy that sets it (and drops a client's own).
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
# Both bind every subdomain (preload for good, in the browsers' lists): only on request.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
# check --deploy asks for these; they are off on purpose unless the settings above turn them on
# (plain http was chosen explicitly with HTTPS=0).
SILENCED_SYSTEM_CHECKS = [
    check
    for check, enabled in (
        ("security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("security.W021", SECURE_HSTS_PRELOAD),
        ("security.W004", HTTPS),
        ("security.W008", HTTPS),
        ("security.W012", HTTPS),
        ("security.W016", HTTPS),
    )
    if not enabled
]

# Content-Security-Policy (django-csp): everything from the site itself, nothing inline
# (the templates load their scripts and styles as files); images may be data: URIs, which
# Swagger UI and the admin use for icons. django-import-export's export page has one inline
# event handler and two style attributes, simple-history's version list one style attribute:
# exactly those are allowed, by hash.
CSP_EXPORT_PAGE_ATTRIBUTES = {
    "script": ["'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],  # onSelectToggleChange
    "style": [
        "'sha256-mHgUAqxc8GPXM/QhzkHrHujcrQTU9fd6ZjWz+icxKcA='",  # padding: 0;
        "'sha256-+YWRMZ88jMyO7jVlBA52tZADiPobPIUA8LAWee68Fvs='",  # font-weight: bold;
        # simple-history's list of versions: <p class="paginator" style="border-top: 0">
        "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='",
    ],
}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-hashes'", *CSP_EXPORT_PAGE_ATTRIBUTES["script"]],
        "style-src": ["'self'", "'unsafe-hashes'", *CSP_EXPORT_PAGE_ATTRIBUTES["style"]],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Sign-in attempts to the admin (django-axes): after AXES_FAILURE_LIMIT failures from one
# client address, that address is locked out (429) for AXES_COOLOFF_MINUTES. Attempts are
# stored in the database, so every worker sees them.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_ONLY_ADMIN_SITE = True
AXES_RESET_ON_SUCCESS = True
# The client address as the API's throttles read it (API_NUM_PROXIES).
AXES_CLIENT_IP_CALLABLE = "api.throttling.client_address"

# Exchange rates older than this many days before a pledge's date are not used
# (docs/methodology.md#currency-conversion).
EXCHANGE_RATE_MAX_AGE_DAYS = 7

# REST API (docs/data-dictionary.md#api): public reads unless API_READS_REQUIRE_LOGIN, writes
# need the model permission. Token authentication comes first so that a request without
# credentials gets 401 with a WWW-Authenticate header, not 403.
API_READS_REQUIRE_LOGIN = env_bool("API_READS_REQUIRE_LOGIN")
API_ANON_THROTTLE_RATE = os.environ.get("API_ANON_THROTTLE_RATE", "300/minute")
# The expensive reads have a rate of their own, for every client (signed in or not): counted
# per user, or per address when anonymous, in the default cache.
API_SCOPED_THROTTLE_RATES = {
    "export": os.environ.get("API_EXPORT_THROTTLE_RATE", "10/minute"),
    "reports": os.environ.get("API_REPORTS_THROTTLE_RATE", "120/minute"),
    "search": os.environ.get("API_SEARCH_THROTTLE_RATE", "60/minute"),
}
# The streaming CSV export of pledges: anonymous clients get at most this many rows (more
# matching rows: 401, sign in or narrow the filters); signed-in users get every row.
API_ANON_EXPORT_MAX_ROWS = int(os.environ.get("API_ANON_EXPORT_MAX_ROWS", "10000"))
# A JSON body nested deeper than this is refused (400) before validation walks it.
API_JSON_MAX_DEPTH = int(os.environ.get("API_JSON_MAX_DEPTH", "32"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ReadOrModelPermission"],
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonymousThrottle",
        "api.throttling.SearchThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_ANON_THROTTLE_RATE},
    "NUM_PROXIES": int(os.environ.get("API_NUM_PROXIES", "0")),
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["api.backends.FilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Military aid pledges API",
    "DESCRIPTION": (
        "Military aid pledged to Ukraine: donors, categories, events, pledges with their items "
        "and sources, their allocation and delivery records, ECB exchange rates and aggregate "
        "reports. Reads are public; writes need `Authorization: Token <key>` and the model "
        "permission. Money is a decimal string."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Ids on write, brief nested objects on read: separate request and response components.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Four choice sets have a field named "kind": each enum is named after its own.
    "ENUM_NAME_OVERRIDES": {
        "DonorKindEnum": "pledges.choices.DonorKind",
        "EventKindEnum": "pledges.choices.EventKind",
        "SourceKindEnum": "pledges.choices.SourceKind",
        "FulfilmentKindEnum": "pledges.choices.FulfilmentKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.stated_constraints",
    ],
    # The schema and Swagger UI are read like the API (API_READS_REQUIRE_LOGIN).
    "SERVE_PERMISSIONS": ["api.permissions.ReadOnly"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
