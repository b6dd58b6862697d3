"""The per-unit run: after approvals, returns or reopens, recompute only what they change.

A review decision changes one unit's figures. In its period (and in each period that reads it)
that changes:
- the unit's results, and those of the units it became (a successor's figure is made of its
  predecessors'): `affected`, closed under succession;
- the roll-ups of the groups the unit belongs to: each stored roll-up row keeps the sums it is made
  of (`rollups.Tally`), so the unit's old result is taken out and its new one put in;
- the ranks of its level: its score is stored and the level's stored scores ranked again, in the
  database (`store.rank`);
- its laggard flag; and, when its value moves the median or spread of its level's values on a
  target, the flags of the peers whose figure crosses the outlier line with it: those peers are
  recomputed as well.

Everything else in the period stays as it is. The result is exactly the rows a whole-period run
gives (`attainment/tests/test_increment.py` holds this after any sequence of decisions); the
whole-period run stays the path after catalogue or unit changes, for a period never computed,
and nightly.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from reports.models import Period
from units.models import Level, SuccessionLink, Unit, kinds_of_level

from .engine import (
    combine_predecessors,
    date_off_track,
    judge_all,
    load,
    own_results,
    pending_changes,
    score_units,
)
from .laggards import flag_laggards
from .models import Attainment, Rollup, ScopeKind
from .records import Inputs, Result, Summary
from .rollups import Tally, area_row, groups_of, stored_tally, target_row
from .rules import MAD_SCALE, is_outlier, robust_stats
from .store import Rows, write


class Stored(NamedTuple):
    """A stored result, as much of it as a tally takes out."""

    unit_id: int
    target_id: int
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    threshold: Decimal | None
    met: bool | None
    provisional: bool
    derived: bool


def units_recompute(period: Period, unit_ids=()) -> Summary:
    """Recompute what the pending changes of units in `period` (or in a period it reads), and
    those of `unit_ids`, change; store the rows that changed and clear the pending changes."""
    started, read_at = time.monotonic(), timezone.now()
    pending, pending_units = pending_changes(period)
    links = list(SuccessionLink.objects.values_list("predecessor_id", "successor_id", "weight"))
    affected = related(pending_units | set(unit_ids), links)
    inputs = load(period, affected)
    results = judge_all(inputs, combine_predecessors(inputs))
    old = _stored(period, affected)
    stats, crossing = _peers(period, inputs, own_results(results), old, affected)
    if crossing:  # peers whose outlier verdict changed: their flags are recomputed too
        affected |= related(crossing, links)
        inputs = load(period, affected)
        results = judge_all(inputs, combine_predecessors(inputs))
        old |= _stored(period, affected - set(old_units(old)))
    own = own_results(results)
    levels = {unit.level for unit in inputs.units.values()}
    groups, rollups = _rolled_up(period, inputs, own, old, stats)
    flags = date_off_track(flag_laggards(inputs, own, stats), inputs)
    rows = Rows(results, rollups, score_units(inputs, own), flags, units=affected, groups=groups, levels=levels)
    return write(period, read_at, started, rows, inputs.old_status, pending)


def related(unit_ids: set[int], links) -> set[int]:
    """The units and every unit linked to them by succession, both ways and transitively: a
    successor's figures are made of its predecessors', so they are recomputed together."""
    neighbours: dict[int, set[int]] = defaultdict(set)
    for predecessor_id, successor_id, _weight in links:
        neighbours[predecessor_id].add(successor_id)
        neighbours[successor_id].add(predecessor_id)
    found, stack = set(unit_ids), list(unit_ids)
    while stack:
        for other in neighbours.get(stack.pop(), ()):
            if other not in found:
                found.add(other)
                stack.append(other)
    return found


def _stored(period: Period, unit_ids: set[int]) -> dict[tuple[int, int], Stored]:
    rows = Attainment.objects.filter(period=period, unit_id__in=unit_ids).values_list(*Stored._fields)
    return {(row[0], row[1]): Stored(*row) for row in rows}


def old_units(old: dict[tuple[int, int], Stored]) -> set[int]:
    return {unit_id for unit_id, _target_id in old}


def _sample_value(r) -> Decimal | None:
    """What a result adds to its level's sample of values: its approved value."""
    return r.value if r.value is not None and not r.provisional and not r.derived else None


