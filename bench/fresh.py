"""How soon after a review decision the dashboards show it, measured with a real Celery worker on
Redis (in the approving process itself when Celery runs eagerly, without REDIS_URL).

A decision is timed from the moment its transaction commits (the approval's service returns) to
the moment every period it made stale is fresh again: the dashboards read the stored rows, so
from then on every page shows it. The worker's own CPU time says how much work that took.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from attainment.models import PeriodComputation
from attainment.tasks import every_period
from cchc_portal.celery import app
from reports.models import Figure, Period, Submission, SubmissionStatus
from reports.services import (
    FigureInput,
    submission_approve,
    submission_reopen,
    submission_save_figures,
    submission_submit,
)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


class Worker:
    """A Celery worker process (`--pool=solo`) on a queue of the benchmark's own."""

    def __init__(self, queue: str):
        db = connection.settings_dict
        url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        env = {**os.environ, "DATABASE_URL": url, "CELERY_QUEUE": queue, "CELERY_TASK_ALWAYS_EAGER": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cchc_portal", "worker", "--pool=solo", "--loglevel=WARNING"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def cpu_seconds(self) -> float:
        """User and system time of the worker so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Workers:
    """`count` real workers on one queue, or none when Celery runs eagerly (the work is then done
    by the approving process, after its commit)."""

    def __init__(self, count: int):
        self.eager = settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL
        self.workers: list[Worker] = []
        if self.eager:
            return
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self._previous = app.conf.task_default_queue
        app.conf.task_default_queue = self.queue
        self.workers = [Worker(self.queue) for _ in range(count)]
        time.sleep(3)  # let them connect before the first task

    def cpu_seconds(self) -> float | None:
        return sum(w.cpu_seconds() for w in self.workers) if self.workers else None

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if not self.eager:
            app.conf.task_default_queue = self._previous


def wait_fresh(periods: list[Period], seconds: float = TIMEOUT) -> float:
    """Seconds until none of `periods` is stale."""
    started = time.perf_counter()
    ids = [p.pk for p in periods]
    while PeriodComputation.objects.filter(period_id__in=ids, stale=True).exists():
        if time.perf_counter() - started > seconds:
            raise TimeoutError(f"periods {ids} still stale after {seconds} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def _marked(period: Period) -> list[Period]:
    """The periods a decision in `period` makes stale: itself, later ones of its kind, its year's."""
    return [p for p in Period.objects.filter(end__gte=period.end) if p.kind == period.kind or p.year == period.year]


def _ready(submission: Submission, by, bump: int) -> Submission:
    """The report reopened, one figure changed and sent again, and everything fresh after that:
    what is timed next is the approval alone."""
    if submission.status == SubmissionStatus.APPROVED:
        submission = submission_reopen(submission=submission, by=by, reason="Đo thời gian")
    figure = Figure.objects.filter(submission=submission).exclude(numerator__isnull=True).first()
    if figure is not None:
        step = bump if figure.numerator < figure.denominator else -bump
        numerator = min(figure.denominator, max(0, figure.numerator + step))
        data = FigureInput(numerator=numerator, denominator=figure.denominator)
    else:
        figure = Figure.objects.filter(submission=submission).first()
        data = FigureInput(value=Decimal(50 + bump % 40))
    submission_save_figures(submission=submission, figures={figure.target.code: data}, by=by)
    return submission_submit(submission=submission, by=by)


def single(period: Period, submissions: list[Submission], by, runs: int) -> dict:
    """Median seconds from one approval in `period` to every period it marks being fresh."""
    marked = _marked(period)
    times, cpu = [], []
    workers = Workers(1)
    try:
        for i, submission in enumerate(submissions[:runs]):
            submission = _ready(submission, by, i + 1)
            wait_fresh(marked)
            before = workers.cpu_seconds()
            started = time.perf_counter()
            submission_approve(submission=submission, by=by)
            wait_fresh(marked)
            times.append(time.perf_counter() - started)
            if before is not None:
                cpu.append(workers.cpu_seconds() - before)
    finally:
        workers.stop()
    return _row(times, cpu, workers.eager, periods=len(marked))


def burst(period: Period, submissions: list[Submission], by) -> dict:
    """Approvals of many units one after another: seconds from the last to every marked period
    fresh, and the worker's CPU for the whole burst."""
    marked = _marked(period)
    workers = Workers(1)
    try:
        ready = [_ready(s, by, i + 1) for i, s in enumerate(submissions)]
        wait_fresh(marked)
        before = workers.cpu_seconds()
        started = time.perf_counter()
        for submission in ready:
            submission_approve(submission=submission, by=by)
        sent = time.perf_counter() - started
        after_last = wait_fresh(marked)
        cpu = None if before is None else workers.cpu_seconds() - before
    finally:
        workers.stop()
    return {
        "approvals": len(ready),
        "approving_seconds": round(sent, 3),
        "fresh_after_last_seconds": round(after_last, 3),
        "worker_cpu_seconds": cpu and round(cpu, 2),
        "eager": workers.eager,
    }


def nightly(workers_count: int) -> dict:
    """The nightly whole recompute of every period, fanned out one period per task."""
    workers = Workers(workers_count)
    try:
        since, started = timezone.now(), time.perf_counter()
        every_period().apply_async()
        periods = PeriodComputation.objects.filter(period__submissions__isnull=False).distinct()
        while periods.filter(Q(computed_at__isnull=True) | Q(computed_at__lt=since)).exists():
            if time.perf_counter() - started > 3600:
                raise TimeoutError("the nightly recompute did not end within an hour")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        workers.stop()
    return {"workers": 0 if workers.eager else workers_count, "seconds": round(seconds, 2)}


def _row(times: list[float], cpu: list[float], eager: bool, **extra) -> dict:
    return {
        "median_seconds": round(statistics.median(times), 3),
        "min_seconds": round(min(times), 3),
        "max_seconds": round(max(times), 3),
        "runs": len(times),
        "worker_cpu_seconds": round(statistics.median(cpu), 3) if cpu else None,
        "eager": eager,
        **extra,
    }


def measure_fresh(periods: list[Period], by, runs: int, burst_size: int, log: Callable[[str], None]) -> dict:
    """Approval to fresh in the latest quarter, two quarters back, and a burst in the latest."""
    latest, older = periods[-1], periods[-3]

    def approved(period: Period, offset: int, count: int) -> list[Submission]:
        rows = Submission.objects.filter(period=period, status=SubmissionStatus.APPROVED, figures__isnull=False)
        rows = rows.distinct().order_by("unit__path")
        return list(rows[offset : offset + count])

    found = {
        "latest quarter": single(latest, approved(latest, 0, runs), by, runs),
    }
    log(f"approval -> fresh, latest quarter: {found['latest quarter']}")
    found["two quarters back"] = single(older, approved(older, runs, runs), by, runs)
    log(f"approval -> fresh, two quarters back: {found['two quarters back']}")
    found["burst"] = burst(latest, approved(latest, 2 * runs, burst_size), by)
    log(f"burst: {found['burst']}")
    return found
