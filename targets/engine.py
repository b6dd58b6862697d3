"""The attainment engine: from approved figures to results, roll-ups, scores, ranks and laggards.

`period_recompute` reads everything it needs in a fixed number of queries (whatever the number of
units), computes in memory, and swaps the period's results in one transaction: a run killed
half-way leaves the previous results in place, and running it twice gives the same rows.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cchc_portal.db import bulk_insert
from reports.models import Figure, Period, PeriodKind, Submission, SubmissionStatus
from units.models import KIND_LEVEL, Level, Role, RoleAssignment, SuccessionLink, Unit

from .models import (
    Aggregation,
    Attainment,
    Band,
    Direction,
    LaggardFlag,
    Measure,
    PeriodComputation,
    Rollup,
    ScopeKind,
    Status,
    Target,
    UnitScore,
)
from .selectors import ThresholdResolver

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
COUNT_MEASURES = (Measure.RATIO, Measure.REDUCTION)
HISTORY = 7  # earlier periods of the same kind read for change, declines, projection and outliers


@dataclass
class Raw:
    """What a unit reported for a target, as raw counts or a value, before any judgement."""

    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    provisional: bool = False

    def empty(self) -> bool:
        return self.numerator is None and self.denominator is None and self.value is None


@dataclass(slots=True)
class Result:
    """One unit's result on one target, as computed (written to `Attainment` as a plain row)."""

    unit_id: int
    target_id: int
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    threshold: Decimal | None
    met: bool | None
    gap: Decimal | None
    change: Decimal | None
    projection: Decimal | None
    status: str
    provisional: bool
    derived: bool
    off_track: bool
    series: list[tuple[int, Decimal]]


RESULT_FIELDS = (
    "unit_id",
    "target_id",
    "numerator",
    "denominator",
    "value",
    "threshold",
    "met",
    "gap",
    "change",
    "projection",
    "status",
    "provisional",
    "derived",
)
SCORE_FIELDS = ("unit_id", "level", "score", "band", "rank", "rank_of", "movement", "targets_met", "targets_total")
ROLLUP_FIELDS = (
    "target_id",
    "area_id",
    "scope",
    "scope_key",
    "numerator",
    "denominator",
    "value",
    "threshold",
    "met",
    "units_total",
    "units_reporting",
    "units_met",
)


@dataclass
class Summary:
    period: str
    attainments: int = 0
    changed: int = 0
    scores: int = 0
    laggards: int = 0
    rollups: int = 0
    seconds: float = 0.0


# --- Arithmetic on one figure -------------------------------------------------------------------


def judge(target: Target, raw: Raw | None, threshold: Decimal | None) -> tuple[Decimal | None, bool | None]:
    """The value of a raw figure and whether it clears the threshold."""
    if raw is None or raw.empty():
        return None, None
    value = target.value_of(raw.numerator, raw.denominator) if target.measure in COUNT_MEASURES else raw.value
    return value, target.is_met(value, threshold)


def earned(target: Target, value: Decimal | None, threshold: Decimal | None) -> Decimal:
    """Share of the target's weight a value earns: all of it at the threshold, else in proportion."""
    if value is None or threshold is None:
        return ZERO
    if target.direction == Direction.LOWER:
        return ONE if value <= threshold else (threshold / value if value > 0 else ONE)
    if threshold <= 0 or value >= threshold:
        return ONE
    return max(ZERO, value / threshold)


def band_of(score: Decimal) -> str:
    for cutoff, band in settings.SCORE_BANDS:
        if score >= Decimal(str(cutoff)):
            return band
    return Band.WEAK


DECLINE_MIN = Decimal("0.5")
MAD_FLOOR = Decimal(1)  # a point: units a point apart from identical peers are not suspicious


def declined(target: Target, before: Decimal, after: Decimal) -> bool:
    """Worse by more than the noise of reporting (half a point), in the target's direction."""
    drop = before - after if target.direction == Direction.HIGHER else after - before
    return drop > DECLINE_MIN


