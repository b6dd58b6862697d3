"""Reads about periods, submissions and figures that views, imports, notices and the apps above
share."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from targets.models import Target
from units.models import Unit

from .models import Figure, Period, PeriodKind, Submission, SubmissionStatus

SENT = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)


def applicable_targets(unit: Unit, period: Period) -> QuerySet[Target]:
    """Targets in force in the period's year that the unit's level reports."""
    return Target.objects.in_force(period.year).for_level(unit.level)


def units_due(period: Period) -> QuerySet[Unit]:
    """Units that must report for the period: in force at its end, below the province itself."""
    return Unit.objects.current_on(period.end).below_province()


def previous_period(period: Period) -> Period | None:
    """The period just before, of the same kind: last quarter, or last year's 6 months."""
    if period.kind != PeriodKind.QUARTER:
        return Period.objects.filter(kind=period.kind, year=period.year - 1).first()
    year, quarter = (period.year, period.quarter - 1) if period.quarter > 1 else (period.year - 1, 4)
    return Period.objects.filter(kind=PeriodKind.QUARTER, year=year, quarter=quarter).first()


def periods_before(period: Period, count: int) -> list[Period]:
    """The `count` periods of the same kind that end before `period`, oldest first."""
    earlier = Period.objects.filter(kind=period.kind, end__lt=period.end).order_by("-end")[:count]
    return list(earlier)[::-1]


def quarters_of(period: Period) -> list[Period]:
    """The quarters a period is made of, in order: itself for a quarter."""
    if period.kind == PeriodKind.QUARTER:
        return [period]
    last = {PeriodKind.HALF: 2, PeriodKind.NINE_MONTHS: 3, PeriodKind.YEAR: 4}[period.kind]
    return list(Period.objects.filter(kind=PeriodKind.QUARTER, year=period.year, quarter__lte=last).order_by("quarter"))


def figures_reported(quarters: list[Period], target_ids) -> QuerySet:
    """Sent and approved figures of the quarters, oldest quarter first, as plain rows:
    (unit_id, period_id, status, target_id, numerator, denominator, value)."""
    return (
        Figure.objects.filter(submission__period__in=quarters, submission__status__in=SENT, target_id__in=target_ids)
        .values_list(
            "submission__unit_id",
            "submission__period_id",
            "submission__status",
            "target_id",
            "numerator",
            "denominator",
            "value",
        )
        .order_by("submission__period__end")
    )


def submissions_of(period: Period) -> dict[int, dict]:
    """Each unit's submission for the period, by unit id: status, lateness, times returned."""
    rows = Submission.objects.filter(period=period).values("unit_id", "status", "is_late", "times_returned")
    return {row["unit_id"]: row for row in rows}


def reporting_progress(periods) -> list[dict]:
    """For the secretariat: per open period, the units due and the reports in each status."""
    counts = Submission.objects.filter(period__in=periods).values("period_id", "status").annotate(n=Count("id"))
    by_period = {(c["period_id"], c["status"]): c["n"] for c in counts}
    return [
        {
            "period": p,
            "due": units_due(p).count(),
            "statuses": [(label, by_period.get((p.pk, value), 0), value) for value, label in SubmissionStatus.choices],
        }
        for p in periods
    ]
