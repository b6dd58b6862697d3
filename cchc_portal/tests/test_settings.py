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


def run(args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_embedded_defaults_need_nothing_but_python():
    out = run(["-c", PROBE], DJANGO_SETTINGS_MODULE="cchc_portal.settings").stdout.split()
    assert out == ["django.db.backends.sqlite3", "django.core.cache.backends.locmem.LocMemCache", "memory://", "True"]


def test_postgres_and_redis_when_configured():
    out = run(
        ["-c", PROBE],
        DJANGO_SETTINGS_MODULE="cchc_portal.settings",
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
