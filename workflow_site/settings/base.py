"""Settings shared by every environment. Every deployment value comes from the environment.

See https://docs.djangoproject.com/en/5.2/ref/settings/ and https://django-environ.readthedocs.io/.
"""

import os
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env is a convenience for developers; production sets real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Read as is: django-environ treats a value starting with "$" as a reference to another variable, and a
# random secret key may well start with "$".
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    # Sign-in lockout: failures per username + address and per address (see "Sign-in and credentials" below).
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
    "viewflow",
    # Project apps. Dependencies run one way: domain apps -> reviews -> accounts/workflow_site.
    "workflow_site",
    "workflow_site.roc_calendar",
    "accounts",
    "reviews",
    "proposals",
    "theses",
    "plan_control",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response, from CONTENT_SECURITY_POLICY below (workflow_site/csp.py).
    "workflow_site.csp.ContentSecurityPolicyMiddleware",
    # Serves collected static files without a separate web server: https://whitenoise.readthedocs.io/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /api/ bodies past the size limits below: a JSON 400 naming the limit, before CSRF or a parser reads them.
    "workflow_site.middleware.ApiRequestSizeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The serving address for links in e-mails when SITE_URL is unset (workflow_site/site_url.py).
    "workflow_site.site_url.SiteUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Puts the viewflow site and application on request.resolver_match for the back-office templates.
    "viewflow.middleware.SiteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a sign-in refused by the lockout into a 429 (accounts.auth.lockout_response); keep it last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workflow_site.urls"
WSGI_APPLICATION = "workflow_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
            "builtins": ["workflow_site.roc_calendar.templatetags.roc"],
        },
    },
]

# SQLite under var/ is the zero-setup default; tests and production use PostgreSQL (psycopg 3).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses every sign-in while its username + address or its address is locked out; must come first.
    "axes.backends.AxesStandaloneBackend",
    # Object-level predicates (accounts/rules.py) first, then Django's model permissions.
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sign-in and credentials (README "Security"). A session ends after this many seconds without a request;
# every request renews it.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# API tokens (accounts.models.ApiToken): one per sign-in, unused for IDLE seconds or older than MAX_AGE: 401.
API_TOKEN_IDLE_TIMEOUT = env.int("API_TOKEN_IDLE_TIMEOUT", default=8 * 60 * 60)
API_TOKEN_MAX_AGE = env.int("API_TOKEN_MAX_AGE", default=30 * 24 * 60 * 60)
# django-axes (https://django-axes.readthedocs.io/), the form and POST /api/v1/auth/token/ alike: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, or LOGIN_IP_FAILURE_LIMIT from one address
# whatever the usernames, sign-in there answers 429 until LOGIN_COOLOFF_SECONDS pass without a failed attempt
# (an attempt while locked out counts as one). A successful sign-in clears that username's failures there.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=30)
LOGIN_COOLOFF_SECONDS = env.int("LOGIN_COOLOFF_SECONDS", default=15 * 60)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]  # limits in this order (accounts.auth)
AXES_HANDLER = "accounts.auth.LockoutHandler"
AXES_FAILURE_LIMIT = "accounts.auth.failure_limit"
AXES_COOLOFF_TIME = "accounts.auth.cool_off"
AXES_LOCKOUT_CALLABLE = "accounts.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.auth.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# Reverse proxies in front of Django: the client address is this many entries from the right of X-Forwarded-For
# (0: REMOTE_ADDR). Sign-in lockout and API throttles both use it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Throttle counters and other short-lived state. Several processes need a shared cache (redis://...) for the rates
# to hold across them; the default, per process, suits one process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", _("繁體中文")), ("en", _("English"))]
# viewflow ships zh_Hans only: the project's own catalogue translates the viewflow strings the UI shows.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # viewflow's CSS names a font file it does not ship, so the Manifest storage fails collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# E-mail: SMTP by default; the host and credentials come from the environment.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="研考會工作流程系統 <noreply@rdec.example.gov.tw>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
# The zero-setup default is kombu's file-system transport under var/ (at-most-once; never for production).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu creates none of these folders; `control_folder` must be set or it lands in the working directory.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "out"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "out"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # Redis redelivers an unacknowledged task after the visibility timeout: keep it above the longest task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Reminders (notifications/): links in e-mails point here (workflow_site/site_url.py); retries back off exponentially.
# Unset, a link written during a request points at the host and port that request came to; `make run` sets it to
# the port it serves on, so the worker's e-mails link there too.
SITE_URL = env("SITE_URL", default="")
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
NOTIFICATION_RETRY_BASE_SECONDS = env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=60)
NOTIFICATION_SEND_BATCH = env.int("NOTIFICATION_SEND_BATCH", default=200)
NOTIFICATION_LOOKBACK_DAYS = env.int("NOTIFICATION_LOOKBACK_DAYS", default=60)
# Thesis applicants (theses/): how long the link in the registration e-mail stays valid.
APPLICANT_VERIFY_SECONDS = env.int("APPLICANT_VERIFY_SECONDS", default=2 * 24 * 60 * 60)
# A queued batch not sent after this long is assumed lost (file-system broker, purged queue) and queued again.
NOTIFICATION_REQUEUE_AFTER_SECONDS = env.int("NOTIFICATION_REQUEUE_AFTER_SECONDS", default=3600)
# How long a send task holds the rows it claimed; a redelivered task (same id) takes them back at once.
NOTIFICATION_CLAIM_SECONDS = env.int("NOTIFICATION_CLAIM_SECONDS", default=600)
# Year-end rollup (plan_control/appraisal/): each Celery task computes whole agencies, at least this many plans
# together in one statement (1: one task per agency).
APPRAISAL_ROLLUP_BATCH_PLANS = env.int("APPRAISAL_ROLLUP_BATCH_PLANS", default=2500)

