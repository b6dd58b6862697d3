"""Demo submissions for `seed_demo`: six quarters of a province that mostly does its job.

The figures tell the story a real province would, so that every page has something true to show:
most units meet most targets and creep up quarter by quarter; about one unit in seven is behind
on several targets, more often in the western highlands; a few slide down; a handful send a
figure the engine should question (a jump, 100% of a tiny count). The province as a whole meets
most targets and misses those real provinces struggle with: payments made online, dossiers
handled fully online, documents already held re-used, every transaction authenticated
electronically, every commune official up to standard. The bar rises in 2025, so 2024 looks
better than 2025-Q1.

Counts come from each unit's size (dossiers a quarter, procedures, public-service units...) in the
ranges of its level. Reports are sent after the quarter's data window closes, mostly by the
internal deadline, and reviewed in the days after; the open quarter's in the days before seeding.
Deterministic: each unit's figures come from generators seeded with its code; only the open
quarter's moments follow the day of seeding.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from targets.selectors import ThresholdResolver
from units.models import Role, RoleAssignment, Unit, User

from ..models import EventAction, Figure, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from ..periods import period_create, period_set_state
from ..selectors import applicable_targets, units_due
from .story import (
    ANCHOR,
    DEMO_QUARTERS,
    OPEN_QUARTER,
    oddity,
    pick_oddities,
    profile_on,
    quarter_figures,
    seeded_rng,
    unit_profiles,
)
from .trails import closed_trail, open_trail, submission_row, threshold_line

__all__ = ["DEMO_QUARTERS", "OPEN_QUARTER", "demo_submissions_create"]


# --- Putting it together --------------------------------------------------------------------------


@transaction.atomic
def demo_submissions_create(*, open_deadline: dt.date | None = None) -> int:
    """Create the demo periods and submissions once; returns how many submissions were made."""
    periods = [period_create(key=key) for key in DEMO_QUARTERS]
    if Submission.objects.filter(period__in=periods).exists():
        return 0
    # Reporting is closed for every quarter but the open one: the dashboard opens on the last of
    # them, the quarter the story is drawn around.
    for period in periods[:-1]:
        period_set_state(period=period, state=PeriodState.CLOSED)
    # The demo's open quarter gets a deadline ahead of today, so the demo shows a live window.
    open_period = periods[-1]
    open_period.deadline = open_deadline or timezone.localdate() + dt.timedelta(days=10)
    open_period.save(update_fields=["deadline"])

    resolver = ThresholdResolver.load()
    now = timezone.now()
    every = list(Unit.objects.below_province().select_related("parent").order_by("path"))
    profiles = unit_profiles(every)
    reviewer = User.objects.filter(role_assignments__role=Role.SECRETARIAT).order_by("pk").first()
    reporters = dict(RoleAssignment.objects.filter(role=Role.REPORTER).values_list("unit_id", "user_id"))
    users = User.objects.in_bulk(set(reporters.values()))
    made = []  # (submission, figures, trail)
    for step, period in enumerate(periods):
        due = set(units_due(period).values_list("pk", flat=True))
        units = [u for u in every if u.pk in due]
        oddities = pick_oddities(units, profiles) if step == ANCHOR else {}
        targets, lines = {}, {}
        for unit in units:
            level = unit.level
            if level not in targets:
                targets[level] = sorted(applicable_targets(unit, period), key=lambda t: t.code)
                # Units are drawn around the 2025 line in every quarter: their pace carries them.
                lines[level] = {
                    t.code: threshold_line(resolver, t, level, periods[ANCHOR].year) for t in targets[level]
                }
            profile = profile_on(profiles, unit, period.end)
            rng = seeded_rng("trail", unit.code, period.key)
            if period == open_period:
                trail = open_trail(rng, unit, now, profile.weak)
            else:
                trail = closed_trail(rng, period, profile.weak, pending_ok=step == ANCHOR)
            if trail is None:
                continue
            values, notes = quarter_figures(profile, targets[level], lines[level], period, step), {}
            if unit.pk in oddities:
                code, kind, note = oddities[unit.pk]
                values[code], notes[code] = oddity(kind, values[code]), note
            draft = trail.status == SubmissionStatus.DRAFT
            figures = [
                Figure(
                    target=t,
                    measure=t.measure,
                    note=notes.get(t.code, ""),
                    **({} if draft and rng.random() < 0.3 else values[t.code]),
                )
                for t in targets[level]
            ]
            made.append((submission_row(unit, period, trail, reviewer), figures, trail))
    submissions = Submission.objects.bulk_create([s for s, _f, _t in made], batch_size=500)
    figures, events = [], []
    for submission, rows, trail in made:
        for figure in rows:
            figure.submission = submission
        figures.extend(rows)
        by = users.get(reporters.get(submission.unit_id))
        events.extend(
            SubmissionEvent(
                submission=submission,
                action=action,
                from_status=before,
                to_status=after,
                reason=why,
                by=reviewer if action in (EventAction.APPROVED, EventAction.RETURNED) else by,
                at=at,
            )
            for action, before, after, at, why in trail.events
        )
        # The report's own clock starts with its first step, not with the seeding.
        submission.created_at, submission.updated_at = trail.events[0][3], trail.events[-1][3]
    Figure.objects.bulk_create(figures, batch_size=2000)
    SubmissionEvent.objects.bulk_create(events, batch_size=2000)
    Submission.objects.bulk_update(submissions, ["created_at", "updated_at"], batch_size=500)
    return len(submissions)
