"""What the attainment engine computes per period, read directly by the dashboards.

Every table here is derived: the engine rebuilds a period's rows from the approved figures, so
nothing in them is ever typed by a person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from targets.models import Area, Target
from units.models import Level

# The tables the engine rebuilds (Attainment, Rollup, UnitScore, LaggardFlag and its responsible
# members) are lean: no foreign-key constraint, whose checks cost as much as the rows' writing, and
# no index a unique constraint already leads with. What keeps them whole instead:
# - each recompute writes a period's rows from the units and targets it has just read, and
#   deletes every stored row of the period it did not produce (a row of a unit or target gone);
# - deleting a period, target, area or user through Django still cascades to these rows (the ORM
#   collects them: `on_delete` works without the constraint), and units are never deleted;
# - `attainment/tests/test_write.py` checks that no row points at nothing after a recompute.
LEAN = {"on_delete": models.CASCADE, "db_constraint": False}
LEAN_UNINDEXED = {**LEAN, "db_index": False}  # a unique constraint or an index leads with it


class Status(models.TextChoices):
    MET = "met", _("Met")
    AT_RISK = "at_risk", _("At risk")
    BEHIND = "behind", _("Behind")
    NO_DATA = "no_data", _("No data")


class Attainment(models.Model):
    """One unit's result on one target in one period."""

    # Derived tables carry no foreign-key constraints and only the indexes their readers use (see
    # `LEAN`): the engine's rebuild keeps them whole, and the ORM still cascades a deletion.
    period = models.ForeignKey("reports.Period", verbose_name=_("period"), related_name="+", **LEAN_UNINDEXED)
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), related_name="+", **LEAN)  # a unit's history
    target = models.ForeignKey(Target, verbose_name=_("target"), related_name="+", **LEAN_UNINDEXED)
    numerator = models.DecimalField(_("numerator"), max_digits=20, decimal_places=4, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=20, decimal_places=4, null=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=4, null=True)
    threshold = models.DecimalField(_("threshold"), max_digits=12, decimal_places=2, null=True)
    met = models.BooleanField(_("met"), null=True)
    gap = models.DecimalField(
        _("gap"), max_digits=12, decimal_places=4, null=True, help_text=_("Ahead (+) or behind (-).")
    )
    change = models.DecimalField(_("change since the previous period"), max_digits=12, decimal_places=4, null=True)
    projection = models.DecimalField(
        _("projection for the end of the programme"),
        max_digits=12,
        decimal_places=4,
        null=True,
        help_text=_("Where the unit's line leads by the last year of the target's programme."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    provisional = models.BooleanField(_("provisional"), default=False, help_text=_("Sent but not yet approved."))
    derived = models.BooleanField(_("from predecessors"), default=False)

    class Meta:
        verbose_name = _("attainment")
        verbose_name_plural = _("attainments")
        constraints = [models.UniqueConstraint(fields=["period", "unit", "target"], name="attainment_unique")]
        indexes = [models.Index(fields=["period", "target", "status"])]

    def __str__(self) -> str:
        return f"{self.unit_id} · {self.target_id} · {self.status}"

    @property
    def short_by(self):
        """How far a missed result is from its threshold, as a positive number."""
        return -self.gap if self.gap is not None and self.gap < 0 else None


class ScopeKind(models.TextChoices):
    PROVINCE = "province", _("Whole province")
    LEVEL = "level", _("Level")
    KIND = "kind", _("Unit kind")
    DISTRICT = "district", _("District with its communes")


class Rollup(models.Model):
    """A target rolled up over a group of units: the ratio of sums, and how many units meet it.

    A row with an area and no target rolls up a reform area: its value is the share of the
    group's results on the area's targets that are met, and its counts are of results, not units.
    """

    period = models.ForeignKey("reports.Period", verbose_name=_("period"), related_name="+", **LEAN_UNINDEXED)
    # A target's trend reads its province-wide rows across periods.
    target = models.ForeignKey(Target, verbose_name=_("target"), null=True, blank=True, related_name="+", **LEAN)
    area = models.ForeignKey(
        Area, verbose_name=_("reform area"), null=True, blank=True, related_name="+", **LEAN_UNINDEXED
    )
    scope = models.CharField(_("scope"), max_length=10, choices=ScopeKind.choices)
    scope_key = models.CharField(_("scope key"), max_length=30, help_text=_("Level, unit kind or district code."))
    numerator = models.DecimalField(_("numerator"), max_digits=24, decimal_places=4, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=24, decimal_places=4, null=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=4, null=True)
    threshold = models.DecimalField(_("threshold"), max_digits=12, decimal_places=2, null=True)
    met = models.BooleanField(_("met"), null=True)
    units_total = models.PositiveIntegerField(_("units"))
    units_reporting = models.PositiveIntegerField(_("units with data"))
    units_met = models.PositiveIntegerField(_("units meeting the threshold"))
    # What the row is computed from (attainment.rollups.Tally), so that one unit's new result
    # updates it without reading the rest of the group: the sum of the approved values, and of
    # the thresholds of those that have one (plain, and weighted by their denominators).
    value_sum = models.DecimalField(_("sum of the values"), max_digits=30, decimal_places=4, null=True)
    thresholds = models.PositiveIntegerField(_("results with a threshold"), default=0)
    threshold_sum = models.DecimalField(_("sum of the thresholds"), max_digits=30, decimal_places=2, null=True)
    threshold_weighted = models.DecimalField(
        _("sum of the thresholds by denominator"), max_digits=36, decimal_places=6, null=True
    )
    threshold_weight = models.DecimalField(_("sum of the denominators"), max_digits=30, decimal_places=4, null=True)
    # On a level's rows: the median and spread (median absolute deviation, at least 1) of the
    # level's approved values, which a unit's figure is held against as its peers'.
    peer_median = models.DecimalField(_("peers' median"), max_digits=20, decimal_places=6, null=True)
    peer_spread = models.DecimalField(_("peers' spread"), max_digits=20, decimal_places=6, null=True)

    class Meta:
        verbose_name = _("roll-up")
        verbose_name_plural = _("roll-ups")
        constraints = [
            models.UniqueConstraint(fields=["period", "target", "scope", "scope_key"], name="rollup_unique"),
            models.UniqueConstraint(
                fields=["period", "area", "scope", "scope_key"],
                condition=Q(target__isnull=True),
                name="rollup_area_unique",
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=False, area__isnull=True) | Q(target__isnull=True, area__isnull=False),
                name="rollup_target_or_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.target_id or self.area_id} · {self.scope} {self.scope_key}: {self.value}"


class Band(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    AVERAGE = "average", _("Average")
    WEAK = "weak", _("Weak")


class UnitScore(models.Model):
    """A unit's score out of 100 for a period, its band and rank among units of its level."""

    period = models.ForeignKey("reports.Period", verbose_name=_("period"), related_name="+", **LEAN_UNINDEXED)
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), related_name="+", **LEAN)  # a unit's ranks
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2)
    band = models.CharField(_("band"), max_length=10, choices=Band.choices)
    # Ranks are set by the database from the level's stored scores (`attainment.store.rank`).
    rank = models.PositiveIntegerField(_("rank"), db_default=0)
    rank_of = models.PositiveIntegerField(_("ranked units"), db_default=0)
    movement = models.IntegerField(_("movement"), null=True, help_text=_("Places gained (+) or lost (-)."))
    targets_met = models.PositiveSmallIntegerField(_("targets met"))
    targets_total = models.PositiveSmallIntegerField(_("targets"))

    class Meta:
        verbose_name = _("unit score")
        verbose_name_plural = _("unit scores")
        ordering = ["level", "rank"]
        constraints = [models.UniqueConstraint(fields=["period", "unit"], name="unit_score_unique")]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.score} ({self.rank}/{self.rank_of})"


