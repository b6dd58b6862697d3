"""The attainment engine: from approved figures to results, roll-ups, scores, ranks and laggards.

`period_recompute` reads as its steps: load, combine predecessors, judge, score and rank, roll
up, flag, write. Loading takes a fixed number of queries whatever the number of units; the steps
between run in memory over typed records; the write compares the new rows with the stored ones and
writes only those that changed, in one transaction, so a run killed half-way leaves the previous
results, and running it twice gives the same rows and writes nothing the second time.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.db import models, transaction
from django.utils import timezone

from cchc_portal.db import bulk_delete, bulk_insert, bulk_update
from reports.models import Period, PeriodKind, SubmissionStatus
from reports.selectors import figures_reported, periods_before, quarters_of, submissions_of
from targets.models import Aggregation, Measure, Programme, ScoringMethod, Target
from targets.selectors import ThresholdResolver, lineages
from units.models import Level, Role, RoleAssignment, SuccessionLink, Unit
from units.selectors import predecessors_in_force

from .laggards import flag_laggards
from .models import Attainment, LaggardFlag, LaggardReason, PeriodComputation, Rollup, UnitScore
from .records import Flag, Inputs, Plan, Result, Score, Summary, end_index, period_index
from .rollups import roll_up
from .rules import (
    COUNT_MEASURES,
    HISTORY_PERIODS,
    HUNDRED,
    ZERO,
    Raw,
    band_of,
    earned,
    gap_of,
    judge,
    project,
    quantized,
    status_of,
)

# --- The computation ------------------------------------------------------------------------------


def period_recompute(period: Period) -> Summary:
    """Recompute every result of `period` and store those that changed; returns what changed."""
    started, read_at = time.monotonic(), timezone.now()
    inputs = load(period)
    results = judge_all(inputs, combine_predecessors(inputs))
    own = _by_unit(results)
    scores = score_and_rank(inputs, own)
    rollups = roll_up(inputs, own)
    flags = date_off_track(flag_laggards(inputs, own), inputs)
    summary = Summary(
        period=period.key,
        attainments=len(results),
        changed=sum(1 for r in results if inputs.old_status.get((r.unit_id, r.target_id)) != r.status),
        scores=len(scores),
        rollups=len(rollups),
        laggards=len(flags),
    )
    write(period, read_at, started, results, rollups, scores, flags, summary)
    return summary


def _by_unit(results: list[Result]) -> dict[int, list[Result]]:
    """Results of units that reported themselves; those derived from predecessors stay out of
    scores, roll-ups and flags (their predecessors are counted already)."""
    by_unit: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        if not result.derived:
            by_unit[result.unit_id].append(result)
    return by_unit


# --- Load -----------------------------------------------------------------------------------------


def load(period: Period) -> Inputs:
    """Everything the computation reads, in a fixed number of queries whatever the number of units."""
    targets = {t.pk: t for t in Target.objects.in_force(period.year).select_related("programme")}
    units = {u.pk: u for u in Unit.objects.below_province()}
    links = SuccessionLink.objects.values_list("predecessor_id", "successor_id", "weight")
    history_periods = periods_before(period, HISTORY_PERIODS)
    previous = history_periods[-1] if history_periods else None
    previous_ranks = dict(UnitScore.objects.filter(period=previous).values_list("unit_id", "rank")) if previous else {}
    steering: dict[str, set[int]] = defaultdict(set)
    for user_id, path in RoleAssignment.objects.filter(role=Role.STEERING).values_list("user_id", "unit__path"):
        steering[path].add(user_id)
    old = Attainment.objects.filter(period=period).values_list("unit_id", "target_id", "status")
    resolver = ThresholdResolver.load(as_of=period.locked_at or timezone.now())
    return Inputs(
        period=period,
        targets=targets,
        resolver=resolver,
        units=units,
        raw=load_figures(period, targets),
        carried=predecessors_in_force(period.end, units, links),
        history=load_history(history_periods, targets),
        previous_ranks=previous_ranks,
        submissions=submissions_of(period) if period.kind == PeriodKind.QUARTER else None,
        steering=steering,
        old_status={(u, t): s for u, t, s in old},
        plans=plan_levels(period, targets, resolver),
        programme=Programme.objects.covering(period.year).first(),
    )


def load_figures(period: Period, targets: dict[int, Target]) -> dict[tuple[int, int], Raw]:
    """Figures of the period by (unit, target): approved ones; sent-but-unapproved as provisional.

    A 6-month, 9-month or annual period adds up its quarters' counts (or takes the latest value);
    a sum with a quarter missing is not the period's figure yet, so it is provisional.
    """
    quarters = quarters_of(period)
    position = {q.pk: i for i, q in enumerate(quarters)}
    raw: dict[tuple[int, int], Raw] = {}
    seen: dict[tuple[int, int], int] = defaultdict(int)
    for unit_id, period_id, status, target_id, numerator, denominator, value in figures_reported(quarters, targets):
        if period.kind != PeriodKind.QUARTER and status != SubmissionStatus.APPROVED:
            continue  # provisional figures are shown for a quarter only
        target = targets[target_id]
        item = raw.setdefault((unit_id, target_id), Raw())
        adds = target.aggregation == Aggregation.SUM and position[period_id] > 0
        if target.measure in COUNT_MEASURES and numerator is not None and denominator is not None:
            if adds and item.numerator is not None:
                item.numerator += numerator
                item.denominator += denominator
            else:
                item.numerator, item.denominator = Decimal(numerator), Decimal(denominator)
        elif value is not None:
            summed = adds and target.measure == Measure.COUNT and item.value is not None
            item.value = item.value + value if summed else value
        item.provisional = item.provisional or status != SubmissionStatus.APPROVED
        seen[(unit_id, target_id)] += 1
    for key, item in raw.items():
        if targets[key[1]].aggregation == Aggregation.SUM and seen[key] < len(quarters):
            item.provisional = True
    return raw


def load_history(history_periods: list[Period], targets: dict[int, Target]) -> dict[tuple[int, int], list]:
    """Each unit's earlier approved values by (unit, target in force), oldest first, as (period
    index, value). A target that continues one of an earlier programme carries its series: the
    first 2026 quarter reads the 2025 results of the target it continues. Two queries."""
    index = {p.pk: period_index(p) for p in history_periods}
    series_of: dict[int, int] = {}  # a target of the series -> the target in force it leads to
    for target_id, chain in lineages(targets).items():
        for member in chain:
            series_of.setdefault(member, target_id)
    found: dict[tuple[int, int], dict[int, tuple[bool, Decimal]]] = defaultdict(dict)
    rows = Attainment.objects.filter(
        period__in=history_periods, target_id__in=list(series_of), value__isnull=False, provisional=False
    )
    for unit_id, target_id, period_id, value in rows.values_list("unit_id", "target_id", "period_id", "value"):
        key, at, own = (unit_id, series_of[target_id]), index[period_id], target_id == series_of[target_id]
        # Programmes do not overlap, so a period has one value per series; should two meet, the
        # target's own result wins over an earlier programme's.
        if own or at not in found[key]:
            found[key][at] = (own, value)
    return {key: [(at, value) for at, (_own, value) in sorted(values.items())] for key, values in found.items()}


# --- Combine predecessors -------------------------------------------------------------------------


def combine_predecessors(inputs: Inputs) -> dict[tuple[int, int], Raw | None]:
    """For units created after the period: their figure made of their predecessors' figures."""
    combined: dict[tuple[int, int], Raw | None] = {}
    for unit_id, parts in inputs.carried.items():
        for plan in inputs.plans[inputs.units[unit_id].level]:
            target_id = plan.target.pk
            combined[(unit_id, target_id)] = _combine(
                plan.target, [(inputs.raw.get((p, target_id)), s) for p, s in parts]
            )
    return combined