def _peers(period: Period, inputs: Inputs, own: dict[int, list[Result]], old: dict, affected: set[int]):
    """The peers' statistics of each (level, target), from the level's stored roll-ups, made anew
    where the affected units' values change the sample; and the other units whose figure is an
    outlier against the old statistics and not the new, or the other way round."""
    stats: dict[tuple[str, int], tuple | None] = {}
    rows = Rollup.objects.filter(period=period, scope=ScopeKind.LEVEL, target__isnull=False)
    for level, target_id, median, spread in rows.values_list("scope_key", "target_id", "peer_median", "peer_spread"):
        stats[(level, target_id)] = (median, spread) if median is not None else None
    new = {(r.unit_id, r.target_id): _sample_value(r) for rows_ in own.values() for r in rows_}
    moved: dict[str, set[int]] = defaultdict(set)
    for key in new.keys() | {k for k, stored in old.items() if not stored.derived}:
        before = _sample_value(old[key]) if key in old else None
        if new.get(key) != before:
            moved[inputs.units[key[0]].level].add(key[1])
    crossing: set[int] = set()
    for level, target_ids in moved.items():
        samples: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        others = Attainment.objects.filter(
            period=period,
            target_id__in=target_ids,
            unit__kind__in=kinds_of_level(level),
            derived=False,
            provisional=False,
            value__isnull=False,
        ).exclude(unit_id__in=affected)
        for unit_id, target_id, value in others.values_list("unit_id", "target_id", "value"):
            samples[target_id].append((unit_id, value))
        for target_id in target_ids:
            mine = [
                v for (u, t), v in new.items() if t == target_id and v is not None and inputs.units[u].level == level
            ]
            after = robust_stats([v for _u, v in samples[target_id]] + mine)
            before = stats.get((level, target_id))
            stats[(level, target_id)] = after
            if after != before:
                crossing |= _crossing(samples[target_id], before, after)
    return stats, crossing


def _line(stats) -> tuple[float, float, float]:
    """The outlier line of `stats` as (median, reach within which a value is surely not an
    outlier, reach beyond which it surely is), in floating point; no statistics, no line."""
    if stats is None:
        return 0.0, math.inf, math.inf
    median, spread = stats
    reach = settings.OUTLIER_Z * float(spread) / float(MAD_SCALE)
    return float(median), reach * (1 - 1e-9), reach * (1 + 1e-9)


def _crossing(sample: list[tuple[int, Decimal]], before, after) -> set[int]:
    """The units whose value is an outlier against one statistics and not the other. Decided by
    the rule itself (`is_outlier`), asked only for the values not surely on the same side of both
    lines: those between the two, or close to one."""
    (mb, inside_b, beyond_b), (ma, inside_a, beyond_a) = _line(before), _line(after)
    near = []
    for unit_id, value in sample:
        x = float(value)
        db, da = abs(x - mb), abs(x - ma)
        if (db < inside_b and da < inside_a) or (db > beyond_b and da > beyond_a):
            continue
        near.append((unit_id, value))
    return {u for u, v in near if is_outlier(v, before) != is_outlier(v, after)}


def _rolled_up(period: Period, inputs: Inputs, own: dict[int, list[Result]], old: dict, stats: dict):
    """The roll-ups of the groups the affected units belong to: each stored row's tally, less the
    units' old results, plus their new ones."""
    districts = dict(Unit.objects.at_level(Level.DISTRICT).values_list("path", "code"))
    groups_by_unit = {unit_id: groups_of(unit, districts) for unit_id, unit in inputs.units.items()}
    groups = {group for unit_groups in groups_by_unit.values() for group in unit_groups}
    where = Q(pk__in=[])
    for scope, key in groups:
        where |= Q(scope=scope, scope_key=key)
    by_target: dict[tuple, Tally] = defaultdict(Tally)
    by_area: dict[tuple, Tally] = defaultdict(Tally)
    for row in Rollup.objects.filter(where, period=period):
        if row.target_id is not None:
            by_target[(row.scope, row.scope_key, row.target_id)] = stored_tally(row)
        else:
            by_area[(row.scope, row.scope_key, row.area_id)] = stored_tally(row)
    area_of = {t.pk: t.area_id for t in inputs.targets.values()}
    changes = [(r, -1) for r in old.values() if not r.derived and r.unit_id in groups_by_unit]
    changes += [(r, 1) for rows in own.values() for r in rows]
    for r, sign in changes:
        if r.target_id not in area_of:
            continue  # a target no longer in force: its rows go with the whole-period run
        for scope, key in groups_by_unit[r.unit_id]:
            by_target[(scope, key, r.target_id)].add_target(r, sign)
            by_area[(scope, key, area_of[r.target_id])].add_area(r, sign)
    rollups = [area_row(scope, key, area_id, tally) for (scope, key, area_id), tally in by_area.items()]
    for (scope, key, target_id), tally in by_target.items():
        if tally.rows:
            rollups.append(target_row(inputs, inputs.targets[target_id], scope, key, tally, stats))
    return groups, rollups