def robust_stats(sample: list[Decimal], minimum: int = 4) -> tuple[Decimal, Decimal] | None:
    """Median and median absolute deviation (at least MAD_FLOOR) of a sample; None when too small."""
    if len(sample) < minimum:
        return None
    median = statistics.median(sample)
    mad = statistics.median([abs(x - median) for x in sample])
    return median, max(mad, MAD_FLOOR)


def robust_z(value: Decimal, stats: tuple[Decimal, Decimal] | None) -> float | None:
    """Modified z-score (Iglewicz-Hoaglin): 0.6745 (x - median) / MAD."""
    if stats is None:
        return None
    median, mad = stats
    return float(Decimal("0.6745") * (value - median) / mad)


def project(points: list[tuple[int, Decimal]], at: int) -> Decimal | None:
    """Least-squares line through (period index, value), read at index `at`, to 4 decimals.

    In floating point: a projection is an estimate, and this runs for every result of a period.
    """
    count = len(points)
    if count < 2:
        return None
    xs = [x for x, _ in points]
    ys = [float(y) for _, y in points]
    mean_x, mean_y = sum(xs) / count, sum(ys) / count
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Decimal(f"{mean_y + slope * (at - mean_x):.4f}")


def path_prefixes(path: str) -> list[str]:
    """ "/40/429/17700/" -> ["/40/", "/40/429/", "/40/429/17700/"]: the unit and its ancestors."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def period_index(period: Period) -> int:
    return period.year * 4 + (period.quarter or 4) if period.kind == PeriodKind.QUARTER else period.year


def end_index(period: Period, year: int) -> int:
    """The index of the last period of the same kind in `year` (the horizon of projections)."""
    return year * 4 + 4 if period.kind == PeriodKind.QUARTER else year


# --- Loading -------------------------------------------------------------------------------------


def _quarters_in(period: Period) -> list[Period]:
    if period.kind == PeriodKind.QUARTER:
        return [period]
    last = {PeriodKind.HALF: 2, PeriodKind.NINE_MONTHS: 3, PeriodKind.YEAR: 4}[period.kind]
    return list(Period.objects.filter(kind=PeriodKind.QUARTER, year=period.year, quarter__lte=last).order_by("quarter"))


def _load_raw(period: Period, targets: dict[int, Target]) -> dict[tuple[int, int], Raw]:
    """Figures of the period by (unit, target): approved ones; sent-but-unapproved as provisional.

    A 6-month, 9-month or annual period adds up its quarters' counts (or takes the latest value).
    """
    quarters = _quarters_in(period)
    order = {q.pk: i for i, q in enumerate(quarters)}
    rows = (
        Figure.objects.filter(
            submission__period__in=quarters,
            submission__status__in=[SubmissionStatus.APPROVED, SubmissionStatus.SUBMITTED],
            target_id__in=targets,
        )
        .values_list(
            "submission__unit_id",
            "submission__period_id",
            "submission__status",
            "target_id",
            "numerator",
            "denominator",
            "value",
        )
        .order_by("submission__period__end")
    )
    raw: dict[tuple[int, int], Raw] = {}
    seen: dict[tuple[int, int], int] = defaultdict(int)
    for unit_id, period_id, status, target_id, numerator, denominator, value in rows:
        if period.kind != PeriodKind.QUARTER and status != SubmissionStatus.APPROVED:
            continue  # provisional figures are shown for a quarter only
        target = targets[target_id]
        item = raw.setdefault((unit_id, target_id), Raw())
        provisional = status != SubmissionStatus.APPROVED
        adds = target.aggregation == Aggregation.SUM and order.get(period_id, 0) > 0
        if target.measure in COUNT_MEASURES and numerator is not None and denominator is not None:
            if adds and item.numerator is not None:
                item.numerator += numerator
                item.denominator += denominator
            else:
                item.numerator, item.denominator = Decimal(numerator), Decimal(denominator)
        elif value is not None:
            item.value = (
                item.value + value if adds and target.measure == Measure.COUNT and item.value is not None else value
            )
        item.provisional = item.provisional or provisional
        seen[(unit_id, target_id)] += 1
    # A sum over quarters with a quarter missing is not the period's figure yet: provisional.
    for key, item in raw.items():
        if targets[key[1]].aggregation == Aggregation.SUM and seen[key] < len(quarters):
            item.provisional = True
    return raw


def _successors_map(period: Period, units: dict[int, Unit], links) -> dict[int, list[tuple[int, Decimal]]]:
    """For each unit created after the period: its predecessors in force then, with their shares.

    Merges add up (share 1 each); a split hands on its recorded weight; chains multiply.
    """
    backwards: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for predecessor_id, successor_id, weight in links:
        backwards[successor_id].append((predecessor_id, weight))
    day = period.end
    result = {}
    for unit in units.values():
        if unit.valid_from <= day:
            continue
        found: dict[int, Decimal] = defaultdict(Decimal)
        stack, seen = [(unit.pk, ONE)], set()
        while stack:
            node, share = stack.pop()
            for predecessor_id, weight in backwards.get(node, []):
                if (node, predecessor_id) in seen:
                    continue
                seen.add((node, predecessor_id))
                predecessor = units.get(predecessor_id)
                if predecessor is None:
                    continue
                if predecessor.is_current_on(day):
                    found[predecessor_id] += share * weight
                else:
                    stack.append((predecessor_id, share * weight))
        if found:
            result[unit.pk] = list(found.items())
    return result


def _combine(target: Target, parts: list[tuple[Raw, Decimal]]) -> Raw | None:
    """A successor's figure from its predecessors' (raw, share): counts add up by share."""
    given = len(parts)
    parts = [(raw, share) for raw, share in parts if raw is not None and not raw.empty() and not raw.provisional]
    if not parts:
        return None
    result = _combine_parts(target, parts)
    if result is not None and len(parts) < given:
        result.provisional = True  # some predecessors have no approved figure: not complete
    return result


def _combine_parts(target: Target, parts: list[tuple[Raw, Decimal]]) -> Raw | None:
    if target.measure in COUNT_MEASURES:
        complete = [(r, s) for r, s in parts if r.numerator is not None and r.denominator is not None]
        if not complete:
            return None
        return Raw(sum(r.numerator * s for r, s in complete), sum(r.denominator * s for r, s in complete))
    values = [(r.value, s) for r, s in parts if r.value is not None]
    if target.measure == Measure.COUNT:
        return Raw(value=sum(v * s for v, s in values))
    if target.measure == Measure.BOOLEAN:
        return Raw(value=min(v for v, _ in values))
    total = sum(s for _, s in values)
    return Raw(value=sum(v * s for v, s in values) / total) if total else None


# --- The computation -----------------------------------------------------------------------------


def period_recompute(period: Period) -> Summary:
    """Recompute every result of `period` and swap them in; returns what changed."""
    started, read_at = time.monotonic(), timezone.now()
    summary = Summary(period=period.key)
    as_of = period.locked_at or timezone.now()
    targets = {t.pk: t for t in Target.objects.in_force(period.year)}
    resolver = ThresholdResolver.load(as_of=as_of)
    units = {u.pk: u for u in Unit.objects.exclude(kind="province")}
    links = list(SuccessionLink.objects.values_list("predecessor_id", "successor_id", "weight"))
    raw = _load_raw(period, targets)
    history_periods = list(Period.objects.filter(kind=period.kind, end__lt=period.end).order_by("-end")[:HISTORY])[::-1]
    history: dict[tuple[int, int], list[tuple[int, Decimal]]] = defaultdict(list)
    for unit_id, target_id, period_id, value in Attainment.objects.filter(
        period__in=history_periods, value__isnull=False, provisional=False
    ).values_list("unit_id", "target_id", "period_id", "value"):
        history[(unit_id, target_id)].append((period_id, value))
    index = {p.pk: period_index(p) for p in history_periods}
    for series in history.values():
        series.sort(key=lambda item: index[item[0]])
    previous = history_periods[-1] if history_periods else None
    previous_ranks = dict(UnitScore.objects.filter(period=previous).values_list("unit_id", "rank") if previous else [])
    # Reporting reasons (missing, late, returned) belong to the quarters units report for.
    submissions = {
        s["unit_id"]: s
        for s in Submission.objects.filter(period=period).values("unit_id", "status", "is_late", "times_returned")
    }
    quarterly = period.kind == PeriodKind.QUARTER
    steering = defaultdict(set)
    for user_id, path in RoleAssignment.objects.filter(role=Role.STEERING).values_list("user_id", "unit__path"):
        steering[path].add(user_id)
    old_rows = Attainment.objects.filter(period=period).values_list("unit_id", "target_id", "status")
    old_status = {(u, t): s for u, t, s in old_rows}

    actual = [u for u in units.values() if u.is_current_on(period.end)]
    derived = _successors_map(period, units, links)
    here = period_index(period)
    margin = Decimal(str(settings.AT_RISK_MARGIN))

    # What depends only on (level, target): the targets a level reports, this year's threshold,
    # the horizon year of projections and its threshold.
    plan: dict[str, list[tuple[Target, int, Decimal | None, int, Decimal | None]]] = {}
    for level in Level.values:
        plan[level] = []
        for target in targets.values():
            if target.applies_to(level):
                horizon = target.last_year or period.year
                plan[level].append(
                    (
                        target,
                        target.pk,
                        resolver.resolve(target.pk, level, period.year),
                        end_index(period, horizon),
                        resolver.resolve(target.pk, level, horizon),
                    )
                )

    attainments: list[Result] = []
    by_unit: dict[int, list[Result]] = defaultdict(list)
    for unit, is_derived in [(u, False) for u in actual] + [(units[i], True) for i in derived]:
        unit_id = unit.pk
        for target, target_id, threshold, horizon_index, final in plan[unit.level]:
            if is_derived:
                item = _combine(target, [(raw.get((p, target_id)), share) for p, share in derived[unit_id]])
            else:
                item = raw.get((unit_id, target_id))
            value, met = judge(target, item, threshold)
            series = history.get((unit_id, target_id), [])
            last = series[-1][1] if series else None
            points = [(index[p], v) for p, v in series] + ([(here, value)] if value is not None else [])
            projection = project(points, horizon_index) if value is not None else None
            if projection is not None and target.measure in (Measure.RATIO, Measure.PERCENT):
                projection = min(HUNDRED, max(ZERO, projection))
            off_track = projection is not None and target.is_met(projection, final) is False
            if met is None:
                status = Status.NO_DATA
            elif not met:
                status = Status.BEHIND
            elif off_track or (target.measure != Measure.BOOLEAN and abs(value - threshold) < margin):
                status = Status.AT_RISK
            else:
                status = Status.MET
            gap = None
            if value is not None and threshold is not None:
                gap = value - threshold if target.direction == Direction.HIGHER else threshold - value
            row = Result(
                unit_id=unit_id,
                target_id=target_id,
                numerator=item.numerator if item else None,
                denominator=item.denominator if item else None,
                value=_q(value),
                threshold=threshold,
                met=met,
                gap=_q(gap),
                change=_q(value - last) if value is not None and last is not None else None,
                projection=_q(projection),
                status=status,
                provisional=bool(item and item.provisional),
                derived=is_derived,
                off_track=off_track,
                series=series,
            )
            attainments.append(row)
            if not is_derived:
                by_unit[unit_id].append(row)
    summary.attainments = len(attainments)
    summary.changed = sum(1 for a in attainments if old_status.get((a.unit_id, a.target_id)) != a.status)

    scores = _scores(period, units, by_unit, targets, previous_ranks)
    rollups = _rollups(period, units, by_unit, targets, resolver)
    flags = _laggards(period, units, by_unit, targets, submissions if quarterly else None, steering)

    PeriodComputation.objects.get_or_create(period=period)
    with transaction.atomic():
        # One swap at a time per period; a second run waits and then replaces the first's rows.
        computation = PeriodComputation.objects.select_for_update().get(period=period)
        _delete_results(period)
        _write(Attainment, period, RESULT_FIELDS, attainments)
        _write(Rollup, period, ROLLUP_FIELDS, rollups)
        _write(UnitScore, period, SCORE_FIELDS, scores)
        bulk_insert(
            LaggardFlag,
            ("period_id", "unit_id", "reasons", "severity"),
            [(period.pk, unit_id, json.dumps(reasons), len(reasons)) for unit_id, reasons, _ in flags],
        )
        flag_ids = dict(LaggardFlag.objects.filter(period=period).values_list("unit_id", "pk"))
        bulk_insert(
            LaggardFlag.responsible.through,
            ("laggardflag_id", "user_id"),
            [(flag_ids[unit_id], user_id) for unit_id, _, users in flags for user_id in sorted(users)],
        )
        summary.seconds = time.monotonic() - started
        # Figures approved while this run was reading stay pending: the period remains stale.
        outdated_meanwhile = computation.stale_since is not None and computation.stale_since > read_at
        computation.stale = outdated_meanwhile
        computation.stale_since = computation.stale_since if outdated_meanwhile else None
        computation.computed_at = timezone.now()
        computation.duration_ms = int(summary.seconds * 1000)
        computation.rows = len(attainments)
        computation.save()
    summary.scores, summary.rollups, summary.laggards = len(scores), len(rollups), len(flags)
    return summary


def _delete_results(period: Period) -> None:
    """The period's previous results, in one statement a table (the ORM would collect ids first)."""
    quote = connection.ops.quote_name
    through = LaggardFlag.responsible.through._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(through.db_table)} WHERE {quote(through.get_field('laggardflag').column)} IN "  # noqa: S608
            f"(SELECT id FROM {quote(LaggardFlag._meta.db_table)} WHERE period_id = %s)",
            [period.pk],
        )
        for model in (Attainment, Rollup, UnitScore, LaggardFlag):
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE period_id = %s", [period.pk])  # noqa: S608


