"""Submissions: figures, the review workflow and its audit trail.

Every write goes through here, checks the period and the submission's state, and records a
SubmissionEvent. State changes are conditional updates on (status, version), so that of two
reviewers acting at once exactly one wins and the other is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cchc_portal.tasks import enqueue
from cchc_portal.text import INVISIBLE, nfc
from cchc_portal.xlsx import UNWRITABLE
from targets.models import Measure
from units.models import Unit, User

from .models import (
    EDITABLE_STATUSES,
    EventAction,
    Figure,
    Period,
    PeriodState,
    Submission,
    SubmissionEvent,
    SubmissionStatus,
)
from .selectors import applicable_targets, reports_in
from .signals import figures_changed
from .tasks import notify_reviewed


class ReportError(Exception):
    """A refusal to show the user as it is (already translated)."""


class Conflict(ReportError):
    """Someone else changed the submission first."""


class FigureErrors(ReportError):
    """Field errors by target code: {"TTHC-05": {"numerator": ["..."]}}."""

    def __init__(self, errors: dict[str, dict[str, list[str]]]):
        self.errors = errors
        super().__init__(_("Some figures are not valid."))


@dataclass(frozen=True)
class FigureInput:
    numerator: int | None = None
    denominator: int | None = None
    value: Decimal | None = None
    note: str = ""


MAX_COUNT = 10**15  # far above any count a province reports, well inside the database's bigint
MAX_VALUE = Decimal("999999999999.99")  # the value column: 14 digits, 2 of them decimals
CONTROL_MESSAGE = gettext_lazy("The note contains an invisible control character; type it again without it.")
INVISIBLE_MESSAGE = gettext_lazy(
    "The text contains an invisible character that changes how it reads (a direction mark or a zero-width "
    "space, often pasted from another program); type it again without it."
)


def validate_figure(measure: str, data: FigureInput) -> dict[str, list[str]]:
    """The rules every figure obeys, whatever door it came in by (form or Excel)."""
    errors: dict[str, list[str]] = {}
    counts = measure in (Measure.RATIO, Measure.REDUCTION)
    for field in ("numerator", "denominator"):
        number = getattr(data, field)
        if number is not None and (not isinstance(number, int) or number < 0):
            errors.setdefault(field, []).append(_("Enter a whole number, 0 or more."))
        elif number is not None and number > MAX_COUNT:
            errors.setdefault(field, []).append(_("The number is too large."))
    if data.value is not None and abs(data.value) > MAX_VALUE:
        errors.setdefault("value", []).append(_("The number is too large."))
    elif data.value is not None and data.value != data.value.quantize(Decimal("0.01")):
        errors.setdefault("value", []).append(_("Enter at most 2 decimal places."))
    if UNWRITABLE.search(data.note or ""):  # NUL among them; an exported note could not come back intact
        errors.setdefault("note", []).append(CONTROL_MESSAGE)
    elif INVISIBLE.search(data.note or ""):
        errors.setdefault("note", []).append(INVISIBLE_MESSAGE)
    both = not errors and None not in (data.numerator, data.denominator)
    if measure == Measure.RATIO and both and data.numerator > data.denominator:
        errors.setdefault("numerator", []).append(_("The numerator cannot be larger than the denominator."))
    if counts and data.value is not None:
        errors.setdefault("value", []).append(_("This target is reported as two counts, not as a value."))
    if not counts:
        if data.numerator is not None or data.denominator is not None:
            errors.setdefault("value", []).append(_("This target is reported as a value, not as two counts."))
        if data.value is not None:
            if data.value < 0:
                errors.setdefault("value", []).append(_("The value cannot be negative."))
            elif measure == Measure.PERCENT and data.value > 100:
                errors.setdefault("value", []).append(_("A percent must be between 0 and 100."))
            elif measure == Measure.BOOLEAN and data.value not in (0, 1):
                errors.setdefault("value", []).append(_("Enter 1 (done) or 0 (not done)."))
            elif measure == Measure.COUNT and data.value != data.value.to_integral_value():
                errors.setdefault("value", []).append(_("Enter a whole number, 0 or more."))
    return errors


def record_event(submission: Submission, action: str, by: User | None, **fields) -> SubmissionEvent:
    return SubmissionEvent.objects.create(submission=submission, action=action, by=by, at=timezone.now(), **fields)


def _check_period(period: Period, *, reporter: bool) -> None:
    if period.state == PeriodState.LOCKED:
        raise ReportError(_("The period %s is locked: nothing can be changed.") % period.label)
    if reporter and period.state != PeriodState.OPEN:
        raise ReportError(_("The period %s is closed for reporting.") % period.label)


def check_editable(submission: Submission) -> None:
    """Refuse, with the reason in words, a change the unit cannot make to its report now."""
    _check_period(submission.period, reporter=True)
    if not submission.is_editable:
        raise ReportError(_("Only a draft or a returned submission can be changed."))


@transaction.atomic
def submission_for(*, unit: Unit, period: Period, by: User | None) -> Submission:
    """The unit's submission for the period, created as an empty draft the first time."""
    submission = Submission.objects.filter(unit=unit, period=period).first()
    if submission:
        return submission
    _check_period(period, reporter=True)
    if not reports_in(unit, period):
        raise ReportError(
            _("%(unit)s does not report for %(period)s: it is not in force at the end of the period.")
            % {"unit": unit.name, "period": period.label}
        )
    submission, created = Submission.objects.get_or_create(unit=unit, period=period)
    if created:
        Figure.objects.bulk_create(
            Figure(submission=submission, target=t, measure=t.measure) for t in applicable_targets(unit, period)
        )
        record_event(submission, EventAction.CREATED, by, to_status=SubmissionStatus.DRAFT)
    return submission


