"""Roll-ups: each target over each group of units as a ratio of sums, and each reform area as the
share of the group's results that are met.

A roll-up row is made from a `Tally` of its group's results: counts and sums only, so a unit's
result can be taken out of a tally and its new one put in without reading the rest of the group.
The whole-period run adds every result up; the per-unit run (`attainment.increment`) starts from
the stored rows' tallies. Both turn a tally into a row by the same `target_row` and `area_row`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from itertools import product

from targets.models import Measure, Target
from units.models import KIND_LEVEL, Level, Unit

from .models import ScopeKind
from .records import Group, Inputs, Result
from .rules import COUNT_MEASURES, HUNDRED, ZERO, quantized, robust_stats

CENT = Decimal("0.01")


@dataclass(slots=True)
class Tally:
    """What a roll-up row is computed from. On a target: the group's results (`rows`), those with
    an approved value (`counted`) and their sums; on a reform area: the results, those judged
    (met or not, approved) and those met."""

    rows: int = 0
    counted: int = 0
    met: int = 0
    numerator: Decimal = ZERO
    denominator: Decimal = ZERO
    value_sum: Decimal = ZERO
    thresholds: int = 0  # counted results with a threshold: the group's mixed line is made of them
    threshold_sum: Decimal = ZERO
    threshold_weighted: Decimal = ZERO  # sum of denominator x threshold
    threshold_weight: Decimal = ZERO  # sum of the denominators

    def add_target(self, r: Result, sign: int = 1) -> None:
        self.rows += sign
        if r.value is None or r.provisional:
            return
        self.counted += sign
        self.met += sign if r.met else 0
        self.numerator += sign * (r.numerator or ZERO)
        self.denominator += sign * (r.denominator or ZERO)
        self.value_sum += sign * r.value
        if r.threshold is not None:
            self.thresholds += sign
            self.threshold_sum += sign * r.threshold
            self.threshold_weighted += sign * (r.denominator or ZERO) * r.threshold
            self.threshold_weight += sign * (r.denominator or ZERO)

    def add_area(self, r: Result, sign: int = 1) -> None:
        self.rows += sign
        if r.met is None or r.provisional:
            return
        self.counted += sign
        self.met += sign if r.met else 0


def districts_of(units) -> dict[str, str]:
    """District paths to codes: the district groups."""
    return {u.path: u.code for u in units if u.level == Level.DISTRICT}


def groups_of(unit: Unit, districts: dict[str, str]) -> list[tuple[str, str]]:
    """The groups a unit's results roll up into: the province, its level, its kind, and the
    district it is (or lies in)."""
    groups = [(ScopeKind.PROVINCE, "all"), (ScopeKind.LEVEL, unit.level), (ScopeKind.KIND, unit.kind)]
    groups += [(ScopeKind.DISTRICT, districts[path]) for path in unit.ancestor_paths() if path in districts]
    return groups


def _group_level(scope: str, key: str) -> str | None:
    return {ScopeKind.PROVINCE: Level.PROVINCE, ScopeKind.LEVEL: key, ScopeKind.DISTRICT: Level.DISTRICT}.get(
        scope, KIND_LEVEL.get(key)
    )


def tallies(inputs: Inputs, by_unit: dict[int, list[Result]]):
    """Each group's tallies, per target and per reform area: (targets, areas), keyed by
    (scope, scope_key, target or area id)."""
    districts = districts_of(inputs.units.values())
    area_of = {t.pk: t.area_id for t in inputs.targets.values()}
    by_target: dict[tuple, Tally] = defaultdict(Tally)
    by_area: dict[tuple, Tally] = defaultdict(Tally)
    groups: set[tuple[str, str]] = set()
    for unit_id, rows in by_unit.items():
        for scope, key in groups_of(inputs.units[unit_id], districts):
            groups.add((scope, key))
            for r in rows:
                by_target[(scope, key, r.target_id)].add_target(r)
                by_area[(scope, key, area_of[r.target_id])].add_area(r)
    for (scope, key), area_id in product(groups, set(area_of.values())):
        by_area[(scope, key, area_id)]  # every group has a row per area, results or not
    return by_target, by_area


def peer_stats(by_unit: dict[int, list[Result]], units: dict[int, Unit]) -> dict[tuple[str, int], tuple | None]:
    """Median and spread of the approved values of each (level, target): what a unit's figure is
    held against to see whether it is far from its peers'."""
    samples: dict[tuple[str, int], list[Decimal]] = defaultdict(list)
    for rows in by_unit.values():
        for r in rows:
            if r.value is not None and not r.provisional:
                samples[(units[r.unit_id].level, r.target_id)].append(r.value)
    return {key: robust_stats(sample) for key, sample in samples.items()}


