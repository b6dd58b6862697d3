"""The jobs on the real components, and their faults: a Celery worker process on Redis, Redis down
while people keep working, a worker killed in the middle of a recompute.

They need a database that other processes can reach, so they run on PostgreSQL (CI's second pass).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from attainment.engine import period_recompute
from attainment.models import Attainment, PeriodComputation
from attainment.tasks import recompute_period, recompute_stale
from cchc_portal.celery import app
from conftest import COMPLETE
from reports.models import Submission, SubmissionEvent, SubmissionStatus
from reports.periods import period_create
from reports.services import submission_approve, submission_for, submission_save_figures, submission_submit
from units.models import Kind
from units.tests.factories import UnitFactory

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


# A worker whose recompute stops after writing the new rows, before committing them: the moment
# a killed worker hurts most. The stall is patched in the worker process only.
STALLING_WORKER = """
import os, pathlib, sys, time
import django
django.setup()
from attainment import store
real = store._sync_flags  # the last write of a run, whatever it had to insert or update
def stalled(*args, **kwargs):
    written = real(*args, **kwargs)
    pathlib.Path(os.environ["STALL_MARKER"]).touch()
    time.sleep(600)
    return written
store._sync_flags = stalled
from celery.__main__ import main
sys.argv = ["celery"] + sys.argv[1:]
main()
"""


# A worker whose runs write to RUN_LOG when they start and end, and wait SLOW seconds after reading
# the figures: approvals sent then are not in the run, and two runs of a period would overlap.
LOGGING_WORKER = """
import os, time
import django
django.setup()
from attainment import engine
real_run, real_load, slow = engine.period_recompute, engine.load, float(os.environ["SLOW"])
def log(line):
    with open(os.environ["RUN_LOG"], "a") as out:
        out.write(f"{line} {os.getpid()} {time.time()}\\n")
def run(period):
    log(f"start {period.key}")
    try:
        return real_run(period)
    finally:
        log(f"end {period.key}")
def load(period):
    inputs = real_load(period)
    log(f"read {period.key}")
    time.sleep(slow)
    return inputs
engine.period_recompute, engine.load = run, load
from celery.__main__ import main
main()
"""


def _start_worker(
    queue: str, stall_marker: Path | None = None, run_log: Path | None = None, slow: float = 2
) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery"]
    extra = {"DJANGO_SETTINGS_MODULE": "cchc_portal.settings"}
    if stall_marker:
        command, extra = [sys.executable, "-c", STALLING_WORKER], {**extra, "STALL_MARKER": str(stall_marker)}
    elif run_log:
        command, extra = [sys.executable, "-c", LOGGING_WORKER], {**extra, "RUN_LOG": str(run_log), "SLOW": str(slow)}
    return subprocess.Popen(
        [*command, "-A", "cchc_portal", "worker", "--pool=solo", "--loglevel=WARNING", "-Q", queue],
        cwd=ROOT,
        env=_env(CELERY_QUEUE=queue, **(extra if stall_marker or run_log else {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def worker_queue(monkeypatch):
    """A real worker process on a queue of its own, so no other worker takes the test's tasks."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    process = _start_worker(queue)
    yield queue
    _stop(process)


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


def _submitted(unit, period, reporter):
    submission = submission_for(unit=unit, period=period, by=reporter)
    submission_save_figures(submission=submission, figures=COMPLETE, by=reporter)
    return submission_submit(submission=submission, by=reporter)


