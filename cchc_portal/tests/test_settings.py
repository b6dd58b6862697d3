"""Settings are read from the environment: each case starts a fresh interpreter, as a server would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3y-" + "x9Qz!7pL#2vB" * 5
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
    "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
)


# Set by this test run (PYTEST_VERSION by pytest itself), or settings a case sets for itself.
NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "PYTEST_VERSION",
    "TRUSTED_PROXIES",
}


def run(args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith(("AXES_", "LOGIN_"))}
    clean.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_embedded_defaults_need_nothing_but_python():
    out = run(["-c", PROBE], DJANGO_SETTINGS_MODULE="cchc_portal.settings", DJANGO_DEBUG="true").stdout.split()
    assert out == ["django.db.backends.sqlite3", "django.core.cache.backends.locmem.LocMemCache", "memory://", "True"]


def test_postgres_and_redis_when_configured():
    out = run(
        ["-c", PROBE],
        DJANGO_SETTINGS_MODULE="cchc_portal.settings",
        DJANGO_DEBUG="true",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cchc",
        REDIS_URL="redis://127.0.0.1:6379/0",
    ).stdout.split()
    assert out == [
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/0",
        "False",
    ]


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_unsafe_start(env, message):
    result = run(["manage.py", "check"], DJANGO_DEBUG="false", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def probe(expression: str, **env) -> str:
    """The value of `expression` (over `s`, the settings) in a fresh interpreter, or its error."""
    code = f"import django; django.setup(); from django.conf import settings as s; print({expression})"
    result = run(["-c", code], DJANGO_SETTINGS_MODULE="cchc_portal.settings", **env)
    return result.stdout.strip() if result.returncode == 0 else result.stderr


@pytest.mark.parametrize(
    "entry",
    ["import cchc_portal.wsgi", "from cchc_portal.celery import app; app.loader.import_default_modules()"],
    ids=["gunicorn", "celery"],
)
def test_without_django_debug_what_a_deployment_serves_is_in_production_mode(entry):
    """A deployment that forgets DJANGO_DEBUG does not serve in debug mode: the web server's and the
    worker's entry points refuse to start without a secret key, and with one (and hosts) run with
    DEBUG off."""
    result = run(["-c", entry])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr
    assert probe("s.DEBUG", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="cchc.nghean.gov.vn") == "False"


def test_the_command_line_is_development_unless_told_otherwise():
    assert run(["manage.py", "check"]).returncode == 0
    refused = run(["manage.py", "check"], DJANGO_DEBUG="false")
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr


def test_development_mode_is_asked_for():
    assert probe("s.DEBUG, s.ALLOWED_HOSTS", DJANGO_DEBUG="true") == "True ['127.0.0.1', 'localhost', 'testserver']"


def debug_as_make_sees_it(**env) -> str:
    """DJANGO_DEBUG in the environment of a Makefile recipe."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", "Makefile", "-f", "-", "show-debug"],
        cwd=ROOT,
        input="show-debug:\n\t@echo $$DJANGO_DEBUG\n",
        env={**{k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_make_asks_for_development_mode():
    """`make run`, `make check` and the other helpers are for a developer's machine (and CI);
    a value already in the environment wins."""
    assert debug_as_make_sees_it() == "true"
    assert debug_as_make_sees_it(DJANGO_DEBUG="false") == "false"


def test_production_cookies_are_secure_and_same_site():
    out = probe(
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE, "
        "s.LANGUAGE_COOKIE_HTTPONLY",
        DJANGO_DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="cchc.nghean.gov.vn",
    )
    assert out == "True True True Lax True"


def test_trusted_proxies_come_from_the_environment():
    assert probe("s.TRUSTED_PROXIES", DJANGO_DEBUG="true") == "['127.0.0.1', '::1']"
    given = probe("s.TRUSTED_PROXIES", DJANGO_DEBUG="true", TRUSTED_PROXIES="10.20.0.0/16,192.168.1.10")
    assert given == "['10.20.0.0/16', '192.168.1.10']"
    mistyped = probe("s.TRUSTED_PROXIES", DJANGO_DEBUG="true", TRUSTED_PROXIES="10.20.0.0/16,192.168.1.300")
    assert "ImproperlyConfigured" in mistyped and "TRUSTED_PROXIES" in mistyped


@pytest.mark.parametrize(
    ("env", "starts"),
    [
        ({}, True),
        ({"AXES_FAILURE_LIMIT": "8"}, True),  # the other limits follow it
        ({"LOGIN_USERNAME_SLOW_DOWN_FROM": "6"}, True),
        ({"LOGIN_USERNAME_SLOW_DOWN_FROM": "5"}, False),  # one mistyping desk would slow its name down everywhere
        ({"LOGIN_ADDRESS_SLOW_DOWN_FROM": "6"}, True),
        ({"LOGIN_ADDRESS_SLOW_DOWN_FROM": "5"}, False),  # ... or hold back its colleagues at that address
        ({"LOGIN_ADDRESS_SLOW_DOWN_FROM": "21"}, False),  # slowed down after being locked
    ],
)
def test_login_limits_that_would_lock_out_colleagues_are_refused(env, starts):
    out = probe("s.LOGIN_USERNAME_FAILURE_LIMIT", DJANGO_DEBUG="true", **env)
    assert ("ImproperlyConfigured" not in out) is starts, out


def test_sessions_end_idle_after_an_hour_and_busy_after_a_working_day():
    assert probe("s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST, s.SESSION_MAX_HOURS", DJANGO_DEBUG="true") == (
        "3600 True 8"
    )


def test_production_passes_deploy_check_without_warnings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="cchc.nghean.gov.vn",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_collects_static_files_with_a_manifest(tmp_path):
    """collectstatic hashes every file and follows every reference in the CSS and JS (a vendored
    file pointing to a source map that is not shipped would stop the deployment here)."""
    result = run(
        ["manage.py", "collectstatic", "--noinput"],
        DJANGO_DEBUG="false",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="cchc.nghean.gov.vn",
        STATIC_ROOT=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/bootstrap/bootstrap.min.*.css"))
    # /favicon.ico redirects for good to the unhashed name: it must stay beside the hashed one.
    assert (tmp_path / "favicon.ico").exists() and list(tmp_path.glob("favicon.*.ico"))
