"""Roll-ups: each target over each group of units as a ratio of sums, and each reform area as the
share of the group's results that are met."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from targets.models import Measure, Target
from units.models import KIND_LEVEL, Level

from .models import ScopeKind
from .records import Group, Inputs, Result
from .rules import COUNT_MEASURES, HUNDRED, ZERO, quantized


def _groups(inputs: Inputs, unit_ids) -> dict[tuple[str, str], list[int]]:
    """The groups roll-ups are made for: the province, each level, each kind, each district."""
    units = inputs.units
    districts = {u.path: u.code for u in units.values() if u.level == Level.DISTRICT}
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for unit_id in unit_ids:
        unit = units[unit_id]
        groups[(ScopeKind.PROVINCE, "all")].append(unit_id)
        groups[(ScopeKind.LEVEL, unit.level)].append(unit_id)
        groups[(ScopeKind.KIND, unit.kind)].append(unit_id)
        for path in unit.ancestor_paths():
            if path in districts:
                groups[(ScopeKind.DISTRICT, districts[path])].append(unit_id)
    return groups


def _group_level(scope: str, key: str) -> str | None:
    return {ScopeKind.PROVINCE: Level.PROVINCE, ScopeKind.LEVEL: key, ScopeKind.DISTRICT: Level.DISTRICT}.get(
        scope, KIND_LEVEL.get(key)
    )


def roll_up(inputs: Inputs, by_unit: dict[int, list[Result]]) -> list[Group]:
    """Ratio of sums over each group of units, never an average of percents; and per reform area,
    the share of the group's results that are met."""
    rows_by = {(r.unit_id, r.target_id): r for rows in by_unit.values() for r in rows}
    areas: dict[int, list[int]] = defaultdict(list)
    for target in inputs.targets.values():
        areas[target.area_id].append(target.pk)
    rollups = []
    for (scope, key), members in _groups(inputs, by_unit).items():
        for area_id, target_ids in areas.items():
            results = [rows_by[(u, t)] for u in members for t in target_ids if (u, t) in rows_by]
            judged = [r for r in results if r.met is not None and not r.provisional]
            met = sum(1 for r in judged if r.met)
            share = HUNDRED * met / len(judged) if judged else None
            rollups.append(
                Group(scope, key, area_id=area_id, value=quantized(share), units_total=len(results),
                      units_reporting=len(judged), units_met=met)
            )  # fmt: skip
        for target in inputs.targets.values():
            rows = [rows_by[(u, target.pk)] for u in members if (u, target.pk) in rows_by]
            if rows:
                rollups.append(_roll_up_target(inputs, target, scope, key, rows))
    return rollups


def _roll_up_target(inputs: Inputs, target: Target, scope: str, key: str, rows: list[Result]) -> Group:
    counted = [r for r in rows if r.value is not None and not r.provisional]
    numerator = denominator = value = None
    if target.measure in COUNT_MEASURES and counted:
        numerator = sum((r.numerator for r in counted), ZERO)
        denominator = sum((r.denominator for r in counted), ZERO)
        value = target.value_of(numerator, denominator)
    elif counted and target.measure == Measure.COUNT:
        value = sum(r.value for r in counted)
    elif counted and target.measure == Measure.BOOLEAN:
        value = HUNDRED * sum(r.value for r in counted) / len(counted)
    elif counted:
        value = sum(r.value for r in counted) / len(counted)
    if scope in (ScopeKind.PROVINCE, ScopeKind.DISTRICT):
        threshold = mixed_threshold(target, counted)
    else:
        threshold = inputs.resolver.resolve(target.pk, _group_level(scope, key), inputs.period.year)
    if target.measure == Measure.BOOLEAN and threshold is not None:
        threshold = HUNDRED  # every unit must have done it
    return Group(
        scope,
        key,
        target_id=target.pk,
        numerator=numerator,
        denominator=denominator,
        value=quantized(value),
        threshold=threshold,
        met=target.is_met(value, threshold),
        units_total=len(rows),
        units_reporting=len(counted),
        units_met=sum(1 for r in counted if r.met),
    )


def mixed_threshold(target: Target, rows: list[Result]) -> Decimal | None:
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
