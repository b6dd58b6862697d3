"""A unit's series over the quarters, read for trends and comparisons.

Two things make a series longer than the unit's own official results:

- a target continued from one programme to the next (2021-2025 -> 2026-2030) keeps one series:
  the points of the targets it continues come first;
- a unit that continues and absorbs others (Sở Tài chính taking Sở Kế hoạch và Đầu tư on
  1/3/2025) is compared with itself: in the periods before an absorption its counts are added to
  those of the units it absorbed (by their share), so that 2024 and 2026 measure the same desk.
  Such points are marked as combined and keep the official value beside them: the official
  results of those periods stay as they were computed.

Units created by a reorganisation need nothing here: the engine already gives them results made
of their predecessors' figures for the periods before they existed (`Attainment.derived`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from reports.models import Period, PeriodKind
from targets.models import Target
from units.models import SuccessionLink, Unit

from .engine import _combine
from .models import Attainment, Status
from .rules import Raw, judge, quantized, status_of

# A reorganisation chain is short (commune -> commune -> ward); the walk stops here in bad data.
MAX_DEPTH = 6


@dataclass(frozen=True)
class Absorbed:
    """A unit whose counts are added to another's for periods ending before `until`."""

    unit: Unit
    share: Decimal
    until: dt.date  # the first day it no longer reported on its own: the absorption's date


@dataclass
class Point:
    period: Period
    target: Target  # the target reported on: an earlier programme's for a continued target
    value: Decimal | None
    threshold: Decimal | None
    status: str
    derived: bool
    official: Decimal | None  # the value as officially computed for the unit
    projection: Decimal | None = None
    combined_with: list[Unit] = field(default_factory=list)  # units whose counts were added
    incomplete: bool = False  # some absorbed unit had no approved figure that period

    @property
    def combined(self) -> bool:
        return bool(self.combined_with)

    def get_status_display(self) -> str:
        return Status(self.status).label


def absorbed_by(unit: Unit) -> list[Absorbed]:
    """The units `unit` took over while it carried on (it existed before the event), and those
    they had taken over in turn, each with the share it hands on and the date from which its
    counts are already in the absorbing unit's own. One query per level of the chain."""
    found: list[Absorbed] = []
    frontier = [(unit, Decimal(1), dt.date.max)]
    seen = {unit.pk}
    for _depth in range(MAX_DEPTH):
        if not frontier:
            break
        by_id = {node.pk: (node, share, until) for node, share, until in frontier}
        links = SuccessionLink.objects.filter(successor_id__in=by_id).select_related("event", "predecessor")
        frontier = []
        for link in links:
            node, share, until = by_id[link.successor_id]
            day = link.event.effective_date
            if node.valid_from >= day or link.predecessor_id in seen:
                continue  # the successor was created by this event: the engine derives it already
            seen.add(link.predecessor_id)
            item = Absorbed(link.predecessor, share * link.weight, min(until, day))
            found.append(item)
            frontier.append((item.unit, item.share, item.until))
    return sorted(found, key=lambda a: (a.until, a.unit.path))


def unit_series(unit: Unit, lineages: dict[int, list[int]]) -> dict[int, list[Point]]:
    """Per target (key of `lineages`: target id -> the ids of the targets its series is made
    of, oldest first, itself last), the unit's quarterly points, oldest first."""
    absorbed = absorbed_by(unit)
    members = {member: key for key, chain in lineages.items() for member in chain}
    unit_ids = [unit.pk] + [a.unit.pk for a in absorbed]
    rows = (
        Attainment.objects.filter(unit_id__in=unit_ids, target_id__in=members, period__kind=PeriodKind.QUARTER)
        .select_related("period", "target")
        .order_by("period__end")
    )
    own: dict[tuple[int, int], Attainment] = {}
    others: dict[tuple[int, int], dict[int, Attainment]] = defaultdict(dict)
    periods: dict[int, Period] = {}
    for row in rows:
        periods[row.period_id] = row.period
        if row.unit_id == unit.pk:
            own[(row.period_id, row.target_id)] = row
        else:
            others[(row.period_id, row.target_id)][row.unit_id] = row
    series: dict[int, list[Point]] = defaultdict(list)
    for period in sorted(periods.values(), key=lambda p: p.end):
        for target_id, key in members.items():
            point = _point(period, own.get((period.pk, target_id)), others.get((period.pk, target_id), {}), absorbed)
            if point is not None:
                series[key].append(point)
    return dict(series)


def _point(period: Period, row: Attainment | None, others: dict[int, Attainment], absorbed: Iterable[Absorbed]):
    parts = [a for a in absorbed if period.end < a.until]
    if row is None and not any(a.unit.pk in others for a in parts):
        return None
    reference = row or next(others[a.unit.pk] for a in parts if a.unit.pk in others)
    target = reference.target
    if not parts:
        return Point(period, target, row.value, row.threshold, row.status, row.derived, row.value, row.projection)
    combined = _combine(
        target,
        [(_raw(row), Decimal(1))] + [(_raw(others.get(a.unit.pk)), a.share) for a in parts],
    )
    value, met = judge(target, combined, reference.threshold)
    return Point(
        period,
        target,
        quantized(value),
        reference.threshold,
        status_of(target, value, reference.threshold, met),  # of the combined value shown
        reference.derived,
        row.value if row else None,
        row.projection if row else None,
        combined_with=[a.unit for a in parts],
        incomplete=combined is None or combined.provisional,
    )


def _raw(row: Attainment | None) -> Raw | None:
    """An official result as the raw figure it was made of (only approved figures count)."""
    if row is None or row.value is None:
        return None
    return Raw(row.numerator, row.denominator, row.value, provisional=row.provisional)
