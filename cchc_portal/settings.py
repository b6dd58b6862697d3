"""Settings for the CCHC portal, read from the environment (and an optional `.env`).

With nothing configured it runs on a SQLite file, eager Celery and a local-memory cache, so a
fresh machine needs only Python. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis.
Production mode is the default and refuses to start without a real secret key and hosts;
`DJANGO_DEBUG=true` (which `make` sets) is development mode.
"""

import datetime as dt
import ipaddress
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The safe value is the default: a deployment that forgets DJANGO_DEBUG runs in production mode, and
# so refuses to start without a secret key and hosts rather than show tracebacks to the internet.
# Development asks for debug mode: manage.py and the Makefile set DJANGO_DEBUG=true, and a pytest
# run (which pytest marks with PYTEST_VERSION) gets the development defaults too; pytest-django still
# runs the tests themselves with DEBUG=False.
DEBUG = env.bool("DJANGO_DEBUG", default="PYTEST_VERSION" in os.environ)

DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if not DEBUG else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "Production mode (the default; DJANGO_DEBUG=true is development) needs SECRET_KEY: "
            "at least 50 random characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "Production mode (the default; DJANGO_DEBUG=true is development) needs ALLOWED_HOSTS."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    # The portal's own apps, lowest first: each imports only those above it in this list.
    "cchc_portal",
    "units",
    "targets",
    "reports",
    "attainment",
    "dashboard",
    "guide",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cchc_portal.middleware.PortalLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cchc_portal.middleware.SessionLifetimeMiddleware",
    "cchc_portal.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cchc_portal.middleware.ContentSecurityPolicyMiddleware",
    "cchc_portal.middleware.PortalNotFoundMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "cchc_portal.middleware.DatabaseRefusedMiddleware",
]

ROOT_URLCONF = "cchc_portal.urls"
WSGI_APPLICATION = "cchc_portal.wsgi.application"

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
                "guide.context_processors.help_link",
            ],
        },
    },
]

# Database: SQLite file by default, PostgreSQL (psycopg 3) when DATABASE_URL says so.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when configured, is both the Celery broker and the cache.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Without a broker, tasks run in-process so the portal works on a bare machine.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="cchc")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
CELERY_BEAT_SCHEDULE = {
    "open-due-periods": {"task": "reports.tasks.open_due_periods", "schedule": crontab(minute=5, hour=0)},
    "send-reminders": {"task": "reports.tasks.send_reminders", "schedule": crontab(minute=0, hour=7)},
    "purge-removed-evidence": {"task": "reports.tasks.purge_removed_evidence", "schedule": crontab(minute=30, hour=2)},
    "recompute-stale": {"task": "attainment.tasks.recompute_stale", "schedule": 300.0},
    "recompute-all": {"task": "attainment.tasks.recompute_all", "schedule": crontab(minute=30, hour=1)},
}
# Fail fast when the broker is down: the approval commits and the sweep recomputes later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 3

AUTH_USER_MODEL = "units.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "cchc_portal.security.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "cchc_portal.security.NotBlankValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and formats: Vietnamese first, English available.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["cchc_portal.formats"]

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

STATIC_URL = "static/"
# collectstatic fills STATIC_ROOT in production; in development WhiteNoise serves from the finders.
STATIC_ROOT = None if DEBUG else env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Private files (evidence documents) live outside any public path; views serve them after a check.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private")))

# Reporting: the internal deadline's day of the window's last month, reminders, evidence files.
REPORT_DEADLINE_DAY = env.int("REPORT_DEADLINE_DAY", default=17)
REMINDER_DAYS_BEFORE = env.int("REMINDER_DAYS_BEFORE", default=3)
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 2**20)
# A report's documents: how many and how many bytes may be attached, how many bytes may be kept
# counting removed ones (attach-and-remove cannot fill the disk), how far an Office file may
# unzip, and how long a removed document's bytes are kept before they are deleted.
EVIDENCE_MAX_FILES_PER_REPORT = env.int("EVIDENCE_MAX_FILES_PER_REPORT", default=30)
EVIDENCE_MAX_BYTES_PER_REPORT = env.int("EVIDENCE_MAX_BYTES_PER_REPORT", default=200 * 2**20)
EVIDENCE_MAX_HELD_BYTES_PER_REPORT = env.int("EVIDENCE_MAX_HELD_BYTES_PER_REPORT", default=400 * 2**20)
EVIDENCE_MAX_UNZIPPED_BYTES = env.int("EVIDENCE_MAX_UNZIPPED_BYTES", default=200 * 2**20)
EVIDENCE_PURGE_AFTER_DAYS = env.int("EVIDENCE_PURGE_AFTER_DAYS", default=30)
# Uploads above 2,5 MB go to a temporary file, not memory; a form takes at most a few files. The
# body size itself is limited by the reverse proxy (README: client_max_body_size 25m).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 5
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000")

# Attainment engine: score bands (lowest score of each band), "at risk" margin in points,
# how many missed thresholds (and targets off track) make a laggard rather than a unit to watch,
# and the robust z-score beyond which a figure is odd. README explains the defaults.
SCORE_BANDS = [(90, "good"), (80, "fair"), (65, "average"), (0, "weak")]
AT_RISK_MARGIN = env.float("AT_RISK_MARGIN", default=2.0)
LAGGARD_MIN_MISSED = env.int("LAGGARD_MIN_MISSED", default=3)
LAGGARD_MIN_OFF_TRACK = env.int("LAGGARD_MIN_OFF_TRACK", default=3)
OUTLIER_Z = env.float("OUTLIER_Z", default=3.5)