def test_redis_down_while_reporters_send_and_reviewers_approve(
    catalogue, period, district_b, reporter_a, reporter_b, secretariat, monkeypatch
):
    """Through the portal's own pages, with the broker and the cache unreachable."""
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # this process's setup only
    submitted_b = _submitted(district_b, period, reporter_b)
    script = f"""
from django.test import Client
from django.test.utils import setup_test_environment
from units.models import User
setup_test_environment()
reporter, reviewer = Client(), Client()
reporter.force_login(User.objects.get(username="{reporter_a.username}"))
figures = {{"version": 0, "TTHC-08__numerator": "1.234", "TTHC-08__denominator": "2.000", "TTHC-09__value": "92,5",
           "TCBM-02__numerator": "90", "TCBM-02__denominator": "100", "submit": "1"}}
print("send", reporter.post("/reports/2025-Q1/429/save/", figures).status_code)
reviewer.force_login(User.objects.get(username="sonv"))
print("approve", reviewer.post("/reports/2025-Q1/425/approve/", {{"version": {submitted_b.version}}}).status_code)
print("dashboard", reviewer.get("/dashboard/?period=2025-Q1").status_code)
"""
    working = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=_env(REDIS_URL="redis://127.0.0.1:1/0"),  # nothing listens on port 1
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert working.returncode == 0, working.stderr
    assert working.stdout.split()[-6:] == ["send", "302", "approve", "302", "dashboard", "200"], working.stdout
    assert "Could not run attainment.tasks.recompute_stale" in working.stderr
    # Nothing lost: the report arrived once with its figures, the approval stands.
    sent = Submission.objects.get(unit__code="429", period=period)
    assert sent.status == SubmissionStatus.SUBMITTED
    assert sent.figures.get(target__code="TTHC-08").numerator == 1234
    assert SubmissionEvent.objects.filter(submission=sent, action="submitted").count() == 1
    assert Submission.objects.get(pk=submitted_b.pk).status == SubmissionStatus.APPROVED
    assert PeriodComputation.objects.get(period=period).stale is True
    # The approval is not in the results yet (the figures sent before it show as provisional).
    assert not Attainment.objects.filter(period=period, unit__code="425", provisional=False).exists()
    assert Attainment.objects.filter(period=period, unit__code="425", provisional=True).exists()

    recompute_stale.apply()  # beat's sweep, once Redis is back

    assert PeriodComputation.objects.get(period=period).stale is False
    assert Attainment.objects.get(period=period, unit__code="425", target__code="TTHC-08").value == Decimal("61.7")
    provisional = Attainment.objects.get(period=period, unit__code="429", target__code="TTHC-08")
    assert provisional.provisional and provisional.value == Decimal("61.7")


def test_a_worker_killed_mid_recompute_leaves_the_previous_results_and_the_rerun_finishes(
    catalogue, period, district_a, district_b, reporter_a, reporter_b, secretariat, monkeypatch, tmp_path
):
    marker = tmp_path / "stalled"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    submission_approve(submission=_submitted(district_a, period, reporter_a), by=secretariat)
    period_recompute(period)
    before = sorted(Attainment.objects.filter(period=period).values_list("unit__code", "target__code", "value"))
    assert ("425", "TTHC-08", None) in before

    stalling = _start_worker(queue, stall_marker=marker)
    try:
        submission_approve(submission=_submitted(district_b, period, reporter_b), by=secretariat)  # enqueues
        assert _wait_for(marker.exists), "the worker never reached the swap"
        stalling.send_signal(signal.SIGKILL)  # killed holding an uncommitted swap
        stalling.wait(timeout=20)
    finally:
        _stop(stalling)

    def previous_results_back() -> bool:
        rows = Attainment.objects.filter(period=period).values_list("unit__code", "target__code", "value")
        return sorted(rows) == before

    assert _wait_for(previous_results_back, seconds=30), "the killed run's rows leaked"
    assert PeriodComputation.objects.get(period=period).stale is True

    rerun_queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", rerun_queue)
    worker = _start_worker(rerun_queue)
    try:
        recompute_stale.delay()  # what beat does every five minutes

        def rerun_finished() -> bool:
            row = Attainment.objects.filter(period=period, unit__code="425", target__code="TTHC-08").first()
            return row is not None and row.value == Decimal("61.7")

        assert _wait_for(rerun_finished), "the rerun did not finish"
    finally:
        _stop(worker)
    assert PeriodComputation.objects.get(period=period).stale is False