def _combine(target: Target, parts: list[tuple[Raw | None, Decimal]]) -> Raw | None:
    """A successor's figure from its predecessors' (raw, share): counts add up by share. Only
    approved figures count; with some predecessors missing the result is provisional."""
    given = len(parts)
    usable = [(raw, share) for raw, share in parts if raw is not None and not raw.empty() and not raw.provisional]
    if not usable:
        return None
    if target.measure in COUNT_MEASURES:
        complete = [(r, s) for r, s in usable if r.numerator is not None and r.denominator is not None]
        if not complete:
            return None
        result = Raw(sum(r.numerator * s for r, s in complete), sum(r.denominator * s for r, s in complete))
    else:
        values = [(r.value, s) for r, s in usable if r.value is not None]
        if target.measure == Measure.COUNT:
            result = Raw(value=sum(v * s for v, s in values))
        elif target.measure == Measure.BOOLEAN:
            result = Raw(value=min(v for v, _ in values))
        else:
            total = sum(s for _, s in values)
            if not total:
                return None
            result = Raw(value=sum(v * s for v, s in values) / total)
    result.provisional = len(usable) < given
    return result


# --- Judge ----------------------------------------------------------------------------------------


def plan_levels(period: Period, targets: dict[int, Target], resolver: ThresholdResolver) -> dict[str, list[Plan]]:
    """Per level, the targets it reports with this year's threshold and the projection's horizon:
    the end of the target's programme (or its own last year), whose threshold for the level a
    projection is held against (2030 for 2026-2030, 2027 for a 2026-2027 task, 2025 before)."""
    plans: dict[str, list[Plan]] = {}
    for level in Level.values:
        plans[level] = []
        for target in targets.values():
            if target.applies_to(level):
                horizon = target.end_year
                threshold = resolver.resolve(target.pk, level, period.year)
                final = resolver.resolve(target.pk, level, horizon)
                plans[level].append(Plan(target, threshold, end_index(period, horizon), final, horizon))
    return plans


