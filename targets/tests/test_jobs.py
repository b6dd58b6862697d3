"""The jobs on the real components: a Celery worker process on Redis, and a broker that is down.

Both need a database that other processes can reach, so they run on PostgreSQL (CI's second pass).
"""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cchc_portal.celery import app
from reports.models import Submission, SubmissionStatus
from targets.models import Attainment, PeriodComputation
from targets.tasks import recompute_stale

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _env(**extra) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "false", **extra}


@pytest.fixture
def worker_queue(monkeypatch):
    """A real worker process on a queue of its own, so no other worker takes the test's tasks."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cchc_portal",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env=_env(CELERY_QUEUE=queue),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_for(check, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def test_approving_updates_attainment_through_a_real_worker(worker_queue, submitted_a, secretariat, login):
    client = login(secretariat)
    response = client.post("/reports/2025-Q1/429/approve/", {"version": submitted_a.version})
    assert response.status_code == 302
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.APPROVED

    def computed() -> bool:
        row = Attainment.objects.filter(unit__code="429", target__code="TTHC-08", period=submitted_a.period).first()
        return row is not None and row.value == Decimal("61.7")

    assert _wait_for(computed), "the worker did not recompute the period"
    assert PeriodComputation.objects.get(period=submitted_a.period).stale is False


def test_approval_succeeds_with_the_broker_down_and_the_sweep_catches_up(submitted_a, secretariat):
    script = (
        "from reports.models import Submission; from units.models import User; "
        "from reports.services import submission_approve; "
        f"submission_approve(submission=Submission.objects.get(pk={submitted_a.pk}), "
        "by=User.objects.get(username='sonv'))"
    )
    approving = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=_env(REDIS_URL="redis://127.0.0.1:1/0"),  # nothing listens on port 1
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert approving.returncode == 0, approving.stderr
    assert "Could not enqueue the recompute" in approving.stderr
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.APPROVED
    assert PeriodComputation.objects.get(period=submitted_a.period).stale is True
    assert not Attainment.objects.exists()

    recompute_stale.apply()  # what beat runs every five minutes once the broker is back

    assert PeriodComputation.objects.get(period=submitted_a.period).stale is False
    row = Attainment.objects.get(unit__code="429", target__code="TTHC-08", period=submitted_a.period)
    assert row.value == Decimal("61.7")
