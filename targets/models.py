from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cchc_portal.converters import CODE_MAX_LENGTH, CodeValidator
from units.models import Level

HUNDRED = Decimal(100)


class AreaManager(models.Manager):
    def get_by_natural_key(self, code: str) -> Area:
        return self.get(code=code)


class Area(models.Model):
    """A reform area (lĩnh vực) of the plan, e.g. "Cải cách thủ tục hành chính"."""

    code = models.CharField(_("code"), max_length=CODE_MAX_LENGTH, unique=True, validators=[CodeValidator()])
    name = models.CharField(_("name"), max_length=255)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = AreaManager()

    class Meta:
        verbose_name = _("reform area")
        verbose_name_plural = _("reform areas")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def natural_key(self) -> tuple[str]:
        return (self.code,)


class ScoringMethod(models.TextChoices):
    PROPORTIONAL = "proportional", _("Proportional credit")
    ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")
    FLOOR = "floor", _("Proportional from a floor")


class ProgrammeQuerySet(models.QuerySet):
    def covering(self, year: int) -> ProgrammeQuerySet:
        return self.filter(first_year__lte=year, last_year__gte=year)

    def open(self) -> ProgrammeQuerySet:
        return self.filter(closed=False)


class ProgrammeManager(models.Manager.from_queryset(ProgrammeQuerySet)):
    def get_by_natural_key(self, code: str) -> Programme:
        return self.get(code=code)


