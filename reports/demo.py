"""Demo submissions for `seed_demo`: six quarters of realistic figures in every state.

Each unit gets its own starting level and pace per target, so that the dashboards have leaders,
laggards and trends to show. Deterministic: the same run gives the same figures.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from targets.models import Measure
from targets.selectors import ThresholdResolver
from units.models import Level

from .models import EventAction, Figure, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from .notices import units_due
from .periods import period_create, period_set_state
from .services import applicable_targets

DEMO_QUARTERS = ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
OPEN_QUARTER = DEMO_QUARTERS[-1]
# Units whose reports the demo accounts work on: left as a draft to fill, and one sent for review.
DRAFT_UNIT, SUBMITTED_UNIT = "429", "425"
SIZE = {Level.DEPARTMENT: (800, 12000), Level.DISTRICT: (1500, 6000), Level.COMMUNE: (60, 700)}


def _status(rng: random.Random, quarter: str) -> str | None:
    """Older quarters are approved; the last two are still moving (None: nothing sent yet)."""
    roll = rng.random()
    if quarter not in DEMO_QUARTERS[-2:]:
        return SubmissionStatus.APPROVED
    if quarter == DEMO_QUARTERS[-2]:
        return SubmissionStatus.APPROVED if roll < 0.93 else SubmissionStatus.RETURNED
    if roll < 0.45:
        return SubmissionStatus.APPROVED
    if roll < 0.70:
        return SubmissionStatus.SUBMITTED
    if roll < 0.78:
        return SubmissionStatus.RETURNED
    if roll < 0.88:
        return SubmissionStatus.DRAFT
    return None


def _figure(rng: random.Random, target, level: str, start: float, pace: float, step: int) -> dict:
    """Counts or a value whose rate follows the unit's start and pace, with a little noise."""
    rate = min(1.0, max(0.0, start + pace * step + rng.gauss(0, 0.01)))
    if target.measure == Measure.RATIO:
        low, high = SIZE.get(level, (100, 1000))
        denominator = rng.randint(low, high)
        return {"numerator": round(denominator * rate), "denominator": denominator}
    if target.measure == Measure.REDUCTION:
        baseline = rng.randint(40, 400)
        return {"numerator": round(baseline * (1 - rate)), "denominator": baseline}
    if target.measure == Measure.PERCENT:
        return {"value": Decimal(str(round(100 * rate, 1)))}
    if target.measure == Measure.BOOLEAN:
        return {"value": Decimal(int(rate >= 1 or rng.random() < 0.7))}
    return {"value": Decimal(round(100 * rate))}


def _start(rng: random.Random, threshold: Decimal | None, quality: float) -> tuple[float, float]:
    """Where a unit starts on a target and how fast it moves: near the 2025 line, shifted by how
    strong the unit is overall, so that some units lead on most targets and some lag on most."""
    line = float(threshold) / 100 if threshold is not None else 0.8
    return line + quality + rng.uniform(-0.04, 0.04), rng.uniform(-0.004, 0.015)


@transaction.atomic
def demo_submissions_create(*, open_deadline: dt.date | None = None) -> int:
    """Create the demo periods and submissions once; returns how many submissions were made."""
    periods = [period_create(key=key) for key in DEMO_QUARTERS]
    if Submission.objects.filter(period__in=periods).exists():
        return 0
    for period in periods[:-2]:
        period_set_state(period=period, state=PeriodState.CLOSED)
    # The demo's open quarter gets a deadline ahead of today, so the demo shows a live window.
    open_period = periods[-1]
    open_period.deadline = open_deadline or timezone.localdate() + dt.timedelta(days=10)
    open_period.save(update_fields=["deadline"])

    rng = random.Random(2025)
    resolver = ThresholdResolver.load()
    now = timezone.now()
    units = list(units_due(open_period).order_by("path"))
    profiles, qualities = {}, {}
    submissions, figures_by_submission = [], {}
    for step, period in enumerate(periods):
        targets = {}
        for unit in units:
            if not unit.is_current_on(period.end):
                continue
            level = unit.level
            if level not in targets:
                targets[level] = list(applicable_targets(unit, period))
            status = _status(rng, period.key)
            if unit.code == DRAFT_UNIT and period == open_period:
                status = SubmissionStatus.DRAFT
            elif unit.code == SUBMITTED_UNIT and period == open_period:
                status = SubmissionStatus.SUBMITTED
            if status is None:
                continue
            submitted = dt.datetime.combine(period.deadline, dt.time(9), tzinfo=now.tzinfo) - dt.timedelta(
                days=rng.randint(-3, 6)
            )
            is_late = status != SubmissionStatus.DRAFT and submitted.date() > period.deadline
            submission = Submission(
                unit=unit,
                period=period,
                status=status,
                is_late=is_late,
                submitted_at=None if status == SubmissionStatus.DRAFT else submitted,
                reviewed_at=submitted + dt.timedelta(days=2)
                if status in (SubmissionStatus.APPROVED, SubmissionStatus.RETURNED)
                else None,
                return_reason="Số liệu mẫu số chưa khớp với Hệ thống một cửa điện tử, đề nghị rà soát lại."
                if status == SubmissionStatus.RETURNED
                else "",
                times_returned=int(status == SubmissionStatus.RETURNED),
            )
            submissions.append(submission)
            rows = []
            for target in targets[level]:
                key = (unit.pk, target.pk)
                if key not in profiles:
                    quality = qualities.setdefault(unit.pk, rng.uniform(-0.18, 0.08))
                    profiles[key] = _start(rng, resolver.resolve(target.pk, level, 2025), quality)
                start, pace = profiles[key]
                values = _figure(rng, target, level, start, pace, step)
                if status == SubmissionStatus.DRAFT and rng.random() < 0.3:
                    values = {}
                rows.append(Figure(target=target, measure=target.measure, **values))
            figures_by_submission[id(submission)] = rows
    Submission.objects.bulk_create(submissions, batch_size=500)
    figures, events = [], []
    for submission in submissions:
        for figure in figures_by_submission[id(submission)]:
            figure.submission = submission
            figures.append(figure)
        events.append(
            SubmissionEvent(
                submission=submission,
                action=EventAction.IMPORTED,
                to_status=submission.status,
                reason="Dữ liệu mẫu",
                at=now,
            )
        )
    Figure.objects.bulk_create(figures, batch_size=2000)
    SubmissionEvent.objects.bulk_create(events, batch_size=2000)
    return len(submissions)