# --- One run of a period at a time, on two workers ------------------------------------------------


def _runs(log: Path) -> list[tuple[str, int, float, float]]:
    """(period, pid, start, end) of each finished run in the workers' log."""
    started, runs = {}, []
    for line in log.read_text().splitlines() if log.exists() else []:
        event, key, pid, at = line.split()
        if event == "start":
            started[(key, pid)] = float(at)
        elif event == "end":
            runs.append((key, int(pid), started.pop((key, pid)), float(at)))
    return runs


def _read(log: Path, key: str) -> int:
    return sum(1 for line in (log.read_text().splitlines() if log.exists() else []) if line.startswith(f"read {key}"))


@pytest.fixture
def two_logging_workers(monkeypatch, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    log = tmp_path / "runs.log"
    workers = [_start_worker(queue, run_log=log) for _ in range(2)]
    time.sleep(3)  # both listening before the first task
    yield log
    for worker in workers:
        _stop(worker)


def test_a_burst_of_approvals_gives_two_runs_of_the_period_on_two_workers(
    two_logging_workers, catalogue, period, province, secretariat
):
    log = two_logging_workers
    units = [UnitFactory(code=f"9{i}", name=f"Huyện {i}", kind=Kind.DISTRICT, parent=province) for i in range(6)]
    sent = [_submitted(unit, period, None) for unit in units]
    submission_approve(submission=sent[0], by=secretariat)  # after commit: a sweep for a worker
    assert _wait_for(lambda: _read(log, "2025-Q1") == 1), "no worker began the run"
    for submission in sent[1:]:  # five more while the first run is under way: five more sweeps
        submission_approve(submission=submission, by=secretariat)

    def all_in() -> bool:
        values = Attainment.objects.filter(period=period, target__code="TTHC-08", unit__in=units, value=Decimal("61.7"))
        return values.count() == 6 and not PeriodComputation.objects.get(period=period).stale

    assert _wait_for(all_in), "the approvals made during the first run were lost"
    time.sleep(3)  # the other sweeps have nothing left to do
    runs = _runs(log)
    assert len(runs) == 2, runs  # six approvals, six sweeps on two workers: two runs
    (_, _, _, first_end), (_, _, second_start, _) = sorted(runs, key=lambda r: r[2])
    assert second_start >= first_end  # one after the other

    one_more = UnitFactory(code="99", name="Huyện 99", kind=Kind.DISTRICT, parent=province)
    submission_approve(submission=_submitted(one_more, period, None), by=secretariat)
    assert _wait_for(lambda: len(_runs(log)) == 3), "an approval after the runs got no run of its own"


def test_two_calls_for_one_period_never_both_compute_while_two_periods_run_side_by_side(
    two_logging_workers, catalogue, period, district_a, secretariat
):
    log = two_logging_workers
    later = period_create(key="2025-Q2")
    for quarter in (period, later):
        submission_approve(submission=_submitted(district_a, quarter, None), by=secretariat)
    assert _wait_for(lambda: not PeriodComputation.objects.filter(stale=True).exists())
    time.sleep(2)
    log.unlink()

    same = [recompute_period.delay(period.pk) for _ in range(2)]
    answers = sorted((r.get(timeout=60)[0] for r in same), key=lambda a: a["runs"])
    assert answers == [
        {"period": "2025-Q1", "runs": 0, "skipped": False, "busy": True},
        {"period": "2025-Q1", "runs": 1, "skipped": False, "busy": False},
    ]
    assert len(_runs(log)) == 1

    log.unlink()
    both = [recompute_period.delay(p.pk) for p in (period, later)]
    assert [r.get(timeout=60)[0]["runs"] for r in both] == [1, 1]
    (_, pid_a, start_a, end_a), (_, pid_b, start_b, end_b) = _runs(log)
    assert pid_a != pid_b and start_a < end_b and start_b < end_a  # the lock is per period
