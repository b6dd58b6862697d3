"""Demo submissions for `seed_demo`: twelve quarters of a province that mostly does its job,
from 2024-Q1 to 2026-Q4, through the reorganisations of 2025 and into the 2026-2030 programme.

The figures tell the story a real province would, so that every page has something true to show:
most units meet most targets and creep up quarter by quarter; about one unit in seven is behind
on several targets, more often in the western highlands; a few slide down; a handful send a
figure the engine should question (a jump, 100% of a tiny count). The province as a whole meets
most targets and misses those real provinces struggle with: payments made online, dossiers
handled fully online, documents already held re-used, every transaction authenticated
electronically, every commune official up to standard. The bar rises in 2025, so 2024 looks
better than 2025-Q1, and again in 2026: most units start the new programme behind its 100%
targets and catch up over the year.

The map changes under the story: the departments merged on 1/3/2025, the communes rearranged on
1/1/2025 (Cửa Lò into Vinh) and the districts gone on 1/7/2025, when 130 commune-level units took
over. A unit made by a merger carries on from its predecessors (their sizes added, their
standing averaged), so its series continues where theirs stood; a target of 2026-2030 that
continues one of 2021-2025 continues its level. Each quarter only the units in force at its end
report.

Counts come from each unit's size (dossiers a quarter, procedures, public-service units...) in the
ranges of its level. Reports are sent after the quarter's data window closes, mostly by the
internal deadline, and reviewed in the days after; the open quarter's in the days before seeding
(its window is still running: the early ones). Deterministic: each unit's figures come from
generators seeded with its code and the quarter's key; only the open quarter's moments follow
the day of seeding.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from targets.models import Target
from targets.selectors import ThresholdResolver, lineage_map
from units.models import Role, RoleAssignment, Unit, User

from ..models import EventAction, Figure, Period, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from ..periods import period_create, period_set_state
from ..selectors import applicable_targets, units_due
from .story import (
    DEMO_QUARTERS,
    FEATURED,
    FEATURED_QUARTER,
    OPEN_QUARTER,
    oddity,
    pick_oddities,
    profile_on,
    quarter_figures,
    seeded_rng,
    target_aim,
    unit_profiles,
)
from .trails import closed_trail, open_trail, submission_row

__all__ = [
    "DEMO_QUARTERS",
    "FEATURED_QUARTER",
    "OPEN_QUARTER",
    "demo_submissions_create",
    "live_deadline",
    "older_demo",
]

# How long the open quarter's window stays live when the demo is seeded after its own deadline.
LATE_SEED_DAYS = 10


def older_demo() -> bool:
    """Whether the database holds the demo of an earlier date: reports of the demo's quarters,
    none of its open quarter. A second run leaves it as it is."""
    reports = Submission.objects.filter(period__key__in=DEMO_QUARTERS)
    return reports.exists() and not reports.filter(period__key=OPEN_QUARTER).exists()


def live_deadline(period: Period, today: dt.date) -> dt.date:
    """The open quarter keeps its own deadline (the 17th of the window's last month: 17/12/2026)
    while seeding on or before that day. A demo seeded later gets one ten days ahead instead, so
    that it still shows a live reporting window."""
    return period.deadline if today <= period.deadline else today + dt.timedelta(days=LATE_SEED_DAYS)


# --- Putting it together --------------------------------------------------------------------------


@transaction.atomic
def demo_submissions_create(*, open_deadline: dt.date | None = None) -> int:
    """Create the demo periods and submissions once; returns how many submissions were made."""
    if Submission.objects.filter(period__key__in=DEMO_QUARTERS).exists():
        return 0
    periods = [period_create(key=key) for key in DEMO_QUARTERS]
    # Reporting is closed for every quarter but the open one: the dashboard opens on the last of
    # them, the quarter the story is drawn towards.
    for period in periods[:-1]:
        period_set_state(period=period, state=PeriodState.CLOSED)
    open_period = periods[-1]
    open_period.deadline = open_deadline or live_deadline(open_period, timezone.localdate())
    open_period.save(update_fields=["deadline"])

    resolver = ThresholdResolver.load()
    catalogue = Target.objects.in_bulk()
    roots = {pk: catalogue[root] for pk, root in lineage_map(catalogue.values()).items()}
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
        targets, aims = {}, {}
        for level in sorted({u.level for u in units}):
            sample = next(u for u in units if u.level == level)
            targets[level] = sorted(applicable_targets(sample, period), key=lambda t: t.code)
            aims[level] = {t.code: target_aim(resolver, t, roots[t.pk], level) for t in targets[level]}
        oddities = {}
        if step == FEATURED:
            stories = {level: {aim.story for aim in by_code.values()} for level, by_code in aims.items()}
            oddities = pick_oddities(units, profiles, stories)
        for unit in units:
            level = unit.level
            profile = profile_on(profiles, unit, period.end)
            rng = seeded_rng("trail", unit.code, period.key)
            if period == open_period:
                trail = open_trail(rng, unit, now, profile.weak)
            else:
                trail = closed_trail(rng, period, profile.weak, pending_ok=step == FEATURED)
            if trail is None:
                continue
            values, notes = quarter_figures(profile, targets[level], aims[level], period, step), {}
            if unit.pk in oddities:
                story, kind, note = oddities[unit.pk]
                code = next(c for c, aim in aims[level].items() if aim.story == story)
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