# Uploaded workbooks: size before and after unzipping (zip bombs are refused).
XLSX_MAX_UPLOAD_BYTES = env.int("XLSX_MAX_UPLOAD_BYTES", default=10 * 2**20)
XLSX_MAX_UNZIPPED_BYTES = env.int("XLSX_MAX_UNZIPPED_BYTES", default=200 * 2**20)

# E-mail (notices, reminders, invitations, password resets): EMAIL_URL when set, read by
# django-environ (smtp://user:password@host:25, smtp+tls://...:587, smtp+ssl://...:465); otherwise
# EMAIL_BACKEND, the console by default (mail is printed, for development).
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # a mail server that does not answer fails the try, retried later
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cchc-portal@localhost")
# An invitation's link to set a first password lives this many days (a reset link PASSWORD_RESET_TIMEOUT
# seconds, Django's 3 days); one e-mail address is sent at most this many reset links an hour.
INVITATION_TIMEOUT_DAYS = env.int("INVITATION_TIMEOUT_DAYS", default=7)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
PASSWORD_RESET_MAILS_PER_HOUR = env.int("PASSWORD_RESET_MAILS_PER_HOUR", default=3)

# Login throttling (cchc_portal.security.LoginThrottleHandler). Wrong passwords of the last
# AXES_COOLOFF_MINUTES are counted three ways, each with limits of its own:
# - one user name at one address (a desk): at AXES_FAILURE_LIMIT that pair waits the cool-off.
# - one user name from any addresses (guessing one account from many computers): past one desk's
#   limit each try waits LOGIN_SLOW_DOWN_SECONDS after the last failure; at twice that limit the
#   user name is locked from everywhere until the cool-off.
# - one address across user names (spraying a few common passwords over many accounts): slowed
#   from twice a desk's limit, locked at four times. A commune office behind one address makes a
#   few typos a day, far below it.
# Every other limit is above a desk's, so a reporter mistyping at one computer holds back neither
# a colleague at another computer (same account) nor one at the same computer (their own account).
AXES_HANDLER = "cchc_portal.security.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
LOGIN_SLOW_DOWN_SECONDS = env.int("LOGIN_SLOW_DOWN_SECONDS", default=60)
LOGIN_USERNAME_SLOW_DOWN_FROM = env.int("LOGIN_USERNAME_SLOW_DOWN_FROM", default=AXES_FAILURE_LIMIT + 1)
LOGIN_USERNAME_FAILURE_LIMIT = env.int("LOGIN_USERNAME_FAILURE_LIMIT", default=2 * AXES_FAILURE_LIMIT)
LOGIN_ADDRESS_SLOW_DOWN_FROM = env.int("LOGIN_ADDRESS_SLOW_DOWN_FROM", default=2 * AXES_FAILURE_LIMIT)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=4 * AXES_FAILURE_LIMIT)
if not (
    AXES_FAILURE_LIMIT < LOGIN_USERNAME_SLOW_DOWN_FROM <= LOGIN_USERNAME_FAILURE_LIMIT
    and AXES_FAILURE_LIMIT < LOGIN_ADDRESS_SLOW_DOWN_FROM <= LOGIN_ADDRESS_FAILURE_LIMIT
):
    raise ImproperlyConfigured(
        "Login limits: a desk's (AXES_FAILURE_LIMIT) must be below where a user name or an address slows "
        "down (LOGIN_*_SLOW_DOWN_FROM), and that at most where it locks (LOGIN_*_FAILURE_LIMIT)."
    )
# A success clears that user name at that address only: signing in to one's own account must not
# clear what an address did to other accounts, nor what other addresses did to this one.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A try refused during a pause checks no password, so it is no failure and does not extend the
# pause: one desk hammering its paused sign-in never pushes its user name to that name's limit.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "cchc_portal.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "cchc_portal.security.client_ip"
AXES_VERBOSE = False
# Behind the TLS proxy (production), the client's address is the X-Forwarded-For entry the proxy
# appended, read only when the request comes from one of TRUSTED_PROXIES (addresses or CIDR
# ranges; by default the proxy on this host). A client reaching gunicorn directly cannot pick its
# address, and so cannot dodge the per-address limit, by sending the header itself.
BEHIND_TLS_PROXY = not DEBUG and env.bool("BEHIND_TLS_PROXY", default=True)
TRUSTED_PROXIES = [entry.strip() for entry in env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])]
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error

# Content-Security-Policy: scripts only from the portal's own static files (no inline scripts).
# Inline styles stay allowed: the chart library writes its tooltips with style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# A session ends after SESSION_IDLE_MINUTES without a request (its age, renewed by every request),
# SESSION_MAX_HOURS after sign-in however busy (SessionLifetimeMiddleware: a working day), and when
# the browser closes: an office PC left signed in does not stay open to the next person.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=8)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# The language choice is read by the server only, and only sent back to the portal itself.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},  # a line per sign-in otherwise; lockouts still show
}