def judge_all(inputs: Inputs, combined: dict[tuple[int, int], Raw | None]) -> list[Result]:
    """A result for every (unit, target) the unit's level reports: units in force at the end of
    the period judged on their own figures, later units on their predecessors' combined."""
    day = inputs.period.end
    actual = [(u, False) for u in inputs.units.values() if u.is_current_on(day)]
    later = [(inputs.units[i], True) for i in inputs.carried]
    results = []
    for unit, derived in actual + later:
        for plan in inputs.plans[unit.level]:
            key = (unit.pk, plan.target.pk)
            results.append(
                _judge_one(inputs, plan, key, combined.get(key) if derived else inputs.raw.get(key), derived)
            )
    return results


def _judge_one(inputs: Inputs, plan: Plan, key: tuple[int, int], item: Raw | None, derived: bool) -> Result:
    target, threshold = plan.target, plan.threshold
    value, met = judge(target, item, threshold)
    points = inputs.history.get(key, [])
    history = [v for _index, v in points]
    last = history[-1] if history else None
    projection = None
    if value is not None:
        projection = project([*points, (inputs.here, value)], plan.horizon_index)
        if projection is not None and target.measure in (Measure.RATIO, Measure.PERCENT):
            projection = min(HUNDRED, max(ZERO, projection))
    off_track = projection is not None and target.is_met(projection, plan.horizon_threshold) is False
    return Result(
        unit_id=key[0],
        target_id=key[1],
        numerator=item.numerator if item else None,
        denominator=item.denominator if item else None,
        value=quantized(value),
        threshold=threshold,
        met=met,
        gap=quantized(gap_of(target, value, threshold)),
        change=quantized(value - last) if value is not None and last is not None else None,
        projection=quantized(projection),
        status=status_of(target, value, threshold, met, off_track),
        provisional=bool(item and item.provisional),
        derived=derived,
        off_track=off_track,
        history=history,
    )


def date_off_track(flags: list[Flag], inputs: Inputs) -> list[Flag]:
    """Give each "off track" reason the year each of its targets is off track for (the end of
    its programme), so that it reads "off track for 2030 on ..."."""
    years = {plan.target.code: plan.horizon_year for plans in inputs.plans.values() for plan in plans}
    for flag in flags:
        for reason in flag.reasons:
            if reason["code"] == LaggardReason.OFF_TRACK:
                reason["years"] = {code: years[code] for code in reason["targets"] if code in years}
    return flags