def _bump(submission: Submission, expected_version: int | None, allowed: tuple[str, ...], **changes) -> None:
    rows = Submission.objects.filter(pk=submission.pk, status__in=allowed)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if not rows.update(version=F("version") + 1, updated_at=timezone.now(), **changes):
        current = Submission.objects.get(pk=submission.pk)
        raise Conflict(
            _("Someone else changed this submission first (it is now “%s”). Reload the page and try again.")
            % current.get_status_display()
        )
    submission.refresh_from_db()


@transaction.atomic
def submission_save_figures(
    *,
    submission: Submission,
    figures: dict[str, FigureInput],
    by: User | None,
    expected_version: int | None = None,
    action: str = EventAction.FIGURES_SAVED,
) -> Submission:
    """Save figures (by target code) of a draft or returned submission; incomplete is fine.

    All figures are checked first; any error refuses the whole save.
    """
    check_editable(submission)
    stored = {f.target.code: f for f in submission.figures.select_related("target")}
    errors: dict[str, dict[str, list[str]]] = {}
    for code, data in figures.items():
        if code not in stored:
            errors[code] = {"target": [_("This target does not apply to the unit in this period.")]}
            continue
        problems = validate_figure(stored[code].measure, data)
        if problems:
            errors[code] = problems
    if errors:
        raise FigureErrors(errors)
    changes: dict[str, dict[str, list]] = {}
    changed = []
    for code, data in figures.items():
        figure = stored[code]
        new = {
            "numerator": data.numerator,
            "denominator": data.denominator,
            "value": data.value,
            "note": nfc(data.note.strip()),
        }
        diff = {k: [_plain(getattr(figure, k)), _plain(v)] for k, v in new.items() if getattr(figure, k) != v}
        if diff:
            for key, value in new.items():
                setattr(figure, key, value)
            changed.append(figure)
            changes[code] = diff
    _bump(submission, expected_version, EDITABLE_STATUSES)
    if changed:
        _update_figures(changed)
        record_event(submission, action, by, changes=changes)
    return submission