def _write(model, period: Period, fields: tuple[str, ...], items: list) -> None:
    bulk_insert(model, ("period_id", *fields), [(period.pk, *(getattr(i, f) for f in fields)) for i in items])


def _q(value: Decimal | None) -> Decimal | None:
    return value.quantize(Decimal("0.0001")) if value is not None else None


def _scores(period, units, by_unit, targets, previous_ranks) -> list[UnitScore]:
    scores = []
    for unit_id, rows in by_unit.items():
        judged = [r for r in rows if r.threshold is not None]
        weight = sum((targets[r.target_id].weight for r in judged), ZERO)
        gained = sum(
            (
                targets[r.target_id].weight
                * earned(targets[r.target_id], None if r.provisional else r.value, r.threshold)
                for r in judged
            ),
            ZERO,
        )
        score = (HUNDRED * gained / weight).quantize(Decimal("0.01")) if weight else ZERO
        met = sum(1 for r in judged if r.met and not r.provisional)
        scores.append(
            UnitScore(
                period=period,
                unit_id=unit_id,
                level=units[unit_id].level,
                score=score,
                band=band_of(score),
                rank=0,
                rank_of=0,
                targets_met=met,
                targets_total=len(judged),
            )
        )
    by_level = defaultdict(list)
    for item in scores:
        by_level[item.level].append(item)
    for items in by_level.values():
        items.sort(key=lambda s: (-s.score, units[s.unit_id].path))
        for position, item in enumerate(items, start=1):
            # Competition ranking: equal scores share a rank (1, 2, 2, 4).
            item.rank = (
                items[position - 2].rank if position > 1 and items[position - 2].score == item.score else position
            )
            item.rank_of = len(items)
            before = previous_ranks.get(item.unit_id)
            item.movement = before - item.rank if before else None
    return scores