# --- Score and rank -------------------------------------------------------------------------------


def score_and_rank(inputs: Inputs, by_unit: dict[int, list[Result]]) -> list[Score]:
    """A score out of 100 per unit with approved figures (weighted credit on the targets it is
    judged on, by the programme's scoring method), its band, and its competition rank within its
    level (equal scores share a rank: 1, 2, 2, 4). A unit with no approved figure is not ranked."""
    targets, programme = inputs.targets, inputs.programme
    method = programme.scoring if programme else ScoringMethod.PROPORTIONAL
    floor = programme.scoring_floor if programme else Decimal(50)
    scores = []
    for unit_id, rows in by_unit.items():
        judged = [r for r in rows if r.threshold is not None]
        if not any(r.value is not None and not r.provisional for r in judged):
            continue  # no approved figure: no score and no rank ("Chưa có số liệu")
        weight = sum((targets[r.target_id].weight for r in judged), ZERO)
        gained = sum(
            (
                targets[r.target_id].weight
                * earned(targets[r.target_id], None if r.provisional else r.value, r.threshold, method, floor)
                for r in judged
            ),
            ZERO,
        )
        score = (HUNDRED * gained / weight).quantize(Decimal("0.01")) if weight else ZERO
        met = sum(1 for r in judged if r.met and not r.provisional)
        level = inputs.units[unit_id].level
        scores.append(Score(unit_id, level, score, band_of(score), met, len(judged)))
    by_level: dict[str, list[Score]] = defaultdict(list)
    for item in scores:
        by_level[item.level].append(item)
    for items in by_level.values():
        items.sort(key=lambda s: (-s.score, inputs.units[s.unit_id].path))
        for position, item in enumerate(items, start=1):
            tied = position > 1 and items[position - 2].score == item.score
            item.rank = items[position - 2].rank if tied else position
            item.rank_of = len(items)
            before = inputs.previous_ranks.get(item.unit_id)
            item.movement = before - item.rank if before else None
    return scores


# --- Write ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A derived table as the write step sees it: rows of a period found by their `key` (unique
    within the period), with the `values` a recompute may change."""

    model: type[models.Model]
    key: tuple[str, ...]
    values: tuple[str, ...]

    @cached_property
    def _columns(self) -> tuple[tuple[Decimal | None, bool], ...]:
        """Per field of key + values: the step its decimal column rounds to, whether it is JSON."""
        fields = [self.model._meta.get_field(name.removesuffix("_id")) for name in self.key + self.values]
        return tuple(
            (
                Decimal(1).scaleb(-f.decimal_places) if isinstance(f, models.DecimalField) else None,
                isinstance(f, models.JSONField),
            )
            for f in fields
        )

    def row(self, item) -> tuple:
        """An item's key + values as the database gives them back: decimals rounded to their
        column as PostgreSQL rounds (half away from zero), JSON as it reads back."""
        row = []
        for name, (step, is_json) in zip(self.key + self.values, self._columns, strict=True):
            value = getattr(item, name)
            if step is not None and value is not None:
                value = Decimal(value).quantize(step, rounding=ROUND_HALF_UP)
            elif is_json:
                value = json.loads(json.dumps(value))
            row.append(value)
        return tuple(row)

    def _db(self, row: tuple) -> tuple:
        """A row (key + values) as parameters: JSON as its text."""
        return tuple(json.dumps(v) if is_json else v for v, (_step, is_json) in zip(row, self._columns, strict=True))

    def sync(self, period: Period, items: list) -> tuple[int, dict[tuple, int]]:
        """Make the period's stored rows equal to `items`: update the rows whose values changed,
        insert the new ones, delete the vanished ones, and leave the rest alone. Returns the rows
        written and the primary keys of the period's rows by key. At most four statements."""
        width = len(self.key)
        stored: dict[tuple, tuple[int, tuple]] = {
            tuple(row[1 : width + 1]): (row[0], tuple(row[width + 1 :]))
            for row in self.model.objects.filter(period=period).values_list("pk", *self.key, *self.values)
        }
        wanted = {row[:width]: row[width:] for row in map(self.row, items)}
        vanished = [pk for key, (pk, _values) in stored.items() if key not in wanted]
        changed = [
            (stored[key][0], *self._db(key + values)[width:])
            for key, values in wanted.items()
            if key in stored and stored[key][1] != values
        ]
        added = [(period.pk, *self._db(key + values)) for key, values in wanted.items() if key not in stored]
        written = bulk_delete(self.model, vanished)
        written += bulk_update(self.model, self.values, changed)
        written += bulk_insert(self.model, ("period_id", *self.key, *self.values), added)
        ids = {key: pk for key, (pk, _values) in stored.items() if key in wanted}
        if added:
            new_keys = {row[1 : width + 1] for row in added}
            for pk, *key in self.model.objects.filter(period=period).values_list("pk", *self.key):
                if tuple(key) in new_keys:
                    ids[tuple(key)] = pk
        return written, ids


