"""Reads about periods, submissions and figures that views, imports, notices and the apps above
share."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from targets.models import Measure, Target
from units.models import Level, Unit

from .models import Figure, Period, PeriodKind, Submission, SubmissionStatus

SENT = (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)


def applicable_targets(unit: Unit, period: Period) -> QuerySet[Target]:
    """Targets in force in the period's year that the unit's level reports."""
    return Target.objects.in_force(period.year).for_level(unit.level)


def units_due(period: Period) -> QuerySet[Unit]:
    """Units that must report for the period: in force at its end, below the province itself."""
    return Unit.objects.current_on(period.end).below_province()


def reports_in(unit: Unit, period: Period) -> bool:
    """Whether `unit` reports for `period` (the rule of `units_due`, for one unit): a unit closed
    before the period ended, or created after it, has no report of its own for it."""
    return unit.is_current_on(period.end) and unit.level != Level.PROVINCE


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


def figures_reported(quarters: list[Period], target_ids, unit_ids=None) -> QuerySet:
    """Sent and approved figures of the quarters (of the units given, or all), oldest quarter
    first, as plain rows: (unit_id, period_id, status, target_id, numerator, denominator, value)."""
    figures = Figure.objects.filter(
        submission__period__in=quarters, submission__status__in=SENT, target_id__in=target_ids
    )
    if unit_ids is not None:
        figures = figures.filter(submission__unit_id__in=unit_ids)
    return figures.values_list(
        "submission__unit_id",
        "submission__period_id",
        "submission__status",
        "target_id",
        "numerator",
        "denominator",
        "value",
    ).order_by("submission__period__end")


def submissions_of(period: Period, unit_ids=None) -> dict[int, dict]:
    """Each unit's (or the given units') submission for the period, by unit id: status, lateness,
    times returned."""
    rows = Submission.objects.filter(period=period)
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=unit_ids)
    rows = rows.values("unit_id", "status", "is_late", "times_returned")
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


QUEUE_ORDER = {
    "sent": ("submitted_at", "unit__path"),
    "unit": ("unit__search_name",),
    "parent": ("unit__parent__search_name", "unit__search_name"),
    "returned": ("-times_returned", "submitted_at"),
}


def review_queue(
    period: Period, *, status: str, kind: str = "", late: bool = False, query: str = "", order: str = "sent"
):
    """The reports of a period the secretariat reviews, filtered and ordered as the queue asks."""
    submissions = Submission.objects.filter(period=period).select_related("unit__parent", "reviewed_by", "period")
    if status:
        submissions = submissions.filter(status=status)
    if kind:
        submissions = submissions.filter(unit__kind=kind)
    if late:
        submissions = submissions.filter(is_late=True)
    if query.strip():
        submissions = submissions.filter(unit__in=Unit.objects.search(query))
    return submissions.order_by(*QUEUE_ORDER.get(order, QUEUE_ORDER["sent"]))


def next_to_review(submission: Submission) -> Submission | None:
    """The report sent longest ago in the same period still waiting for review, after this one."""
    waiting = Submission.objects.filter(period_id=submission.period_id, status=SubmissionStatus.SUBMITTED)
    return waiting.exclude(pk=submission.pk).select_related("unit").order_by("submitted_at", "unit__path").first()


# A rate that moves this many points in a quarter, or a denominator that doubles or halves, is
# worth a second look before approval: real services rarely change that fast.
REVIEW_CHANGE_POINTS = Decimal(20)
REVIEW_DENOMINATOR_FACTOR = Decimal(2)


def previous_figures(unit: Unit, period: Period) -> dict[int, Figure]:
    """The unit's figures of the period before, by target id (approved or sent)."""
    before = previous_period(period)
    if before is None:
        return {}
    rows = Figure.objects.filter(submission__unit=unit, submission__period=before, submission__status__in=SENT)
    return {f.target_id: f for f in rows.select_related("target")}


def review_hint(figure: Figure, previous: Figure | None) -> str:
    """A word for the reviewer when a figure moved far from the period before; "" otherwise."""
    if previous is None or figure.computed_value is None or previous.computed_value is None:
        return ""
    if figure.measure in (Measure.RATIO, Measure.PERCENT, Measure.REDUCTION):
        change = figure.computed_value - previous.computed_value
        if abs(change) >= REVIEW_CHANGE_POINTS:
            return _("%(change)s points since the previous period: check it") % {
                "change": f"{change:+.1f}".replace(".", ",")
            }
    if figure.uses_counts and figure.denominator and previous.denominator:
        factor = Decimal(figure.denominator) / Decimal(previous.denominator)
        if factor >= REVIEW_DENOMINATOR_FACTOR or factor <= 1 / REVIEW_DENOMINATOR_FACTOR:
            return _("The denominator is %(factor)s times the previous period's: check it") % {
                "factor": f"{factor:.1f}".replace(".", ",")
            }
    return ""