def roll_up(inputs: Inputs, by_unit: dict[int, list[Result]], stats: dict) -> list[Group]:
    """Ratio of sums over each group of units, never an average of percents; and per reform area,
    the share of the group's results that are met. A level's rows carry its peers' statistics."""
    by_target, by_area = tallies(inputs, by_unit)
    rows = [area_row(scope, key, area_id, tally) for (scope, key, area_id), tally in by_area.items()]
    for (scope, key, target_id), tally in by_target.items():
        rows.append(target_row(inputs, inputs.targets[target_id], scope, key, tally, stats))
    return rows


def area_row(scope: str, key: str, area_id: int, tally: Tally) -> Group:
    share = HUNDRED * tally.met / tally.counted if tally.counted else None
    return Group(
        scope, key, area_id=area_id, value=quantized(share), units_total=tally.rows, units_reporting=tally.counted,
        units_met=tally.met,
    )  # fmt: skip


def target_row(inputs: Inputs, target: Target, scope: str, key: str, tally: Tally, stats: dict) -> Group:
    numerator = denominator = value = None
    if tally.counted and target.measure in COUNT_MEASURES:
        numerator, denominator = tally.numerator, tally.denominator
        value = target.value_of(numerator, denominator)
    elif tally.counted and target.measure == Measure.COUNT:
        value = tally.value_sum
    elif tally.counted and target.measure == Measure.BOOLEAN:
        value = HUNDRED * tally.value_sum / tally.counted
    elif tally.counted:
        value = tally.value_sum / tally.counted
    if scope in (ScopeKind.PROVINCE, ScopeKind.DISTRICT):
        threshold = mixed_threshold(target, tally)
    else:
        threshold = inputs.resolver.resolve(target.pk, _group_level(scope, key), inputs.period.year)
    if target.measure == Measure.BOOLEAN and threshold is not None:
        threshold = HUNDRED  # every unit must have done it
    peers = stats.get((key, target.pk)) if scope == ScopeKind.LEVEL else None
    return Group(
        scope,
        key,
        target_id=target.pk,
        numerator=numerator,
        denominator=denominator,
        value=quantized(value),
        threshold=threshold,
        met=target.is_met(value, threshold),
        units_total=tally.rows,
        units_reporting=tally.counted,
        units_met=tally.met,
        value_sum=tally.value_sum,
        thresholds=tally.thresholds,
        threshold_sum=tally.threshold_sum,
        threshold_weighted=tally.threshold_weighted,
        threshold_weight=tally.threshold_weight,
        peer_median=peers[0] if peers else None,
        peer_spread=peers[1] if peers else None,
    )


def mixed_threshold(target: Target, tally: Tally) -> Decimal | None:
    """The line for a group mixing levels (90% departments, 80% districts, 60% communes): each
    unit's own threshold weighted by its denominator, so the group is met when its units are."""
    if not tally.thresholds:
        return None
    if target.measure in COUNT_MEASURES and tally.threshold_weight:
        return (tally.threshold_weighted / tally.threshold_weight).quantize(CENT)
    return (tally.threshold_sum / tally.thresholds).quantize(CENT)


def stored_tally(row) -> Tally:
    """A stored roll-up row's tally (a `Rollup` or the same fields)."""
    return Tally(
        rows=row.units_total,
        counted=row.units_reporting,
        met=row.units_met,
        numerator=row.numerator or ZERO,
        denominator=row.denominator or ZERO,
        value_sum=row.value_sum or ZERO,
        thresholds=row.thresholds,
        threshold_sum=row.threshold_sum or ZERO,
        threshold_weighted=row.threshold_weighted or ZERO,
        threshold_weight=row.threshold_weight or ZERO,
    )
