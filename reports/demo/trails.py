"""The demo's reports in time: sent after the data window closes, mostly by the deadline, reviewed
in the days after, returned and sent again now and then."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from units.models import Unit, User

from ..models import EventAction, Submission, SubmissionStatus
from .story import DRAFT_UNIT, RETURN_REASONS, SUBMITTED_UNIT

# --- Sending and reviewing ------------------------------------------------------------------------


@dataclass
class Trail:
    """What happened to a report: its status and its steps, oldest first."""

    status: str
    events: list[tuple[str, str, str, dt.datetime, str]] = field(default_factory=list)  # action, from, to, at, why
    times_returned: int = 0
    reason: str = ""


def _workday(day: dt.date, *, back: bool = False) -> dt.date:
    """The day itself, or the nearest Monday-to-Friday after it (before it with `back`)."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=-1 if back else 1)
    return day


def _at(rng: random.Random, day: dt.date, after: dt.datetime | None = None) -> dt.datetime:
    """A moment of office hours on `day` (after `after` when that is the same day)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(7, 30), tzinfo=tz)
    if after is not None and after >= start:
        start = after + dt.timedelta(minutes=20)
    end = dt.datetime.combine(day, dt.time(17, 15), tzinfo=tz)
    if start >= end:
        return _at(rng, _workday(day + dt.timedelta(days=1)), after)
    return start + dt.timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))


def _later(rng: random.Random, moment: dt.datetime, low: int, high: int) -> dt.datetime:
    """Office hours of a working day `low` to `high` days after `moment`."""
    day = timezone.localtime(moment).date() + dt.timedelta(days=rng.randint(low, high))
    return _at(rng, _workday(day), moment)


def _trail(rng: random.Random, status: str, sent: dt.datetime, returns: int, pending: bool) -> Trail:
    """Started, sent, returned and sent again `returns` times (the last return still `pending`, or
    not), then approved or awaiting review."""
    trail = Trail(status=status)
    # Units start their report in the days before sending it, mostly from the Excel template.
    day = timezone.localtime(sent).date()
    created = _at(rng, _workday(day - dt.timedelta(days=rng.randint(0, 3)), back=True))
    if created >= sent:
        created = sent - dt.timedelta(minutes=rng.randint(40, 90))
    filled = _at(rng, timezone.localtime(created).date(), created)
    if filled >= sent:
        filled = sent - min((sent - created) / 2, dt.timedelta(minutes=rng.randint(10, 40)))
    trail.events.append((EventAction.CREATED, "", SubmissionStatus.DRAFT, created, ""))
    trail.events.append((rng.choices([EventAction.IMPORTED, EventAction.FIGURES_SAVED], [6, 4])[0], "", "", filled, ""))
    if status == SubmissionStatus.DRAFT:
        return trail
    before, moment = SubmissionStatus.DRAFT, sent
    for number in range(returns):
        trail.events.append((EventAction.SUBMITTED, before, SubmissionStatus.SUBMITTED, moment, ""))
        moment, trail.reason = _later(rng, moment, 1, 3), rng.choice(RETURN_REASONS)
        trail.events.append(
            (EventAction.RETURNED, SubmissionStatus.SUBMITTED, SubmissionStatus.RETURNED, moment, trail.reason)
        )
        trail.times_returned += 1
        before = SubmissionStatus.RETURNED
        if pending and number == returns - 1:
            return trail
        moment = _later(rng, moment, 1, 3)
    trail.events.append((EventAction.SUBMITTED, before, SubmissionStatus.SUBMITTED, moment, ""))
    if status == SubmissionStatus.APPROVED:
        moment = _later(rng, moment, 1, 4)
        trail.events.append((EventAction.APPROVED, SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED, moment, ""))
    return trail


def closed_trail(rng: random.Random, period, weak: bool, pending_ok: bool) -> Trail:
    """A quarter gone by: sent after the data window closes and mostly by the deadline (weak units
    late more often), reviewed in the days after; some returned first, a few still returned."""
    if rng.random() < (0.1 if weak else 0.02):
        day = _workday(period.deadline + dt.timedelta(days=rng.randint(1, 6)))
    else:
        day = min(period.deadline, period.end + dt.timedelta(days=rng.choices([1, 2, 3], [25, 30, 45])[0]))
        # A weekend moves to the Monday when that is still in time, else to the Friday when that
        # is after the data window; a Sunday deadline is met on the weekend.
        if _workday(day) <= period.deadline:
            day = _workday(day)
        elif _workday(day, back=True) > period.end:
            day = _workday(day, back=True)
    returns = 1 if rng.random() < (0.16 if weak else 0.05) else 0
    returns += int(returns and rng.random() < 0.12)
    pending = bool(pending_ok and returns and rng.random() < (0.35 if weak else 0.2))
    status = SubmissionStatus.RETURNED if pending else SubmissionStatus.APPROVED
    return _trail(rng, status, _at(rng, day), returns, pending)


def open_trail(rng: random.Random, unit: Unit, now: dt.datetime, weak: bool) -> Trail | None:
    """The open quarter, its window still running and its deadline ahead: a few units already
    sent their report in the days before seeding (some of them reviewed, one in a while
    returned), more have a draft going, most have not started (None)."""
    roll = rng.random() + (0.15 if weak else 0)
    statuses = [
        (0.07, SubmissionStatus.APPROVED),
        (0.17, SubmissionStatus.SUBMITTED),
        (0.20, SubmissionStatus.RETURNED),
        (0.40, SubmissionStatus.DRAFT),
    ]
    status = next((s for cut, s in statuses if roll < cut), None)
    status = {DRAFT_UNIT: SubmissionStatus.DRAFT, SUBMITTED_UNIT: SubmissionStatus.SUBMITTED}.get(unit.code, status)
    if status is None:
        return None
    today = timezone.localdate(now)
    days_ago = {
        SubmissionStatus.APPROVED: (6, 12),
        SubmissionStatus.RETURNED: (5, 11),
        SubmissionStatus.SUBMITTED: (1, 5),
        SubmissionStatus.DRAFT: (1, 4),
    }[status]
    sent = _at(rng, _workday(today - dt.timedelta(days=rng.randint(*days_ago)), back=True))
    returns = int(status == SubmissionStatus.RETURNED or rng.random() < 0.04)
    trail = _trail(rng, status, sent, returns, pending=status == SubmissionStatus.RETURNED)
    # Nothing happens after the moment of seeding: a trail that would end later moves back by
    # whole days, keeping its office hours and its order.
    last = trail.events[-1][3]
    if last > now:
        days = (timezone.localdate(last) - today).days
        shift = dt.timedelta(days=days + int(last - dt.timedelta(days=days) > now))
        trail.events = [(action, before, after, at - shift, why) for action, before, after, at, why in trail.events]
    return trail


def submission_row(unit: Unit, period, trail: Trail, reviewer: User | None) -> Submission:
    sends = [at for action, _b, _a, at, _w in trail.events if action == EventAction.SUBMITTED]
    reviews = [at for action, _b, _a, at, _w in trail.events if action in (EventAction.APPROVED, EventAction.RETURNED)]
    first = sends[0] if sends else None
    return Submission(
        unit=unit,
        period=period,
        status=trail.status,
        # Lateness is judged on the first sending, as submission_submit does.
        is_late=first is not None and timezone.localdate(first) > period.deadline,
        submitted_at=sends[-1] if sends else None,
        first_submitted_at=first,
        reviewed_at=reviews[-1] if reviews else None,
        reviewed_by=reviewer if reviews else None,
        return_reason=trail.reason,
        times_returned=trail.times_returned,
        version=len(trail.events),
    )
