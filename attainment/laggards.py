"""Flags: which units need the Steering Committee's attention in a period (laggards), which are
worth watching (warnings), and why.

A laggard misses several thresholds, sent nothing or sent late, is off track on several targets,
or had its report returned repeatedly. A unit to watch has one blemish: a threshold or two
missed, a target worse two periods running, a figure far from its history or its peers, a
target or two off track. Each reason says its tier; the flag takes the highest.
"""

from __future__ import annotations

from django.conf import settings

from reports.models import SubmissionStatus
from units.models import Unit

from .models import FlagTier, LaggardReason
from .records import Flag, Inputs, Result
from .rules import LAGGARD_MIN_RETURNS, SEVERITY_WEIGHTS, declining, is_outlier, robust_stats, severity_of

LAGGARD, WARNING = FlagTier.LAGGARD.value, FlagTier.WARNING.value


def flag_laggards(inputs: Inputs, by_unit: dict[int, list[Result]], peer_stats: dict) -> list[Flag]:
    """Units lagging in the period, each with its reasons and the steering members responsible
    (those assigned to the unit or to any unit above it). `peer_stats` holds the median and
    spread of each (level, target)'s approved values (`rollups.peer_stats`)."""
    flags = []
    for unit_id, rows in by_unit.items():
        unit = inputs.units[unit_id]
        reasons = _reporting_reasons(inputs.submissions, unit_id) + _figure_reasons(inputs, unit, rows, peer_stats)
        if reasons:
            reasons.sort(key=lambda r: (r["tier"] != LAGGARD, -SEVERITY_WEIGHTS[r["code"]] * r.get("count", 1)))
            tier = FlagTier.LAGGARD if reasons[0]["tier"] == LAGGARD else FlagTier.WARNING
            responsible = set().union(*(inputs.steering.get(path, set()) for path in unit.ancestor_paths()))
            flags.append(Flag(unit_id, reasons, responsible, tier, severity_of(reasons)))
    return flags


def _reporting_reasons(submissions: dict[int, dict] | None, unit_id: int) -> list[dict]:
    if submissions is None:
        return []
    reasons = []
    submission = submissions.get(unit_id)
    if submission is None or submission["status"] in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED):
        reasons.append({"code": LaggardReason.MISSING.value, "tier": LAGGARD})
    elif submission["is_late"]:
        reasons.append({"code": LaggardReason.LATE.value, "tier": LAGGARD})
    if submission and submission["times_returned"] >= LAGGARD_MIN_RETURNS:
        returned = {"code": LaggardReason.RETURNED.value, "tier": LAGGARD, "count": submission["times_returned"]}
        reasons.append(returned)
    return reasons


def _figure_reasons(inputs: Inputs, unit: Unit, rows: list[Result], peer_stats) -> list[dict]:
    targets = inputs.targets
    missed = sorted(targets[r.target_id].code for r in rows if r.met is False and not r.provisional)
    worse, off_track, odd = [], [], []
    for r in rows:
        if r.value is None or r.provisional:
            continue
        target = targets[r.target_id]
        if declining(target, [*r.history, r.value]):
            worse.append(target.code)
        if r.off_track:
            off_track.append(target.code)
        if is_outlier(r.value, robust_stats(r.history), peer_stats.get((unit.level, r.target_id))):
            odd.append(target.code)
    reasons = []
    if missed:
        reasons.append(_reason(LaggardReason.MISSED, missed, settings.LAGGARD_MIN_MISSED))
    if off_track:
        reasons.append(_reason(LaggardReason.OFF_TRACK, off_track, settings.LAGGARD_MIN_OFF_TRACK))
    if worse:
        reasons.append(_reason(LaggardReason.DECLINING, worse))
    if odd:
        reasons.append(_reason(LaggardReason.DATA_QUALITY, odd))
    return reasons


def _reason(code: LaggardReason, codes: list[str], laggard_from: int | None = None) -> dict:
    """A reason on some targets: a laggard's from `laggard_from` targets on, a warning below that
    (and always a warning when it has no such limit)."""
    tier = LAGGARD if laggard_from is not None and len(codes) >= laggard_from else WARNING
    return {"code": code.value, "tier": tier, "targets": sorted(codes), "count": len(codes)}
