"""The typed records the engine's steps pass to each other."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reports.models import Period, PeriodKind
from targets.models import Programme, Target
from targets.selectors import ThresholdResolver
from units.models import Unit

from .rules import Raw


@dataclass(frozen=True, slots=True)
class Plan:
    """What depends only on (level, target): this year's threshold and the projection's horizon,
    the end of the target's own programme (or its last year), with the threshold in force then."""

    target: Target
    threshold: Decimal | None
    horizon_index: int
    horizon_threshold: Decimal | None
    horizon_year: int


@dataclass(slots=True)
class Result:
    """One unit's result on one target (written to `Attainment` as a plain row)."""

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
    history: list[Decimal]  # the unit's earlier values on the target, oldest first


@dataclass(slots=True)
class Score:
    unit_id: int
    level: str
    score: Decimal
    band: str
    targets_met: int
    targets_total: int


@dataclass(slots=True)
class Group:
    """A roll-up row: one target, or one reform area, over a group of units."""

    scope: str
    scope_key: str
    target_id: int | None = None
    area_id: int | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    threshold: Decimal | None = None
    met: bool | None = None
    units_total: int = 0
    units_reporting: int = 0
    units_met: int = 0
    # The sums the row is made of (`rollups.Tally`), and on a level's rows its peers' statistics.
    value_sum: Decimal | None = None
    thresholds: int = 0
    threshold_sum: Decimal | None = None
    threshold_weighted: Decimal | None = None
    threshold_weight: Decimal | None = None
    peer_median: Decimal | None = None
    peer_spread: Decimal | None = None


@dataclass(slots=True)
class Flag:
    unit_id: int
    reasons: list[dict]  # heaviest first
    responsible: set[int]
    tier: str
    severity: int


@dataclass
class Inputs:
    """Everything a period's computation reads, loaded once."""

    period: Period
    targets: dict[int, Target]
    resolver: ThresholdResolver
    units: dict[int, Unit]
    raw: dict[tuple[int, int], Raw]
    carried: dict[int, list[tuple[int, Decimal]]]  # successor -> (predecessor in force, share)
    # Earlier (period index, value), oldest first, by (unit, target): the unit's results on the
    # target and on the targets it continues from earlier programmes.
    history: dict[tuple[int, int], list[tuple[int, Decimal]]]
    submissions: dict[int, dict] | None  # reporting reasons belong to quarters only
    steering: dict[str, set[int]]  # unit path -> steering members responsible for it
    old_status: dict[tuple[int, int], str]
    plans: dict[str, list[Plan]]  # by level: the targets it reports
    programme: Programme | None  # the programme of the period's year: how units are scored

    @property
    def here(self) -> int:
        return period_index(self.period)


@dataclass
class Summary:
    period: str
    attainments: int = 0
    changed: int = 0
    scores: int = 0
    laggards: int = 0
    rollups: int = 0
    written: int = 0  # rows inserted, updated or deleted: none when nothing changed
    seconds: float = 0.0
    units: set[int] | None = None  # the units recomputed; None when the whole period was


def period_index(period: Period) -> int:
    return period.year * 4 + (period.quarter or 4) if period.kind == PeriodKind.QUARTER else period.year


def end_index(period: Period, year: int) -> int:
    """The index of the last period of the same kind in `year` (the horizon of projections)."""
    return year * 4 + 4 if period.kind == PeriodKind.QUARTER else year