RESULTS = Table(
    Attainment,
    key=("unit_id", "target_id"),
    values=(
        "numerator", "denominator", "value", "threshold", "met", "gap", "change", "projection", "status",
        "provisional", "derived",
    ),
)  # fmt: skip
ROLLUPS = Table(
    Rollup,
    key=("target_id", "area_id", "scope", "scope_key"),
    values=(
        "numerator", "denominator", "value", "threshold", "met", "units_total", "units_reporting", "units_met",
    ),
)  # fmt: skip
SCORES = Table(
    UnitScore,
    key=("unit_id",),
    values=("level", "score", "band", "rank", "rank_of", "movement", "targets_met", "targets_total"),
)
FLAGS = Table(LaggardFlag, key=("unit_id",), values=("reasons", "tier", "severity"))


def write(period, read_at, started, results, rollups, scores, flags, summary: Summary) -> None:
    """Bring the period's stored rows to the new ones in one transaction, under a lock on the
    period: only rows that changed are written (`summary.written`), so a run that finds nothing
    new writes nothing, and the stored rows are those a run on an empty table would give."""
    PeriodComputation.objects.get_or_create(period=period)
    with transaction.atomic():
        # One write at a time per period; a second run waits, then compares with the first's rows.
        computation = PeriodComputation.objects.select_for_update().get(period=period)
        written = 0
        for table, items in ((RESULTS, results), (ROLLUPS, rollups), (SCORES, scores)):
            written += table.sync(period, items)[0]
        written += _sync_flags(period, flags)
        summary.written = written
        summary.seconds = time.monotonic() - started
        # Figures approved while this run was reading stay pending: the period remains stale.
        outdated_meanwhile = computation.stale_since is not None and computation.stale_since > read_at
        computation.stale = outdated_meanwhile
        computation.stale_since = computation.stale_since if outdated_meanwhile else None
        computation.computed_at = timezone.now()
        computation.duration_ms = int(summary.seconds * 1000)
        computation.rows = len(results)
        computation.save()


def _sync_flags(period: Period, flags: list[Flag]) -> int:
    """The flags, then who answers for each: the (flag, member) pairs of the period that are not
    wanted any more go (those of vanished flags with them), the missing ones are added."""
    through = LaggardFlag.responsible.through
    pairs = through.objects.filter(laggardflag__period=period).values_list("pk", "laggardflag_id", "user_id")
    stored = {(flag_id, user_id): pk for pk, flag_id, user_id in pairs}
    written, ids = FLAGS.sync(period, flags)
    wanted = {(ids[(f.unit_id,)], user_id) for f in flags for user_id in f.responsible}
    written += bulk_delete(through, [pk for pair, pk in stored.items() if pair not in wanted])
    added = sorted(pair for pair in wanted if pair not in stored)
    return written + bulk_insert(through, ("laggardflag_id", "user_id"), added)
