"""Submissions: figures, the review workflow and its audit trail.

Every write goes through here, checks the period and the submission's state, and records a
SubmissionEvent. State changes are conditional updates on (status, version), so that of two
reviewers acting at once exactly one wins and the other is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cchc_portal.db import bulk_insert, bulk_update
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
    report_editable,
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


def _check_new_report(unit: Unit, period: Period) -> None:
    """Refuse to start a report the unit cannot have: the period closed, or the unit not in force."""
    _check_period(period, reporter=True)
    if not reports_in(unit, period):
        raise ReportError(
            _("%(unit)s does not report for %(period)s: it is not in force at the end of the period.")
            % {"unit": unit.name, "period": period.label}
        )


@transaction.atomic
def submission_for(*, unit: Unit, period: Period, by: User | None) -> Submission:
    """The unit's submission for the period, created as an empty draft the first time."""
    submission = Submission.objects.filter(unit=unit, period=period).first()
    if submission:
        return submission
    _check_new_report(unit, period)
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
        diff = _apply(stored[code], data)
        if diff:
            changed.append(stored[code])
            changes[code] = diff
    _bump(submission, expected_version, EDITABLE_STATUSES)
    if changed:
        _update_figures(changed)
        record_event(submission, action, by, changes=changes)
    return submission


def _apply(figure: Figure, data: FigureInput) -> dict[str, list]:
    """Set `data` on `figure`; what changed as the audit trail keeps it: {field: [old, new]}."""
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
    return diff


class ImportErrors(ReportError):
    """What refused a many-unit save, in the order the units were given.

    `errors` by unit id, then by target code ("" for the unit's report as a whole), then by field:
    {12: {"TTHC-05": {"numerator": ["..."]}}, 13: {"": {"unit": ["..."]}}}. `general` is a refusal
    of the whole save (the period closed to a new report), after which later units were not checked.
    """

    def __init__(self, errors: dict[int, dict[str, dict[str, list[str]]]], general: str | None = None):
        self.errors = errors
        self.general = general
        super().__init__(general or _("Some figures are not valid."))


@transaction.atomic
def submissions_save_figures(
    *,
    period: Period,
    figures: dict[Unit, dict[str, FigureInput]],
    by: User | None,
    action: str = EventAction.IMPORTED,
) -> list[Submission]:
    """Save the figures (by target code) of many units' reports for one period, or of none.

    The rows and the audit trail are those of `submission_for` then `submission_save_figures`
    unit by unit (an empty draft with its "created" entry for a unit without a report, every
    report's version bumped, one entry of old -> new values for each report whose figures
    changed), and so are the refusals, raised together as ImportErrors. The number of queries does
    not grow with the units: a province's workbook is a few reads and one write per table.
    """
    # Locked until the end: a report cannot be sent or approved between its check and its save.
    existing = {
        s.unit_id: s
        for s in Submission.objects.select_for_update().filter(period=period, unit__in=list(figures)).order_by("pk")
    }
    stored: dict[int, dict[str, Figure]] = {}
    for figure in Figure.objects.filter(submission__in=list(existing.values())).select_related("target").order_by():
        stored.setdefault(figure.submission_id, {})[figure.target.code] = figure
    by_level: dict[str, list] = {}
    errors: dict[int, dict[str, dict[str, list[str]]]] = {}
    plans: list[tuple[Unit, Submission | None, dict[str, Figure]]] = []
    for unit, wanted in figures.items():
        submission = existing.get(unit.pk)
        if submission is None:
            try:
                _check_new_report(unit, period)
            except ReportError as exc:  # the unit-by-unit path stops at the first such refusal
                raise ImportErrors(errors, general=str(exc)) from exc
            if unit.level not in by_level:  # the same targets for every unit of a level
                by_level[unit.level] = list(applicable_targets(unit, period))
            current = {t.code: Figure(target=t, measure=t.measure) for t in by_level[unit.level]}
        elif not report_editable(period, submission):
            message = _("The report of %(unit)s is “%(status)s” and cannot be changed.") % {
                "unit": unit.name,
                "status": submission.get_status_display(),
            }
            errors[unit.pk] = {"": {"unit": [message]}}
            continue
        else:
            submission.period = period
            current = stored.get(submission.pk, {})
        problems: dict[str, dict[str, list[str]]] = {}
        for code, data in wanted.items():
            if code not in current:
                problems[code] = {"target": [_("This target does not apply to the unit in this period.")]}
            elif found := validate_figure(current[code].measure, data):
                problems[code] = found
        if problems:
            errors[unit.pk] = problems
        else:
            plans.append((unit, submission, current))
    if errors:
        raise ImportErrors(errors)
    return _save_many(period, figures, plans, by, action)


