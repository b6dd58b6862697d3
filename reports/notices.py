"""E-mail notices: review outcomes and deadline reminders. Sent after the transaction commits."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from units.models import Role, RoleAssignment, Unit

from .models import Period, PeriodState, Reminder, ReminderKind, Submission, SubmissionStatus
from .selectors import SENT, units_due


def _reporter_emails(unit_ids) -> dict[int, list[str]]:
    emails: dict[int, list[str]] = {}
    rows = RoleAssignment.objects.filter(role=Role.REPORTER, unit_id__in=unit_ids, user__is_active=True).exclude(
        user__email=""
    )
    for unit_id, email in rows.values_list("unit_id", "user__email"):
        emails.setdefault(unit_id, []).append(email)
    return emails


def _link(submission: Submission) -> str:
    path = reverse("reports:submission", args=[submission.period.key, submission.unit.code])
    return settings.PORTAL_URL.rstrip("/") + path


def review_notice_send(submission_id: int) -> int:
    """Tell the unit's reporters that their submission was approved or returned."""
    submission = Submission.objects.select_related("unit", "period").get(pk=submission_id)
    recipients = _reporter_emails([submission.unit_id]).get(submission.unit_id, [])
    if not recipients or submission.status not in (SubmissionStatus.APPROVED, SubmissionStatus.RETURNED):
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {"unit": submission.unit.name, "period": submission.period.label}
        if submission.status == SubmissionStatus.APPROVED:
            subject = _("[CCHC] Report of %(unit)s for %(period)s approved") % context
            body = _("The report of %(unit)s for %(period)s has been approved.") % context
        else:
            subject = _("[CCHC] Report of %(unit)s for %(period)s returned") % context
            body = _("The report of %(unit)s for %(period)s was returned. Reason: %(reason)s") % {
                **context,
                "reason": submission.return_reason,
            }
        body += "\n\n" + _link(submission)
    return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)])


def reminders_send(today: dt.date | None = None) -> int:
    """Remind units with nothing sent N days before the deadline, and again once overdue.

    Each (unit, period, kind) is reminded once: the Reminder row is written before the mail, and
    its unique constraint turns a rerun or a redelivered task into a no-op.
    """
    today = today or timezone.localdate()
    before = today + dt.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    sent = 0
    due = Period.objects.filter(state=PeriodState.OPEN, start__lte=today).filter(Q(deadline__lte=before))
    for period in due:
        kind = ReminderKind.OVERDUE if today > period.deadline else ReminderKind.BEFORE_DEADLINE
        done = Submission.objects.filter(period=period, status__in=SENT).values("unit_id")
        already = Reminder.objects.filter(period=period, kind=kind).values("unit_id")
        units = list(units_due(period).exclude(pk__in=done).exclude(pk__in=already))
        emails = _reporter_emails([u.pk for u in units])
        messages = []
        for unit in units:
            _reminder, created = Reminder.objects.get_or_create(
                unit=unit, period=period, kind=kind, defaults={"recipients": len(emails.get(unit.pk, []))}
            )
            if created and emails.get(unit.pk):
                messages.append(_reminder_mail(unit, period, kind, emails[unit.pk]))
        sent += send_mass_mail(messages) if messages else 0
    return sent


def _reminder_mail(unit: Unit, period: Period, kind: str, recipients: list[str]):
    with translation.override(settings.LANGUAGE_CODE):
        context = {"unit": unit.name, "period": period.label, "deadline": period.deadline.strftime("%d/%m/%Y")}
        if kind == ReminderKind.OVERDUE:
            subject = _("[CCHC] %(unit)s: the report for %(period)s is overdue") % context
            body = (
                _("The deadline of %(deadline)s has passed and %(unit)s has not sent its report for %(period)s.")
                % context
            )
        else:
            subject = _("[CCHC] %(unit)s: the report for %(period)s is due on %(deadline)s") % context
            body = _("%(unit)s has not yet sent its report for %(period)s. The deadline is %(deadline)s.") % context
    return subject, body, settings.DEFAULT_FROM_EMAIL, recipients
