"""The attainment engine: from approved figures to results, roll-ups, scores, ranks and laggards.

`period_recompute` reads as its steps: load, combine predecessors, judge, score, roll up, flag,
write. Loading takes a fixed number of queries whatever the number of units; the steps between
run in memory over typed records; the write (`attainment.store`) compares the new rows with the
stored ones and writes only those that changed, in one transaction, then ranks the stored scores
in the database, so a run killed half-way leaves the previous results, and running it twice gives
the same rows and writes nothing the second time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from reports.models import Period, PeriodKind, SubmissionStatus
from reports.selectors import figures_reported, periods_before, quarters_of, submissions_of
from targets.models import Aggregation, Measure, Programme, ScoringMethod, Target
from targets.selectors import ThresholdResolver, lineages
from units.models import Level, Role, RoleAssignment, SuccessionLink, Unit
from units.selectors import predecessors_in_force

from .laggards import flag_laggards
from .models import Attainment, LaggardReason, PendingChange
from .records import Flag, Inputs, Plan, Result, Score, Summary, end_index, period_index
from .rollups import peer_stats, roll_up
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
from .store import Rows, write

# --- The computation ------------------------------------------------------------------------------


def period_recompute(period: Period) -> Summary:
    """Recompute every result of `period` and store those that changed; returns what changed."""
    started, read_at = time.monotonic(), timezone.now()
    pending, _units = pending_changes(period)
    inputs = load(period)
    results = judge_all(inputs, combine_predecessors(inputs))
    own = own_results(results)
    scores = score_units(inputs, own)
    stats = peer_stats(own, inputs.units)
    rollups = roll_up(inputs, own, stats)
    flags = date_off_track(flag_laggards(inputs, own, stats), inputs)
    return write(period, read_at, started, Rows(results, rollups, scores, flags), inputs.old_status, pending)


def own_results(results: list[Result]) -> dict[int, list[Result]]:
    """Results of units that reported themselves; those derived from predecessors stay out of
    scores, roll-ups and flags (their predecessors are counted already)."""
    by_unit: dict[int, list[Result]] = defaultdict(list)
    for result in results:
        if not result.derived:
            by_unit[result.unit_id].append(result)
    return by_unit


# --- Load -----------------------------------------------------------------------------------------


def pending_changes(period: Period) -> tuple[tuple[int, ...], set[int]]:
    """The `PendingChange` rows of the period and their units. Read after the run's start time,
    so that a change committed after this read leaves the period stale (see `write`)."""
    rows = list(PendingChange.objects.filter(period=period).values_list("pk", "unit_id"))
    return tuple(pk for pk, _unit in rows), {unit for _pk, unit in rows}


def load(period: Period, unit_ids: set[int] | None = None) -> Inputs:
    """Everything the computation reads, in a fixed number of queries whatever the number of units;
    with `unit_ids`, only what concerns those units."""
    targets = {t.pk: t for t in Target.objects.in_force(period.year).select_related("programme")}
    reporting = Unit.objects.below_province()
    units = {u.pk: u for u in (reporting if unit_ids is None else reporting.filter(pk__in=unit_ids))}
    links = SuccessionLink.objects.values_list("predecessor_id", "successor_id", "weight")
    history_periods = periods_before(period, HISTORY_PERIODS)
    steering: dict[str, set[int]] = defaultdict(set)
    for user_id, path in RoleAssignment.objects.filter(role=Role.STEERING).values_list("user_id", "unit__path"):
        steering[path].add(user_id)
    old = Attainment.objects.filter(period=period)
    if unit_ids is not None:
        old = old.filter(unit_id__in=unit_ids)
    old = old.values_list("unit_id", "target_id", "status")
    resolver = ThresholdResolver.load(as_of=period.locked_at or timezone.now())
    return Inputs(
        period=period,
        targets=targets,
        resolver=resolver,
        units=units,
        raw=load_figures(period, targets, unit_ids),
        carried=predecessors_in_force(period.end, units, links),
        history=load_history(history_periods, targets, unit_ids),
        submissions=submissions_of(period, unit_ids) if period.kind == PeriodKind.QUARTER else None,
        steering=steering,
        old_status={(u, t): s for u, t, s in old},
        plans=plan_levels(period, targets, resolver),
        programme=Programme.objects.covering(period.year).first(),
    )


def load_figures(period: Period, targets: dict[int, Target], unit_ids=None) -> dict[tuple[int, int], Raw]:
    """Figures of the period by (unit, target): approved ones; sent-but-unapproved as provisional.

    A 6-month, 9-month or annual period adds up its quarters' counts (or takes the latest value);
    a sum with a quarter missing is not the period's figure yet, so it is provisional.
    """
    quarters = quarters_of(period)
    position = {q.pk: i for i, q in enumerate(quarters)}
    raw: dict[tuple[int, int], Raw] = {}
    seen: dict[tuple[int, int], int] = defaultdict(int)
    rows = figures_reported(quarters, targets, unit_ids)
    for unit_id, period_id, status, target_id, numerator, denominator, value in rows:
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


def load_history(history_periods: list[Period], targets: dict[int, Target], unit_ids=None) -> dict[tuple, list]:
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
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=unit_ids)
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


# --- Score ----------------------------------------------------------------------------------------


def score_units(inputs: Inputs, by_unit: dict[int, list[Result]]) -> list[Score]:
    """A score out of 100 per unit with approved figures (weighted credit on the targets it is
    judged on, by the programme's scoring method) and its band. A unit with no approved figure has
    no score, and is not ranked ("Chưa có số liệu")."""
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
    return scores