class LaggardReason(models.TextChoices):
    """Why a unit is flagged. A flag stores each reason as {"code": ..., details}; `describe`
    words it for a reader, so a code and its wording never live apart."""

    MISSED = "missed", _("Misses thresholds")
    MISSING = "missing", _("No report sent")
    LATE = "late", _("Report sent late")
    RETURNED = "returned", _("Report returned repeatedly")
    DECLINING = "declining", _("Worse two periods running")
    OFF_TRACK = "off_track", _("Off track for the programme's target")
    DATA_QUALITY = "data_quality", _("Figures to check")

    @classmethod
    def describe(cls, reason: dict) -> str:
        """One reason in words, with its targets and counts: "misses 3 thresholds (TTHC-01, ...)"."""
        code = reason["code"]
        targets = ", ".join(reason.get("targets", []))
        if code == cls.MISSED:
            message = gettext("misses %(count)d thresholds (%(targets)s)")
            return message % {"count": reason["count"], "targets": targets}
        if code == cls.MISSING:
            return gettext("no report sent")
        if code == cls.LATE:
            return gettext("report sent late")
        if code == cls.RETURNED:
            return gettext("report returned %d times") % reason["count"]
        if code == cls.DECLINING:
            return gettext("worse two periods running on %s") % targets
        if code == cls.OFF_TRACK:
            return cls._off_track(reason)
        if code == cls.DATA_QUALITY:
            return gettext("figures to check (far from its history or its peers) on %s") % targets
        return code  # a reason written by a later version: shown as its code rather than hidden

    @staticmethod
    def _off_track(reason: dict) -> str:
        """Off track "for 2030 on TTHC-26-02, ...": a group per programme end when the targets'
        programmes end in different years (a 2026-2027 task beside the 2030 targets)."""
        years = reason.get("years")
        if not years:  # a flag stored before reasons carried their years
            return gettext("off track for the programme's target on %s") % ", ".join(reason.get("targets", []))
        by_year: dict[int, list[str]] = {}
        for code in reason.get("targets", []):
            by_year.setdefault(years.get(code), []).append(code)
        return "; ".join(
            gettext("off track for %(year)s on %(targets)s") % {"year": year, "targets": ", ".join(codes)}
            for year, codes in sorted(by_year.items(), key=lambda item: item[0] or 0)
        )

    @classmethod
    def describe_all(cls, reasons: list[dict]) -> str:
        return "; ".join(cls.describe(r) for r in reasons)


