"""Access to reports: one helper per object, returning the object and what the user may do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import get_object_or_404

from units.access import unit_for_user
from units.models import Role, Unit, User

from .models import Evidence, Period, Submission, report_editable
from .selectors import SENT, reports_in, units_due


def fills_for(user: User, unit: Unit) -> bool:
    """Only the unit's own reporters fill and send its figures."""
    return user.has_role(Role.REPORTER, unit)


def reviews(user: User) -> bool:
    """The secretariat reviews (approves, returns, reopens) every unit's reports."""
    return user.has_role(Role.SECRETARIAT)


@dataclass(frozen=True)
class ReportAccess:
    """A unit's report for a period as one person may use it."""

    period: Period
    unit: Unit
    submission: Submission | None
    fills: bool  # the person reports for the unit
    may_review: bool

    @property
    def may_edit(self) -> bool:
        """The person may change the figures and evidence now."""
        return self.fills and reports_in(self.unit, self.period) and report_editable(self.period, self.submission)


def report_for_user(user: User, period_key: str, unit_code: str) -> ReportAccess:
    """The report of `unit_code` for `period_key`, or 404 unless the person may see the unit."""
    period = get_object_or_404(Period, key=period_key)
    unit = unit_for_user(user, unit_code)
    submission = Submission.objects.filter(unit=unit, period=period).select_related("period").first()
    return ReportAccess(period, unit, submission, fills_for(user, unit), reviews(user))


def evidence_for_user(user: User, period_key: str, unit_code: str, pk: int) -> tuple[Evidence, ReportAccess]:
    """An evidence document still attached to a report the person may see, or 404."""
    access = report_for_user(user, period_key, unit_code)
    if access.submission is None:
        raise Http404
    evidence = get_object_or_404(Evidence, pk=pk, submission=access.submission, removed_at__isnull=True)
    return evidence, access


def template_units_for_user(user: User, period: Period, unit_code: str) -> list[Unit]:
    """The units a template for `unit_code` holds: for the secretariat the unit and every unit
    below it that reports; for a reporter of the unit, the unit alone; for anyone else 404."""
    unit = get_object_or_404(Unit, code=unit_code)
    if reviews(user):
        return list(units_due(period).subtree(unit))
    if fills_for(user, unit):
        return [unit]
    raise Http404


def imports_for(user: User) -> bool:
    """Reporters import their own units' rows; the secretariat any unit's."""
    return bool(user.unit_ids_for(Role.REPORTER)) or reviews(user)


def reports_for_user(user: User, today: dt.date) -> list[dict]:
    """The person's units' reports for the open periods, deadlines first, each with what the
    person may do with it and the days left (a report already sent has no deadline to meet)."""
    periods = list(Period.objects.open().order_by("deadline"))
    mine = user.unit_ids_for(Role.REPORTER) | user.unit_ids_for(Role.UNIT_HEAD) | user.unit_ids_for(Role.STEERING)
    units = list(Unit.objects.filter(pk__in=mine).order_by("path"))
    submissions = {(s.unit_id, s.period_id): s for s in Submission.objects.filter(unit__in=units, period__in=periods)}
    rows = []
    for period in periods:
        for unit in units:
            if unit.is_current_on(min(period.end, today)):
                submission = submissions.get((unit.pk, period.pk))
                access = ReportAccess(period, unit, submission, fills_for(user, unit), False)
                days_left = period.days_to_deadline(today)
                sent = submission is not None and submission.status in SENT
                rows.append({"access": access, "days_left": days_left, "overdue": max(0, -days_left), "sent": sent})
    return rows