# Request size limits (README "Security"; https://docs.djangoproject.com/en/5.2/ref/settings/#data-upload-max-memory-size).
# A JSON or form body: at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes. A multipart upload (attachments and imports take files
# of 20 MB): at most UPLOAD_MAX_REQUEST_SIZE bytes in all. Past either, /api/ answers a JSON 400 naming the limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
UPLOAD_MAX_REQUEST_SIZE = env.int("UPLOAD_MAX_REQUEST_SIZE", default=21 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Expiring tokens, one per sign-in (accounts.auth.ApiTokenAuthentication); DRF's authtoken table is unused.
        "accounts.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, with the error answers (400/401/403/404/409/429) documented too.
    "DEFAULT_SCHEMA_CLASS": "workflow_site.schema.AutoSchema",
    # ?limit= 1..500 and ?offset= bounded: anything else a 400 (workflow_site.api.LimitOffsetPagination).
    "DEFAULT_PAGINATION_CLASS": "workflow_site.api.LimitOffsetPagination",
    # JSON bodies bounded in size and depth like forms (workflow_site.api.JSONParser).
    "DEFAULT_PARSER_CLASSES": [
        "workflow_site.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["workflow_site.filters.StrictFilterBackend"],
    # ApplicationError -> 400/403/404/409 in one place.
    "EXCEPTION_HANDLER": "workflow_site.api.exception_handler",
    # Per-process unless CACHE_URL is shared; 429 with Retry-After. POST auth/token/ has its own stricter scope.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.auth.AnonThrottle", "accounts.auth.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/minute"),
        "user": env("API_THROTTLE_USER", default="600/minute"),
        "auth_token": env("API_THROTTLE_AUTH_TOKEN", default="10/minute"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
}

# Who may read /api/schema/, /api/docs/ and /api/redoc/: anyone when true, signed-in users only when false
# (production's default; env API_DOCS_PUBLIC).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=True)

# Sent on every response by workflow_site.csp. Scripts only from our own origin: no inline <script> anywhere (Swagger
# UI is served split); the inline onclick handlers of viewflow's delete/assign/unassign/import/export pages and our
# print page are allowed by their hashes. Styles need 'unsafe-inline': viewflow's templates carry style="" attributes
# and Swagger UI's page an inline <style>. Images may be data: URIs (Swagger UI's and Material's icons).
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": [
        "'self'",
        "'unsafe-hashes'",
        "'sha256-seD630z7277f97kwMcz927xhDjB8+HQCe4f0EztcsAU='",  # window.history.back(-1)
        "'sha256-GdAjV6tJJrCv5L8FkbHYzJwNrscSj7aTuYJzS/C7wZY='",  # ... ;setTimeout(()=>Turbo.visit('.'), 100)
        "'sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU='",  # window.print()
    ],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],  # Redoc builds its search worker from a blob
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CONTENT_SECURITY_POLICY_REPORT_ONLY = env.bool("CONTENT_SECURITY_POLICY_REPORT_ONLY", default=False)

SPECTACULAR_SETTINGS = {
    "TITLE": "RDEC Workflow API",
    "DESCRIPTION": "研考會工作流程系統 API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "LICENSE": {"name": "AGPL-3.0-or-later"},
    # Swagger UI and Redoc served from our own static files: government intranets often reach no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The same choices serve several serializers: one schema enum each, named once.
    "ENUM_NAME_OVERRIDES": {
        "PanelMemberKindEnum": "reviews.models.PanelMember.Kind",
        "ScoreSheetStatusEnum": "reviews.models.ScoreSheet.Status",
        "ProposalGradeEnum": "proposals.models.Grade",
        "ThesisKindEnum": "theses.models.Kind",
        "ThesisApplicationStatusEnum": "theses.models.ThesisApplication.Status",
        "DocumentFormatEnum": "theses.models.ThesisDocument.Format",
    },
}

# Everything goes to the console once, through the root logger (https://docs.djangoproject.com/en/5.2/topics/logging/).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_error_without_traceback": {"()": "workflow_site.log.ClientErrorWithoutTraceback"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's default config gives "django" its own console handler (with DEBUG) on top of root's: every record
        # twice. Its other handler, mail_admins, has no ADMINS to write to.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 403 or 400 is one line, not a traceback (workflow_site.log); a 500 keeps its traceback.
        "django.request": {"filters": ["client_error_without_traceback"]},
    },
}