class FlagTier(models.TextChoices):
    """A laggard needs the committee's attention; a warning is something to watch."""

    LAGGARD = "laggard", _("Laggard")
    WARNING = "warning", _("To watch")


class LaggardFlag(models.Model):
    """A unit flagged in a period, with its reasons: a laggard (đơn vị chậm, yếu kém) or a unit to
    watch. `severity` orders the lists: every laggard comes before every warning."""

    period = models.ForeignKey("reports.Period", verbose_name=_("period"), related_name="+", **LEAN_UNINDEXED)
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), related_name="+", **LEAN_UNINDEXED)
    reasons = models.JSONField(_("reasons"), default=list, help_text=_("Each reason with its code and details."))
    tier = models.CharField(_("tier"), max_length=10, choices=FlagTier.choices, default=FlagTier.LAGGARD)
    severity = models.PositiveIntegerField(_("severity"), default=0)
    responsible = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible steering members"),
        related_name="+",
        blank=True,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("laggard flag")
        verbose_name_plural = _("laggard flags")
        ordering = ["-severity"]
        constraints = [models.UniqueConstraint(fields=["period", "unit"], name="laggard_flag_unique")]
        indexes = [models.Index(fields=["period", "tier", "-severity"])]

    def __str__(self) -> str:
        return f"{self.unit_id}: {', '.join(r['code'] for r in self.reasons)}"

    @property
    def reason_text(self) -> str:
        return LaggardReason.describe_all(self.reasons)

    @property
    def main_reason(self) -> str:
        """The reason that weighs most (reasons are stored heaviest first)."""
        return LaggardReason.describe(self.reasons[0]) if self.reasons else ""


class PeriodComputation(models.Model):
    """Whether a period's results are fresh: approvals mark it stale, the engine marks it fresh."""

    period = models.OneToOneField(
        "reports.Period", verbose_name=_("period"), on_delete=models.CASCADE, related_name="computation"
    )
    stale = models.BooleanField(_("stale"), default=True)
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    # Whether the next run must compute the whole period (never computed, or the catalogue
    # changed); otherwise it recomputes only the units in `PendingChange`.
    full_needed = models.BooleanField(_("whole period to compute"), default=True)

    class Meta:
        verbose_name = _("period computation")
        verbose_name_plural = _("period computations")
        indexes = [models.Index(fields=["stale"])]

    def __str__(self) -> str:
        return f"{self.period_id}: {'stale' if self.stale else 'fresh'}"


class PendingChange(models.Model):
    """A unit whose approved figures changed in a period (or in one the period reads) since the
    period was last computed: the next run recomputes it and what depends on it."""

    period = models.ForeignKey("reports.Period", verbose_name=_("period"), related_name="+", **LEAN_UNINDEXED)
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), related_name="+", **LEAN_UNINDEXED)

    class Meta:
        verbose_name = _("pending change")
        verbose_name_plural = _("pending changes")
        constraints = [models.UniqueConstraint(fields=["period", "unit"], name="pendingchange_unique")]

    def __str__(self) -> str:
        return f"{self.period_id} · {self.unit_id}"
