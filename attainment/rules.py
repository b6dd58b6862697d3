"""The judgement rules of attainment, each written once: the engine and the pages call them.

Pure functions over values already loaded; no database access here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from targets.models import Direction, Measure, ScoringMethod, Target

from .models import Band, Status

ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
COUNT_MEASURES = (Measure.RATIO, Measure.REDUCTION)
RATE_MEASURES = (Measure.RATIO, Measure.PERCENT, Measure.REDUCTION)  # in percent: 100 at most
FOUR_PLACES = Decimal("0.0001")

# Earlier periods of the same kind read for change, declines, projections and outliers: seven
# quarters give a unit's own history enough points for a robust median without reaching back
# into the previous programme's first years. A target that continues one of the previous
# programme reads that target's results for the periods before it began (see engine.load_history).
HISTORY_PERIODS = 7
# A decline smaller than half a point is the noise of reporting (a few dossiers), not a trend.
DECLINE_MIN = Decimal("0.5")
# "Worse two periods running": one bad quarter happens; two in a row is a trend to act on.
DECLINE_PERIODS = 2
# Reports sent back this many times in one period show a unit that cannot report cleanly.
LAGGARD_MIN_RETURNS = 2
# How much each reason weighs in a flag's severity: a unit that sent nothing weighs most (the
# committee knows nothing of it), then each threshold missed, lateness, repeated returns, each
# target off track; the warnings' reasons weigh little. A laggard's severity starts at
# SEVERITY_LAGGARD, so that every laggard is listed before every unit to watch.
SEVERITY_WEIGHTS = {
    "missing": 60,
    "missed": 10,  # per target missed
    "late": 15,
    "returned": 5,  # per return
    "off_track": 4,  # per target
    "declining": 3,  # per target
    "data_quality": 2,  # per target
}
SEVERITY_LAGGARD = 1000
# A robust median needs a handful of points: with fewer, one odd value is the median itself.
ROBUST_MIN_SAMPLE = 4
# A unit a point away from identical peers is not suspicious: the MAD never goes below a point.
MAD_FLOOR = Decimal(1)
# Iglewicz-Hoaglin: 0.6745 makes the MAD comparable with a standard deviation.
MAD_SCALE = Decimal("0.6745")


@dataclass
class Raw:
    """What a unit reported for a target, as raw counts or a value, before any judgement."""

    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    provisional: bool = False

    def empty(self) -> bool:
        return self.numerator is None and self.denominator is None and self.value is None


def judge(target: Target, raw: Raw | None, threshold: Decimal | None) -> tuple[Decimal | None, bool | None]:
    """The value of a raw figure and whether it clears the threshold."""
    if raw is None or raw.empty():
        return None, None
    value = target.value_of(raw.numerator, raw.denominator) if target.measure in COUNT_MEASURES else raw.value
    return value, target.is_met(value, threshold)


def status_of(
    target: Target, value: Decimal | None, threshold: Decimal | None, met: bool | None, off_track: bool = False
) -> str:
    """The one rule for a result's status, a unit's or a group's: no data; behind when the threshold
    is missed; at risk when met but off track or within AT_RISK_MARGIN points of the line; met
    otherwise. A done/not-done target has no margin, and neither has a rate at 100%: it cannot
    do better, so it is not "close to the line"."""
    if met is None:
        return Status.NO_DATA
    if not met:
        return Status.BEHIND
    margin = Decimal(str(settings.AT_RISK_MARGIN))
    at_ceiling = target.measure in RATE_MEASURES and value >= HUNDRED
    close = target.measure != Measure.BOOLEAN and not at_ceiling and abs(value - threshold) < margin
    return Status.AT_RISK if off_track or close else Status.MET


def gap_of(target: Target, value: Decimal | None, threshold: Decimal | None) -> Decimal | None:
    """Points ahead (+) or behind (-) the threshold, in the target's direction."""
    if value is None or threshold is None:
        return None
    return value - threshold if target.direction == Direction.HIGHER else threshold - value


def earned(
    target: Target,
    value: Decimal | None,
    threshold: Decimal | None,
    method: str = ScoringMethod.PROPORTIONAL,
    floor: Decimal = Decimal(50),
) -> Decimal:
    """Share of the target's weight a value earns; all of it at the threshold. Below it:
    proportional, the ratio value / threshold (threshold / value when lower is better), as the
    national index of Decision 766 does; all or nothing, nothing; from a floor, nothing at or
    below `floor` percent of that ratio and in proportion between the floor and the threshold."""
    if value is None or threshold is None:
        return ZERO
    if target.direction == Direction.LOWER:
        ratio = ONE if value <= threshold else (threshold / value if value > 0 else ONE)
    else:
        ratio = ONE if threshold <= 0 or value >= threshold else max(ZERO, value / threshold)
    if ratio >= ONE:
        return ONE
    if method == ScoringMethod.ALL_OR_NOTHING:
        return ZERO
    if method == ScoringMethod.FLOOR:
        share = floor / HUNDRED
        return max(ZERO, (ratio - share) / (ONE - share))
    return ratio


def band_of(score: Decimal) -> str:
    for cutoff, band in settings.SCORE_BANDS:
        if score >= Decimal(str(cutoff)):
            return band
    return Band.WEAK


def declined(target: Target, before: Decimal, after: Decimal) -> bool:
    """Worse by more than DECLINE_MIN, in the target's direction."""
    drop = before - after if target.direction == Direction.HIGHER else after - before
    return drop > DECLINE_MIN


def declining(target: Target, values: list[Decimal]) -> bool:
    """Worse DECLINE_PERIODS periods running at the end of `values` (oldest first)."""
    last = values[-(DECLINE_PERIODS + 1) :]
    if len(last) < DECLINE_PERIODS + 1:
        return False
    return all(declined(target, before, after) for before, after in zip(last, last[1:], strict=False))


def robust_stats(sample: list[Decimal]) -> tuple[Decimal, Decimal] | None:
    """Median and median absolute deviation (at least MAD_FLOOR) of a sample; None when too small."""
    if len(sample) < ROBUST_MIN_SAMPLE:
        return None
    median = statistics.median(sample)
    mad = statistics.median([abs(x - median) for x in sample])
    return median, max(mad, MAD_FLOOR)


def robust_z(value: Decimal, stats: tuple[Decimal, Decimal] | None) -> float | None:
    """Modified z-score: MAD_SCALE (x - median) / MAD."""
    if stats is None:
        return None
    median, mad = stats
    return float(MAD_SCALE * (value - median) / mad)


def is_outlier(value: Decimal, *samples: tuple[Decimal, Decimal] | None) -> bool:
    """Farther than OUTLIER_Z robust deviations from any of the samples' medians."""
    limit = settings.OUTLIER_Z
    return any(z is not None and abs(z) > limit for z in (robust_z(value, s) for s in samples))


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


def severity_of(reasons: list[dict]) -> int:
    """A flag's weight: its reasons' weights (per target or per return where they count), plus
    SEVERITY_LAGGARD when any reason makes the unit a laggard."""
    total = sum(SEVERITY_WEIGHTS[r["code"]] * r.get("count", 1) for r in reasons)
    return total + (SEVERITY_LAGGARD if any(r["tier"] == "laggard" for r in reasons) else 0)


def quantized(value: Decimal | None) -> Decimal | None:
    return value.quantize(FOUR_PLACES) if value is not None else None
