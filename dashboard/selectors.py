"""Reads for the Steering Committee's pages. Each runs a fixed number of queries, whatever the
number of units: results are precomputed by the attainment engine and read in bulk here."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Q, When

from attainment.models import Attainment, LaggardFlag, Rollup, ScopeKind, Status, UnitScore
from cchc_portal.converters import CODE
from reports.models import KEY_RE, Period, PeriodKind, Submission, SubmissionStatus
from reports.selectors import SENT, units_due
from targets.models import Area, Target
from units.models import Level, Role, Unit, User


def periods_for_choice():
    """Newest first; of periods ending on the same day, the quarter first."""
    quarter_first = Case(When(kind=PeriodKind.QUARTER, then=0), default=1)
    return Period.objects.order_by("-end", quarter_first, "kind")


def dashboard_period(key: str | None) -> Period | None:
    """The period asked for, else the latest quarter with computed results."""
    periods = periods_for_choice()
    if key and KEY_RE.match(key):
        found = periods.filter(key=key).first()
        if found:
            return found
    computed = periods.filter(computation__computed_at__isnull=False)
    return computed.filter(kind=PeriodKind.QUARTER).first() or computed.first() or periods.first()


@dataclass
class TargetLine:
    target: Target
    rollup: Rollup | None
    by_level: list[tuple[str, Rollup]] = field(default_factory=list)


def overview(period: Period) -> dict:
    """Each target's province-wide roll-up against its threshold, grouped by area, and how far
    reporting has got."""
    rollups = Rollup.objects.filter(period=period, scope__in=[ScopeKind.PROVINCE, ScopeKind.LEVEL])
    by_key = {(r.target_id, r.area_id, r.scope, r.scope_key): r for r in rollups}
    areas = []
    targets = Target.objects.in_force(period.year).select_related("area")
    grouped = defaultdict(list)
    for target in targets:
        line = TargetLine(target, by_key.get((target.pk, None, ScopeKind.PROVINCE, "all")))
        line.by_level = [
            (label, by_key[(target.pk, None, ScopeKind.LEVEL, level)])
            for level, label in Level.choices
            if (target.pk, None, ScopeKind.LEVEL, level) in by_key
        ]
        grouped[target.area_id].append(line)
    for area in Area.objects.filter(pk__in=grouped):
        areas.append((area, by_key.get((None, area.pk, ScopeKind.PROVINCE, "all")), grouped[area.pk]))
    return {"areas": areas, "completeness": completeness(period)}


def completeness(period: Period) -> dict | None:
    """How many units had to report, how many did, how many on time, how many were approved.
    Units report quarters; a 6-month, 9-month or annual period has no reports of its own."""
    if period.kind != PeriodKind.QUARTER:
        return None
    due = units_due(period).count()
    counts = Submission.objects.filter(period=period).aggregate(
        sent=Count("id", filter=Q(status__in=SENT)),
        approved=Count("id", filter=Q(status=SubmissionStatus.APPROVED)),
        late=Count("id", filter=Q(is_late=True, status__in=SENT)),
    )
    return {"due": due, **counts, "on_time": counts["sent"] - counts["late"], "missing": max(0, due - counts["sent"])}


@dataclass(slots=True)
class Cell:
    """A heatmap cell, read as plain values: a province has 15,000 of them."""

    status: str
    value: Decimal | None
    provisional: bool
    label: str
    text: str


@dataclass
class HeatmapFilters:
    level: str = ""
    area: str = ""
    district: str = ""
    pilot: bool = False
    mine: bool = False


def heatmap(period: Period, filters: HeatmapFilters, user: User) -> dict:
    """Units (rows) x targets (columns), each cell the unit's result."""
    units = units_due(period).order_by("path")
    if filters.level:
        units = units.at_level(filters.level)
    if filters.district:
        district = Unit.objects.filter(code=filters.district).first() if re.fullmatch(CODE, filters.district) else None
        units = units.subtree(district) if district else units.none()
    if filters.pilot:
        units = units.filter(is_pilot=True)
    if filters.mine:
        units = units.within(Unit.objects.filter(pk__in=user.unit_ids_for(Role.STEERING)))
    targets = Target.objects.in_force(period.year).select_related("area").order_by("area__order", "order", "code")
    if filters.area:
        targets = targets.filter(area__code=filters.area) if re.fullmatch(CODE, filters.area) else targets.none()
    units, targets = list(units), list(targets)
    labels = {value: str(label) for value, label in Status.choices}
    cells = {}
    rows_ = Attainment.objects.filter(period=period, derived=False, unit__in=units, target__in=targets)
    for unit_id, target_id, status, value, provisional in rows_.values_list(
        "unit_id", "target_id", "status", "value", "provisional"
    ):
        text = "—" if value is None else f"{value:.0f}"
        cells[(unit_id, target_id)] = Cell(status, value, provisional, labels[status], text)
    rows = [(unit, [cells.get((unit.pk, t.pk)) for t in targets]) for unit in units]
    return {"targets": targets, "rows": rows}


def ranking(period: Period, level: str) -> list[UnitScore]:
    return list(
        UnitScore.objects.filter(period=period, level=level).select_related("unit").order_by("rank", "unit__path")
    )


def laggards_by_member(period: Period, first: User | None = None) -> list[tuple[User | None, list[LaggardFlag]]]:
    """Laggard units grouped by the steering member responsible (a unit may sit under several);
    `first`'s own group comes first, so a member sees their laggards before anyone else's."""
    flags = list(
        LaggardFlag.objects.filter(period=period)
        .select_related("unit")
        .prefetch_related("responsible")
        .order_by("-severity", "unit__path")
    )
    groups: dict[User | None, list[LaggardFlag]] = defaultdict(list)
    for flag in flags:
        members = list(flag.responsible.all()) or [None]
        for member in members:
            groups[member].append(flag)
    named = sorted((m for m in groups if m is not None), key=lambda m: (m != first, m.get_full_name()))
    return [(m, groups[m]) for m in named] + ([(None, groups[None])] if None in groups else [])


def unit_trend(unit: Unit) -> dict:
    """Every target's series over the quarters, the unit's scores, and its reports."""
    rows = (
        Attainment.objects.filter(unit=unit, period__kind="quarter")
        .select_related("period", "target")
        .order_by("target__area__order", "target__order", "period__end")
    )
    series: dict[int, dict] = {}
    for row in rows:
        item = series.setdefault(row.target_id, {"target": row.target, "points": []})
        item["points"].append(row)
    scores = list(
        UnitScore.objects.filter(unit=unit, period__kind="quarter").select_related("period").order_by("period__end")
    )
    submissions = list(Submission.objects.filter(unit=unit).select_related("period").order_by("-period__end"))
    return {"series": list(series.values()), "scores": scores, "submissions": submissions}


def target_view(target: Target, period: Period) -> dict:
    """A target across units: the distribution of values, the province's trend, who misses it."""
    results = list(
        Attainment.objects.filter(period=period, target=target, derived=False)
        .select_related("unit")
        .order_by("value", "unit__path")
    )
    buckets = [0] * 10
    for row in results:
        if row.value is not None and not row.provisional:
            buckets[min(9, max(0, int(row.value // 10)))] += 1
    trend = list(
        Rollup.objects.filter(target=target, scope=ScopeKind.PROVINCE, period__kind=period.kind)
        .select_related("period")
        .order_by("period__end")
    )
    missing = [r for r in results if r.met is False and not r.provisional]
    return {"buckets": buckets, "trend": trend, "missing": missing, "results": len(results)}