def _save_many(
    period: Period,
    figures: dict[Unit, dict[str, FigureInput]],
    plans: list[tuple[Unit, Submission | None, dict[str, Figure]]],
    by: User | None,
    action: str,
) -> list[Submission]:
    """Write what `submissions_save_figures` checked: one statement per table, whatever the units."""
    now = timezone.now()
    try:
        with transaction.atomic():
            created = iter(
                Submission.objects.bulk_create(
                    Submission(unit=unit, period=period) for unit, submission, _c in plans if submission is None
                )
            )
    except IntegrityError as exc:  # another import started one of these reports meanwhile
        raise Conflict(
            _("Someone else changed this submission first (it is now “%s”). Reload the page and try again.")
            % SubmissionStatus.DRAFT.label
        ) from exc
    submissions, new_figures, changed, events = [], [], [], []
    for unit, submission, current in plans:
        is_new = submission is None
        if is_new:
            submission = next(created)
            events.append(_event(submission, EventAction.CREATED, by, now, to_status=SubmissionStatus.DRAFT))
        changes = {}
        for code, data in figures[unit].items():
            if diff := _apply(current[code], data):
                changes[code] = diff
                if not is_new:
                    changed.append(current[code])
        if is_new:
            for figure in current.values():
                figure.submission = submission
                new_figures.append(figure)
        if changes:
            events.append(_event(submission, action, by, now, changes=changes))
        submissions.append(submission)
    # Plain values every database takes as they are; one COPY on PostgreSQL (building the ORM's
    # INSERT of a province's 8.300 figures costs more than the database's work).
    bulk_insert(
        Figure,
        ("submission", "target", "measure", *FIGURE_VALUES),
        ((f.submission_id, f.target_id, f.measure, f.numerator, f.denominator, f.value, f.note) for f in new_figures),
    )
    bulk_update(Figure, FIGURE_VALUES, ((f.pk, f.numerator, f.denominator, f.value, f.note) for f in changed))
    ids = [s.pk for s in submissions]
    if ids:
        bumped = Submission.objects.filter(pk__in=ids, status__in=EDITABLE_STATUSES).update(
            version=F("version") + 1, updated_at=now
        )
        if bumped != len(ids):  # cannot happen while the rows are locked; refuse rather than half-save
            raise Conflict(_("Only a draft or a returned submission can be changed."))
    _insert(SubmissionEvent, events)
    for submission in submissions:
        submission.version += 1
        submission.updated_at = now
    return submissions


def _event(submission: Submission, action: str, by: User | None, at, **fields) -> SubmissionEvent:
    return SubmissionEvent(submission=submission, action=action, by=by, at=at, **fields)


FIGURE_VALUES = ("numerator", "denominator", "value", "note")


def _insert(model, instances: list) -> None:
    """Rows no one needs the ids of, each value prepared as the ORM would, in one statement."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = ([f.get_db_prep_save(getattr(i, f.attname), connection) for f in fields] for i in instances)
    bulk_insert(model, [f.name for f in fields], rows)


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
    # Sent figures show as provisional on the quarter's pages, and the unit is no longer missing.
    figures_changed.send(sender=Submission, period=submission.period, units=[submission.unit_id])
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
    figures_changed.send(sender=Submission, period=submission.period, units=[submission.unit_id])
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
    figures_changed.send(sender=Submission, period=submission.period, units=[submission.unit_id])
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
    figures_changed.send(sender=Submission, period=submission.period, units=[submission.unit_id])
    return submission
