"""Laggard flags: which units need the Steering Committee's attention in a period, and why."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.conf import settings

from reports.models import SubmissionStatus
from units.models import Unit

from .models import LaggardReason
from .records import Flag, Inputs, Result
from .rules import LAGGARD_MIN_RETURNS, declining, is_outlier, robust_stats


def flag_laggards(inputs: Inputs, by_unit: dict[int, list[Result]]) -> list[Flag]:
    """Units lagging in the period, each with its reasons and the steering members responsible
    (those assigned to the unit or to any unit above it)."""
    peers: dict[tuple[str, int], list[Decimal]] = defaultdict(list)
    for rows in by_unit.values():
        for r in rows:
            if r.value is not None and not r.provisional:
                peers[(inputs.units[r.unit_id].level, r.target_id)].append(r.value)
    peer_stats = {key: robust_stats(sample) for key, sample in peers.items()}
    flags = []
    for unit_id, rows in by_unit.items():
        unit = inputs.units[unit_id]
        reasons = _reporting_reasons(inputs.submissions, unit_id) + _figure_reasons(inputs, unit, rows, peer_stats)
        if reasons:
            responsible = set().union(*(inputs.steering.get(path, set()) for path in unit.ancestor_paths()))
            flags.append(Flag(unit_id, reasons, responsible))
    return flags


def _reporting_reasons(submissions: dict[int, dict] | None, unit_id: int) -> list[dict]:
    if submissions is None:
        return []
    reasons = []
    submission = submissions.get(unit_id)
    if submission is None or submission["status"] in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED):
        reasons.append({"code": LaggardReason.MISSING.value})
    elif submission["is_late"]:
        reasons.append({"code": LaggardReason.LATE.value})
    if submission and submission["times_returned"] >= LAGGARD_MIN_RETURNS:
        reasons.append({"code": LaggardReason.RETURNED.value, "count": submission["times_returned"]})
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
    if len(missed) >= settings.LAGGARD_MIN_MISSED:
        reasons.append(_reason(LaggardReason.MISSED, missed))
    if worse:
        reasons.append(_reason(LaggardReason.DECLINING, worse))
    # Off track on one target is a warning on the page; on several it makes a laggard.
    if len(off_track) >= settings.LAGGARD_MIN_MISSED:
        reasons.append(_reason(LaggardReason.OFF_TRACK, off_track))
    if odd:
        reasons.append(_reason(LaggardReason.DATA_QUALITY, odd))
    return reasons


def _reason(code: LaggardReason, codes: list[str]) -> dict:
    return {"code": code.value, "targets": sorted(codes), "count": len(codes)}
