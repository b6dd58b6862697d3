from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from targets.models import Measure, Target
from units.models import Unit

KEY_RE = re.compile(r"^(?P<year>\d{4})-(?P<part>Q[1-4]|H1|9M|Y)$")


class PeriodKind(models.TextChoices):
    QUARTER = "quarter", _("Quarter")
    HALF = "half", _("6 months")
    NINE_MONTHS = "nine_months", _("9 months")
    YEAR = "year", pgettext_lazy("period", "Year")


class PeriodState(models.TextChoices):
    # Contexts: a unit "closed" is dissolved, a period "closed" only stops taking reports.
    OPEN = "open", pgettext_lazy("period state", "Open")
    CLOSED = "closed", pgettext_lazy("period state", "Closed")
    LOCKED = "locked", pgettext_lazy("period state", "Locked")


class PeriodQuerySet(models.QuerySet):
    def open(self) -> PeriodQuerySet:
        return self.filter(state=PeriodState.OPEN)


class PeriodManager(models.Manager.from_queryset(PeriodQuerySet)):
    def get_by_natural_key(self, key: str) -> Period:
        return self.get(key=key)


class Period(models.Model):
    """A reporting period (kỳ báo cáo): its data window, internal deadline and state.

    Named everywhere by its key: 2024-Q1, 2024-H1, 2024-9M, 2024-Y.
    """

    key = models.CharField(
        _("key"),
        max_length=10,
        unique=True,
        validators=[RegexValidator(KEY_RE, _("A period key reads like 2025-Q1, 2025-H1, 2025-9M or 2025-Y."))],
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PeriodKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"), null=True, blank=True)
    start = models.DateField(_("data from"))
    end = models.DateField(_("data to"))
    deadline = models.DateField(_("internal deadline"))
    state = models.CharField(_("state"), max_length=10, choices=PeriodState.choices, default=PeriodState.OPEN)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    featured = models.BooleanField(
        _("shown first on the dashboard"),
        default=False,
        help_text=_("Otherwise the dashboard opens on the latest quarter whose reporting is closed."),
    )

    objects = PeriodManager()

    class Meta:
        verbose_name = _("reporting period")
        verbose_name_plural = _("reporting periods")
        ordering = ["-end", "key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="period_window",
                violation_error_message=_("The data window must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(kind="quarter", quarter__gte=1, quarter__lte=4)
                | (~Q(kind="quarter") & Q(quarter__isnull=True)),
                name="period_quarter",
                violation_error_message=_("A quarter is numbered 1 to 4; other periods have no quarter."),
            ),
            models.UniqueConstraint(
                fields=["featured"],
                condition=Q(featured=True),
                name="period_one_featured",
                violation_error_message=_("Another period is already shown first on the dashboard."),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def natural_key(self) -> tuple[str]:
        return (self.key,)

    @property
    def label(self) -> str:
        roman = {1: "I", 2: "II", 3: "III", 4: "IV"}
        if self.kind == PeriodKind.QUARTER:
            return _("Quarter %(q)s/%(year)d") % {"q": roman[self.quarter], "year": self.year}
        return f"{self.get_kind_display()} {self.year}"

    def days_to_deadline(self, today: dt.date) -> int:
        return (self.deadline - today).days


class PeriodEvent(models.Model):
    """Who opened, closed, locked a period or moved its deadline, and when."""

    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="events")
    changes = models.JSONField(_("changes"), default=dict)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("period change")
        verbose_name_plural = _("period changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.period} · {self.at:%d/%m/%Y %H:%M}"


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")


EDITABLE_STATUSES = (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED)


class Submission(models.Model):
    """One unit's report (báo cáo) for one period: a figure per applicable target."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="submissions")
    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(
        _("status"), max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT
    )
    is_late = models.BooleanField(_("late"), default=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Lateness is judged on the first sending: a report sent on time and returned stays on time.
    first_submitted_at = models.DateTimeField(_("first sent at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True, on_delete=models.PROTECT
    )
    return_reason = models.TextField(_("reason returned"), blank=True)
    times_returned = models.PositiveSmallIntegerField(_("times returned"), default=0)
    # Optimistic locking: every write bumps it; a write made on an older version is refused.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["period", "unit__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period"],
                name="submission_unit_period_unique",
                violation_error_message=_("The unit already has a report for this period."),
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""),
                name="submission_returned_has_reason",
                violation_error_message=_("A returned report needs a reason."),
            ),
        ]
        indexes = [models.Index(fields=["period", "status"])]

    def __str__(self) -> str:
        return f"{self.unit} · {self.period}"

    @property
    def is_editable(self) -> bool:
        return report_editable(self.period, self)


def report_editable(period: Period, submission: Submission | None) -> bool:
    """The one rule of whether a unit's report can be filled: the period is open, and the report
    is not started yet, a draft, or returned to the unit."""
    return period.state == PeriodState.OPEN and (submission is None or submission.status in EDITABLE_STATUSES)


class Figure(models.Model):
    """The figure reported for one target: raw counts for ratios and reductions, else a value."""

    submission = models.ForeignKey(
        Submission, verbose_name=_("submission"), on_delete=models.CASCADE, related_name="figures"
    )
    target = models.ForeignKey(Target, verbose_name=_("target"), on_delete=models.PROTECT, related_name="figures")
    # The target's measure when the figure was made: the database checks the figure against it.
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    numerator = models.PositiveBigIntegerField(_("numerator"), null=True, blank=True)
    denominator = models.PositiveBigIntegerField(_("denominator"), null=True, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("figure")
        verbose_name_plural = _("figures")
        ordering = ["target__area__order", "target__order", "target__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "target"],
                name="figure_submission_target_unique",
                violation_error_message=_("The report already has a figure for this target."),
            ),
            models.CheckConstraint(
                condition=~Q(measure="ratio")
                | Q(numerator__isnull=True)
                | Q(denominator__isnull=True)
                | Q(numerator__lte=F("denominator")),
                name="figure_numerator_le_denominator",
                violation_error_message=_("The numerator cannot be larger than the denominator."),
            ),
            models.CheckConstraint(
                condition=~Q(measure="percent") | Q(value__isnull=True) | Q(value__gte=0, value__lte=100),
                name="figure_percent_range",
                violation_error_message=_("A percent must be between 0 and 100."),
            ),
            models.CheckConstraint(
                condition=~Q(measure="boolean") | Q(value__isnull=True) | Q(value__in=[0, 1]),
                name="figure_boolean_value",
                violation_error_message=_("Enter 1 (done) or 0 (not done)."),
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0),
                name="figure_value_not_negative",
                violation_error_message=_("The value cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target.code}: {self.numerator}/{self.denominator} {self.value}"

    @property
    def uses_counts(self) -> bool:
        return self.measure in (Measure.RATIO, Measure.REDUCTION)

    @property
    def is_complete(self) -> bool:
        if self.uses_counts:
            return self.numerator is not None and self.denominator is not None
        return self.value is not None

    @cached_property
    def computed_value(self):
        """The figure as judged: a ratio's percent, a reduction's share cut, or the value."""
        if self.uses_counts:
            return self.target.value_of(self.numerator, self.denominator, measure=self.measure)
        return self.target.value_of(self.value, measure=self.measure)


def _evidence_path(instance, filename: str) -> str:
    # Random names: nothing of the user's file name reaches the file system.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"evidence/{dt.date.today():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class PrivateStorage(FileSystemStorage):
    """Files outside any public path, under PRIVATE_MEDIA_ROOT as configured at the moment of use."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:
        return None


private_storage = PrivateStorage()


class Evidence(models.Model):
    """A supporting document (tài liệu kiểm chứng), served only through a permission check."""

    submission = models.ForeignKey(
        Submission, verbose_name=_("submission"), on_delete=models.CASCADE, related_name="evidence"
    )
    target = models.ForeignKey(
        Target, verbose_name=_("target"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=_evidence_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # Removing a document hides it at once; the row and its audit stay for good, and the file's bytes
    # are deleted after EVIDENCE_PURGE_AFTER_DAYS (reports.tasks.purge_removed_evidence).
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("evidence document")
        verbose_name_plural = _("evidence documents")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class EventAction(models.TextChoices):
    CREATED = "created", _("Created")
    FIGURES_SAVED = "figures_saved", _("Figures saved")
    IMPORTED = "imported", _("Imported from Excel")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")
    REOPENED = "reopened", _("Reopened")
    EVIDENCE_ADDED = "evidence_added", _("Evidence added")
    EVIDENCE_REMOVED = "evidence_removed", _("Evidence removed")


class SubmissionEvent(models.Model):
    """The audit trail of a submission: who did what, when, old -> new, and why."""

    submission = models.ForeignKey(
        Submission, verbose_name=_("submission"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20, choices=EventAction.choices)
    from_status = models.CharField(_("from status"), max_length=10, choices=SubmissionStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=10, choices=SubmissionStatus.choices, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("submission event")
        verbose_name_plural = _("submission events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.submission} · {self.get_action_display()}"


class ReminderKind(models.TextChoices):
    BEFORE_DEADLINE = "before", _("Before the deadline")
    OVERDUE = "overdue", _("Overdue")


class Reminder(models.Model):
    """A reminder sent to a unit; the unique constraint makes sure no unit gets one twice."""

    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=10, choices=ReminderKind.choices)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    recipients = models.PositiveSmallIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period", "kind"],
                name="reminder_once",
                violation_error_message=_("This reminder was already sent."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.period} · {self.get_kind_display()}"