def _update_figures(figures: list[Figure]) -> None:
    """One UPDATE a figure, sent in one batch: Django's bulk_update builds a CASE expression per
    field and row, which costs more than the database work for a province-wide import."""
    table = connection.ops.quote_name(Figure._meta.db_table)
    sql = f"UPDATE {table} SET numerator = %s, denominator = %s, value = %s, note = %s WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(f.numerator, f.denominator, f.value, f.note, f.pk) for f in figures])


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


@transaction.atomic
def submission_submit(*, submission: Submission, by: User | None, expected_version: int | None = None) -> Submission:
    """Send a draft or returned submission for review; every applicable figure is required."""
    _check_period(submission.period, reporter=True)
    missing = {
        f.target.code: {"value" if not f.uses_counts else "numerator": [_("Required before sending.")]}
        for f in submission.figures.select_related("target")
        if not f.is_complete
    }
    if missing:
        raise FigureErrors(missing)
    now = timezone.now()
    first = submission.first_submitted_at or now
    late = timezone.localdate(first) > submission.period.deadline
    before = submission.status
    _bump(
        submission,
        expected_version,
        EDITABLE_STATUSES,
        status=SubmissionStatus.SUBMITTED,
        submitted_at=now,
        first_submitted_at=first,
        is_late=late,
    )
    record_event(submission, EventAction.SUBMITTED, by, from_status=before, to_status=SubmissionStatus.SUBMITTED)
    return submission


@transaction.atomic
def submission_approve(*, submission: Submission, by: User, expected_version: int | None = None) -> Submission:
    _check_period(submission.period, reporter=False)
    now = timezone.now()
    allowed = (SubmissionStatus.SUBMITTED,)
    _bump(submission, expected_version, allowed, status=SubmissionStatus.APPROVED, reviewed_at=now, reviewed_by=by)
    record_event(
        submission,
        EventAction.APPROVED,
        by,
        from_status=SubmissionStatus.SUBMITTED,
        to_status=SubmissionStatus.APPROVED,
    )
    figures_changed.send(sender=Submission, period=submission.period)
    transaction.on_commit(lambda: enqueue(notify_reviewed, submission.pk))
    return submission


def _reason(reason: str) -> str:
    reason = nfc((reason or "").strip())
    if not reason:
        raise ReportError(_("A reason is required."))
    if UNWRITABLE.search(reason) or INVISIBLE.search(reason):
        raise ReportError(str(INVISIBLE_MESSAGE))
    return reason


@transaction.atomic
def submission_return(
    *, submission: Submission, by: User, reason: str, expected_version: int | None = None
) -> Submission:
    """Send a submitted report back to the unit with the reason it must fix."""
    reason = _reason(reason)
    _check_period(submission.period, reporter=False)
    _bump(
        submission,
        expected_version,
        (SubmissionStatus.SUBMITTED,),
        status=SubmissionStatus.RETURNED,
        return_reason=reason,
        times_returned=F("times_returned") + 1,
        reviewed_at=timezone.now(),
        reviewed_by=by,
    )
    record_event(
        submission,
        EventAction.RETURNED,
        by,
        from_status=SubmissionStatus.SUBMITTED,
        to_status=SubmissionStatus.RETURNED,
        reason=reason,
    )
    figures_changed.send(sender=Submission, period=submission.period)
    transaction.on_commit(lambda: enqueue(notify_reviewed, submission.pk))
    return submission


@transaction.atomic
def submission_reopen(
    *, submission: Submission, by: User, reason: str, expected_version: int | None = None
) -> Submission:
    """Give an approved submission back to the unit for correction (secretariat only)."""
    reason = _reason(reason)
    _check_period(submission.period, reporter=True)  # the unit must be able to correct it
    _bump(
        submission,
        expected_version,
        (SubmissionStatus.APPROVED,),
        status=SubmissionStatus.RETURNED,
        return_reason=reason,
    )
    record_event(
        submission,
        EventAction.REOPENED,
        by,
        from_status=SubmissionStatus.APPROVED,
        to_status=SubmissionStatus.RETURNED,
        reason=reason,
    )
    figures_changed.send(sender=Submission, period=submission.period)
    return submission