class Programme(models.Model):
    """A reform programme (giai đoạn), e.g. 2021-2025: the documents it carries out, the targets
    it owns, and how units are scored under it (the secretariat's choice, shown in one line above
    every ranking). A year belongs to one programme at most.

    A closed programme stays readable (its targets, thresholds and results are history) but its
    targets can no longer be changed or given thresholds.
    """

    code = models.CharField(
        _("code"), max_length=CODE_MAX_LENGTH, unique=True, validators=[CodeValidator()], help_text=_("e.g. 2021-2025.")
    )
    name = models.CharField(_("name"), max_length=255)
    first_year = models.PositiveSmallIntegerField(
        _("first year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    last_year = models.PositiveSmallIntegerField(
        _("last year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    scoring = models.CharField(
        _("scoring"), max_length=20, choices=ScoringMethod.choices, default=ScoringMethod.PROPORTIONAL
    )
    scoring_floor = models.DecimalField(
        _("floor (percent of the threshold)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(50),
        validators=[MinValueValidator(0), MaxValueValidator(Decimal("99.99"))],
        help_text=_(
            "With proportional credit from a floor: at or below this share of the threshold a target earns nothing."
        ),
    )
    legal_sources = models.TextField(
        _("legal sources"), blank=True, help_text=_("The national and provincial documents the programme carries out.")
    )
    plan_documents = models.TextField(
        _("plan documents"), blank=True, help_text=_("The province's plans and yearly plans that set its targets.")
    )
    closed = models.BooleanField(
        _("closed"),
        default=False,
        help_text=_("A closed programme stays readable; its targets can no longer be changed or given thresholds."),
    )

    objects = ProgrammeManager()

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["first_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_year__gte=models.F("first_year")),
                name="programme_years",
                violation_error_message=_("The last year cannot be before the first year."),
            ),
            models.CheckConstraint(
                condition=Q(scoring_floor__gte=0, scoring_floor__lt=100),
                name="programme_floor_range",
                violation_error_message=_("The floor is a share of the threshold, from 0 to below 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def natural_key(self) -> tuple[str]:
        return (self.code,)

    @property
    def years(self) -> str:
        return f"{self.first_year}-{self.last_year}"

    def clean(self) -> None:
        if self.first_year is None or self.last_year is None or self.last_year < self.first_year:
            return  # the field validators and the years constraint say what is wrong
        overlapping = (
            Programme.objects.exclude(pk=self.pk)
            .filter(first_year__lte=self.last_year, last_year__gte=self.first_year)
            .first()
        )
        if overlapping is not None:
            raise ValidationError(
                {
                    "first_year": _(
                        "These years overlap programme %(code)s (%(years)s): a year belongs to one programme only."
                    )
                    % {"code": overlapping.code, "years": overlapping.years}
                }
            )
        if self.pk:
            outside = (
                self.targets.filter(
                    Q(first_year__lt=self.first_year)
                    | Q(first_year__gt=self.last_year)
                    | Q(last_year__gt=self.last_year)
                )
                .order_by("code")
                .values_list("code", flat=True)
            )
            if outside:
                raise ValidationError(
                    {
                        "last_year": _("Targets of this programme would lie outside its years: %(codes)s.")
                        % {"codes": ", ".join(outside)}
                    }
                )

    @property
    def scoring_text(self) -> str:
        """How a score is made, in one line for the pages that show scores."""
        if self.scoring == ScoringMethod.ALL_OR_NOTHING:
            return str(_("Score: each target met earns its full weight, a target missed earns nothing."))
        if self.scoring == ScoringMethod.FLOOR:
            return str(
                _(
                    "Score: a target earns its full weight at the threshold, nothing at or below %(floor)s%% of "
                    "it, and in proportion in between."
                )
                % {"floor": f"{self.scoring_floor.normalize():f}".replace(".", ",")}
            )
        return str(
            _(
                "Score: a target earns its full weight at the threshold, otherwise in proportion (value / "
                "threshold), as in the national index of Decision 766/QĐ-TTg."
            )
        )


class Measure(models.TextChoices):
    RATIO = "ratio", _("Ratio of two counts")
    PERCENT = "percent", _("Percent")
    COUNT = "count", _("Count")
    BOOLEAN = "boolean", _("Done / not done")
    REDUCTION = "reduction", _("Reduction from a baseline")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class Aggregation(models.TextChoices):
    SUM = "sum", _("Ratio of counts summed over the quarters")
    LATEST = "latest", _("Latest value")


class TargetQuerySet(models.QuerySet):
    def in_force(self, year: int) -> TargetQuerySet:
        """Targets reported on in `year`: from their first year to their last, or to the end of
        their programme when they have no last year of their own."""
        ends = Q(last_year__gte=year) | Q(last_year__isnull=True, programme__last_year__gte=year)
        return self.filter(ends, first_year__lte=year)

    def of_programme(self, programme: Programme) -> TargetQuerySet:
        return self.filter(programme=programme)

    def for_level(self, level: str) -> TargetQuerySet:
        return self.filter(**{LEVEL_FIELDS[level]: True})


class TargetManager(models.Manager.from_queryset(TargetQuerySet)):
    def get_by_natural_key(self, code: str) -> Target:
        return self.get(code=code)


class Target(models.Model):
    """A reform target (chỉ tiêu) of one programme. The secretariat owns the catalogue as data.

    A target may carry on (`continues`) the target of an earlier programme that measures the same
    thing: one series then runs through both (2021-2025 into 2026-2030), for trends, declines and
    projections. A target is continued by one target at most.
    """

    code = models.CharField(
        _("code"),
        max_length=CODE_MAX_LENGTH,
        unique=True,
        validators=[CodeValidator()],
        help_text=_("Stable code, e.g. TTHC-05."),
    )
    title = models.CharField(_("title"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    area = models.ForeignKey(Area, verbose_name=_("reform area"), on_delete=models.PROTECT, related_name="targets")
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="targets"
    )
    continues = models.ForeignKey(
        "self",
        verbose_name=_("continues"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="continued_by",
        help_text=_("The target of an earlier programme that this one carries on: one series runs through both."),
    )
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    aggregation = models.CharField(_("yearly aggregation"), max_length=10, choices=Aggregation.choices)
    numerator_label = models.CharField(_("numerator label"), max_length=255, blank=True)
    denominator_label = models.CharField(_("denominator label"), max_length=255, blank=True)
    baseline_label = models.CharField(
        _("baseline"), max_length=255, blank=True, help_text=_("For reductions: what the baseline is, e.g. 2021.")
    )
    unit_label = models.CharField(_("unit of measure"), max_length=30, blank=True, default="%")
    for_province = models.BooleanField(_("province reports"), default=False)
    for_department = models.BooleanField(_("departments report"), default=False)
    for_district = models.BooleanField(_("districts report"), default=False)
    for_commune = models.BooleanField(_("communes report"), default=False)
    weight = models.DecimalField(
        _("scoring weight"), max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(0)]
    )
    legal_source = models.CharField(_("legal source"), max_length=255)
    first_year = models.PositiveSmallIntegerField(
        _("in force from year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    last_year = models.PositiveSmallIntegerField(
        _("in force until year"), null=True, blank=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = TargetManager()

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["area__order", "order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_year__isnull=True) | Q(last_year__gte=models.F("first_year")),
                name="target_years",
                violation_error_message=_("The last year cannot be before the first year."),
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=0),
                name="target_weight_not_negative",
                violation_error_message=_("The weight cannot be negative."),
            ),
            models.UniqueConstraint(
                fields=["continues"],
                name="target_continued_once",
                violation_error_message=_("The target continued is already continued by another target."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def natural_key(self) -> tuple[str]:
        return (self.code,)

    def clean(self) -> None:
        errors = {}
        if self.measure in (Measure.RATIO, Measure.REDUCTION):
            for field in ("numerator_label", "denominator_label"):
                if not getattr(self, field):
                    errors[field] = _("Required for a ratio or a reduction.")
        if self.measure == Measure.REDUCTION and self.direction != Direction.HIGHER:
            errors["direction"] = _("A reduction is measured as the share cut, so a higher share is better.")
        if not self.levels:
            errors["for_commune"] = _("Choose at least one level that reports this target.")
        if self.pk and self.figures.exists():
            stored = Target.objects.filter(pk=self.pk).values_list("measure", flat=True).first()
            if stored and stored != self.measure:
                errors["measure"] = _("Units have reported on this target: its measure can no longer change.")
        programme = self.programme if self.programme_id else None
        if programme is not None:
            errors.update(self._programme_errors(programme))
        if errors:
            raise ValidationError(errors)

    def _programme_errors(self, programme: Programme) -> dict:
        """A target's years lie within its programme's; the target it continues belongs to an
        earlier programme and measures the same thing the same way."""
        errors = {}
        outside = _("A target's years must lie within its programme's years (%(years)s).") % {"years": programme.years}
        if self.first_year is not None and not programme.first_year <= self.first_year <= programme.last_year:
            errors["first_year"] = outside
        if self.last_year is not None and not programme.first_year <= self.last_year <= programme.last_year:
            errors["last_year"] = outside
        continued = self.continues
        if continued is None:
            return errors
        if continued is self or (self.pk and continued.pk == self.pk):
            errors["continues"] = _("A target cannot continue itself.")
        elif continued.programme.last_year >= programme.first_year:
            errors["continues"] = _(
                "The target continued must belong to an earlier programme (%(code)s is in %(programme)s)."
            ) % {"code": continued.code, "programme": continued.programme.code}
        elif continued.pk and Target.objects.filter(continues=continued).exclude(pk=self.pk).exists():
            # The constraint says so too, but on no field: said here, the message names the field.
            errors["continues"] = _("The target continued is already continued by another target.")
        elif (continued.measure, continued.direction) != (self.measure, self.direction):
            errors["continues"] = _(
                "The target continued must have the same measure and direction (%(code)s: %(measure)s, %(direction)s)."
            ) % {
                "code": continued.code,
                "measure": continued.get_measure_display(),
                "direction": continued.get_direction_display(),
            }
        return errors

    @property
    def end_year(self) -> int:
        """The last year the target is reported on: its own, or its programme's."""
        return self.last_year or self.programme.last_year

    @property
    def levels(self) -> list[str]:
        return [level for level, field in LEVEL_FIELDS.items() if getattr(self, field)]

    def applies_to(self, level: str) -> bool:
        return getattr(self, LEVEL_FIELDS[level])

    @property
    def uses_counts(self) -> bool:
        """Ratio and reduction targets are reported as two raw counts, never as a percent."""
        return self.measure in (Measure.RATIO, Measure.REDUCTION)

    def value_of(
        self, numerator: Decimal | int | None, denominator: Decimal | int | None = None, measure: str | None = None
    ) -> Decimal | None:
        """The figure judged against the threshold, from what a unit reported.

        ratio: numerator / denominator in percent; reduction: the share cut from the baseline
        (numerator = current count, denominator = baseline count) in percent; otherwise the
        reported value itself (boolean: 1 done, 0 not done). `measure` is the one the figure was
        reported under, when it is not the target's own.
        """
        measure = measure or self.measure
        if numerator is None:
            return None
        numerator = Decimal(numerator)
        if measure == Measure.RATIO:
            return numerator / Decimal(denominator) * HUNDRED if denominator else None
        if measure == Measure.REDUCTION:
            return (Decimal(denominator) - numerator) / Decimal(denominator) * HUNDRED if denominator else None
        return numerator

    def is_met(self, value: Decimal | None, threshold: Decimal | None) -> bool | None:
        """True when `value` clears `threshold` in this target's direction; None without data."""
        if value is None or threshold is None:
            return None
        return value >= threshold if self.direction == Direction.HIGHER else value <= threshold


LEVEL_FIELDS: dict[str, str] = {
    Level.PROVINCE: "for_province",
    Level.DEPARTMENT: "for_department",
    Level.DISTRICT: "for_district",
    Level.COMMUNE: "for_commune",
}


class ThresholdQuerySet(models.QuerySet):
    def current(self) -> ThresholdQuerySet:
        return self.filter(superseded_at__isnull=True)

    def in_force_at(self, moment) -> ThresholdQuerySet:
        """Rows as the catalogue stood at `moment` (rows are never edited, only superseded)."""
        return self.filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment), recorded_at__lte=moment)


class Threshold(models.Model):
    """The value a target must reach (ngưỡng), for one unit level (or all) from one year on.

    Rows are never edited: a change supersedes the row and records a new one, so a period is
    judged against the thresholds as they stood when it was reported.
    """

    target = models.ForeignKey(Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="thresholds")
    level = models.CharField(
        _("level"), max_length=20, choices=Level.choices, blank=True, default="", help_text=_("Empty: every level.")
    )
    from_year = models.PositiveSmallIntegerField(
        _("from year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    value = models.DecimalField(_("threshold"), max_digits=12, decimal_places=2)
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.PROTECT
    )
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)

    objects = ThresholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("threshold")
        verbose_name_plural = _("thresholds")
        ordering = ["target", "level", "from_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "level", "from_year"],
                condition=Q(superseded_at__isnull=True),
                name="threshold_current_unique",
                violation_error_message=_("A threshold for this level and year is already in force."),
            ),
            models.CheckConstraint(
                condition=Q(superseded_at__isnull=True) | Q(superseded_at__gte=models.F("recorded_at")),
                name="threshold_superseded_after_recorded",
                violation_error_message=_("A threshold cannot be superseded before it was recorded."),
            ),
        ]
        indexes = [models.Index(fields=["target", "superseded_at"])]

    def __str__(self) -> str:
        level = self.get_level_display() if self.level else _("every level")
        return f"{self.target.code} · {level} · {self.from_year}: {self.value}"


class ChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    THRESHOLD_SET = "threshold_set", _("Threshold set")
    THRESHOLD_REMOVED = "threshold_removed", _("Threshold removed")


class CatalogueChange(models.Model):
    """Who changed which programme, area, target or threshold, when, how and why."""

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="changes",
    )
    target = models.ForeignKey(
        Target, verbose_name=_("target"), null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("reform area"), null=True, blank=True, on_delete=models.CASCADE, related_name="changes"
    )
    action = models.CharField(_("action"), max_length=20, choices=ChangeAction.choices)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("Field: [old, new]."))
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, blank=True, on_delete=models.PROTECT
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("catalogue change")
        verbose_name_plural = _("catalogue changes")
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="catalogue_change_reason_required",
                violation_error_message=_("A reason is required."),
            )
        ]

    def __str__(self) -> str:
        subject = self.target or self.area or self.programme
        return f"{subject.code} · {self.get_action_display()} · {self.changed_at:%d/%m/%Y %H:%M}"