def _rollups(period, units, by_unit, targets, resolver) -> list[Rollup]:
    """Ratio of sums over each group of units, never an average of percents."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    districts = {u.path: u.code for u in units.values() if u.level == Level.DISTRICT}
    for unit_id in by_unit:
        unit = units[unit_id]
        groups[(ScopeKind.PROVINCE, "all")].append(unit_id)
        groups[(ScopeKind.LEVEL, unit.level)].append(unit_id)
        groups[(ScopeKind.KIND, unit.kind)].append(unit_id)
        for prefix in path_prefixes(unit.path):
            if prefix in districts:
                groups[(ScopeKind.DISTRICT, districts[prefix])].append(unit_id)
    rows_by = {(r.unit_id, r.target_id): r for rows in by_unit.values() for r in rows}
    rollups = []
    areas = defaultdict(list)
    for target in targets.values():
        areas[target.area_id].append(target.pk)
    for (scope, key), members in groups.items():
        for area_id, target_ids in areas.items():
            results = [rows_by[(u, t)] for u in members for t in target_ids if (u, t) in rows_by]
            judged = [r for r in results if r.met is not None and not r.provisional]
            met = sum(1 for r in judged if r.met)
            share = HUNDRED * met / len(judged) if judged else None
            rollups.append(
                Rollup(
                    period=period,
                    area_id=area_id,
                    scope=scope,
                    scope_key=key,
                    value=_q(share),
                    units_total=len(results),
                    units_reporting=len(judged),
                    units_met=met,
                )
            )
        level = {ScopeKind.PROVINCE: Level.PROVINCE, ScopeKind.LEVEL: key, ScopeKind.DISTRICT: Level.DISTRICT}.get(
            scope, KIND_LEVEL.get(key)
        )
        for target in targets.values():
            rows = [rows_by[(u, target.pk)] for u in members if (u, target.pk) in rows_by]
            if not rows:
                continue
            counted = [r for r in rows if r.value is not None and not r.provisional]
            numerator = denominator = value = None
            if target.measure in COUNT_MEASURES:
                numerator = sum((r.numerator for r in counted), ZERO)
                denominator = sum((r.denominator for r in counted), ZERO)
                value = target.value_of(numerator, denominator) if counted else None
            elif counted and target.measure == Measure.COUNT:
                value = sum(r.value for r in counted)
            elif counted and target.measure == Measure.BOOLEAN:
                value = HUNDRED * sum(r.value for r in counted) / len(counted)
            elif counted:
                value = sum(r.value for r in counted) / len(counted)
            if scope in (ScopeKind.PROVINCE, ScopeKind.DISTRICT):
                threshold = _mixed_threshold(target, counted)
            else:
                threshold = resolver.resolve(target.pk, level, period.year)
            if target.measure == Measure.BOOLEAN and threshold is not None:
                threshold = HUNDRED  # every unit must have done it
            rollups.append(
                Rollup(
                    period=period,
                    target=target,
                    scope=scope,
                    scope_key=key,
                    numerator=numerator if counted else None,
                    denominator=denominator if counted else None,
                    value=_q(value),
                    threshold=threshold,
                    met=target.is_met(value, threshold),
                    units_total=len(rows),
                    units_reporting=len(counted),
                    units_met=sum(1 for r in counted if r.met),
                )
            )
    return rollups


def _mixed_threshold(target: Target, rows: list) -> Decimal | None:
    """The line for a group mixing levels (90% departments, 80% districts, 60% communes): each
    unit's own threshold weighted by its denominator, so the group is met when its units are."""
    judged = [r for r in rows if r.threshold is not None]
    if not judged:
        return None
    if target.measure in COUNT_MEASURES:
        weight = sum((r.denominator for r in judged), ZERO)
        if weight:
            return (sum((r.denominator * r.threshold for r in judged), ZERO) / weight).quantize(Decimal("0.01"))
    return (sum((r.threshold for r in judged), ZERO) / len(judged)).quantize(Decimal("0.01"))


def _laggards(period, units, by_unit, targets, submissions, steering) -> list[tuple[int, list[dict], set[int]]]:
    """Units lagging in the period, each with its reasons and the steering members responsible."""
    peers: dict[tuple[str, int], list[Decimal]] = defaultdict(list)
    for rows in by_unit.values():
        for r in rows:
            if r.value is not None and not r.provisional:
                peers[(units[r.unit_id].level, r.target_id)].append(r.value)
    peer_stats = {key: robust_stats(sample) for key, sample in peers.items()}
    flags = []
    for unit_id, rows in by_unit.items():
        unit = units[unit_id]
        reasons = []
        missed = sorted(targets[r.target_id].code for r in rows if r.met is False and not r.provisional)
        if len(missed) >= settings.LAGGARD_MIN_MISSED:
            reasons.append({"code": "missed", "targets": missed, "count": len(missed)})
        if submissions is not None:
            submission = submissions.get(unit_id)
            if submission is None or submission["status"] in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED):
                reasons.append({"code": "missing"})
            elif submission["is_late"]:
                reasons.append({"code": "late"})
            if submission and submission["times_returned"] >= 2:
                reasons.append({"code": "returned", "count": submission["times_returned"]})
        declining, off_track, odd = [], [], []
        for r in rows:
            target = targets[r.target_id]
            if r.value is None or r.provisional:
                continue
            values = [v for _p, v in r.series][-2:] + [r.value]
            if len(values) == 3 and declined(target, *values[:2]) and declined(target, *values[1:]):
                declining.append(target.code)
            if r.off_track:
                off_track.append(target.code)
            own = robust_z(r.value, robust_stats([v for _p, v in r.series]))
            peer = robust_z(r.value, peer_stats.get((unit.level, r.target_id)))
            limit = settings.OUTLIER_Z
            if (own is not None and abs(own) > limit) or (peer is not None and abs(peer) > limit):
                odd.append(target.code)
        if declining:
            reasons.append({"code": "declining", "targets": sorted(declining), "count": len(declining)})
        # Off track on one target is a warning on the page; on several it makes a laggard.
        if len(off_track) >= settings.LAGGARD_MIN_MISSED:
            reasons.append({"code": "off_track", "targets": sorted(off_track), "count": len(off_track)})
        if odd:
            reasons.append({"code": "data_quality", "targets": sorted(odd), "count": len(odd)})
        if not reasons:
            continue
        responsible = set().union(*(steering.get(prefix, set()) for prefix in path_prefixes(unit.path)))
        flags.append((unit_id, reasons, responsible))
    return flags


# --- Staleness -----------------------------------------------------------------------------------


def periods_mark_stale(period: Period) -> list[int]:
    """Mark `period` and every later period that reads it (same kind, or a sum of its quarters)."""
    later = Q(kind=period.kind, end__gte=period.end) | Q(year=period.year, end__gte=period.end)
    return mark_stale(Period.objects.filter(later))


def mark_stale(periods) -> list[int]:
    ids = list(periods.values_list("pk", flat=True))
    now = timezone.now()
    existing = set(PeriodComputation.objects.filter(period_id__in=ids).values_list("period_id", flat=True))
    # Always move stale_since: a run that started before this change must not mark the period fresh.
    PeriodComputation.objects.filter(period_id__in=ids).update(stale=True, stale_since=now)
    PeriodComputation.objects.bulk_create(
        [PeriodComputation(period_id=i, stale=True, stale_since=now) for i in ids if i not in existing],
        ignore_conflicts=True,
    )
    return ids


def stale_periods() -> list[Period]:
    """Periods whose results are out of date, oldest first (later ones read earlier ones)."""
    fresh = PeriodComputation.objects.filter(stale=False).values("period_id")
    with_data = Submission.objects.values("period_id")
    return list(
        Period.objects.filter(Q(computation__stale=True) | (~Q(pk__in=fresh) & Q(pk__in=with_data)))
        .distinct()
        .order_by("end", "kind")
    )
