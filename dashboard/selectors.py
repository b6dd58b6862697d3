"""Reads for the Steering Committee's pages. Each runs a fixed number of queries, whatever the
number of units: results are precomputed by the attainment engine and read in bulk here."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Q, When
from django.utils.translation import gettext as _

from attainment.models import Attainment, FlagTier, LaggardFlag, Rollup, ScopeKind, Status, UnitScore
from attainment.rules import status_of
from attainment.series import Point, unit_series
from cchc_portal.converters import CODE
from reports.models import KEY_RE, Period, PeriodKind, PeriodState, Submission, SubmissionStatus
from reports.selectors import SENT, previous_period, units_due
from targets.models import Area, Programme, Target
from units.models import KIND_LEVEL, Level, Role, Unit, User
from units.templatetags.portal import figure_text


def periods_for_choice():
    """Newest first; of periods ending on the same day, the quarter first."""
    quarter_first = Case(When(kind=PeriodKind.QUARTER, then=0), default=1)
    return Period.objects.order_by("-end", quarter_first, "kind")


def dashboard_period(key: str | None) -> Period | None:
    """The period asked for; else the one the secretariat chose to show first; else the latest
    quarter whose figures are complete (reporting closed) and computed; else the latest computed."""
    periods = periods_for_choice()
    if key and KEY_RE.match(key):
        found = periods.filter(key=key).first()
        if found:
            return found
    computed = periods.filter(computation__computed_at__isnull=False)
    quarters = computed.filter(kind=PeriodKind.QUARTER)
    return (
        periods.filter(featured=True).first()
        or quarters.exclude(state=PeriodState.OPEN).first()
        or quarters.first()
        or computed.first()
        or periods.first()
    )


def provisional(period: Period) -> dict | None:
    """For a period still open for reporting: how many of the units due are approved so far (its
    numbers will change). None once reporting is closed."""
    if period.state != PeriodState.OPEN:
        return None
    due = units_due(period)
    approved = Submission.objects.filter(period=period, status=SubmissionStatus.APPROVED, unit__in=due).count()
    return {"approved": approved, "due": due.count()}


@dataclass
class TargetLine:
    target: Target
    rollup: Rollup | None
    by_level: list[tuple[str, Rollup]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The province-wide status, by the same rule as a unit's."""
        if self.rollup is None:
            return Status.NO_DATA
        return status_of(self.target, self.rollup.value, self.rollup.threshold, self.rollup.met)

    @property
    def mixed_threshold(self) -> bool:
        """The province line blends levels' different thresholds (weighted by their units' counts)."""
        return len({r.threshold for _label, r in self.by_level if r.threshold is not None}) > 1


def overview(period: Period) -> dict:
    """Each target's province-wide roll-up against its threshold, grouped by area (every area,
    also one with no quantified target in force), and how far reporting has got."""
    rollups = Rollup.objects.filter(period=period, scope__in=[ScopeKind.PROVINCE, ScopeKind.LEVEL])
    by_key = {(r.target_id, r.area_id, r.scope, r.scope_key): r for r in rollups}
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
    areas = [
        (area, by_key.get((None, area.pk, ScopeKind.PROVINCE, "all")), grouped.get(area.pk, []))
        for area in Area.objects.all()
    ]
    return {"areas": areas, "completeness": completeness(period)}


def programme_of(period: Period) -> Programme | None:
    return Programme.objects.covering(period.year).first()


def periods_by_programme() -> list[tuple[Programme | None, list[Period]]]:
    """The periods to choose from, newest first, grouped by the programme of their year."""
    programmes = list(Programme.objects.order_by("-first_year"))
    groups: dict[int | None, list[Period]] = defaultdict(list)
    for period in periods_for_choice():
        owner = next((p for p in programmes if p.first_year <= period.year <= p.last_year), None)
        groups[owner.pk if owner else None].append(period)
    ordered = [(p, groups[p.pk]) for p in programmes if groups.get(p.pk)]
    return ordered + ([(None, groups[None])] if groups.get(None) else [])


@dataclass
class Continued:
    """A target carried on from the previous programme: where the province ended it, where it
    stands now."""

    target: Target
    earlier: Rollup | None  # the province's last quarter on the target it continues
    now: Rollup | None

    @property
    def change(self) -> Decimal | None:
        if self.earlier is None or self.now is None or None in (self.earlier.value, self.now.value):
            return None
        return self.now.value - self.earlier.value


def programme_comparison(period: Period) -> list[Continued]:
    """The period's targets that continue one of an earlier programme, each with the province's
    figure at the last quarter of the earlier target and in `period`. Three queries."""
    targets = list(
        Target.objects.in_force(period.year)
        .filter(continues__isnull=False)
        .select_related("continues", "continues__programme")
    )
    if not targets:
        return []
    province = Rollup.objects.filter(scope=ScopeKind.PROVINCE, scope_key="all").select_related("period")
    earlier = {}
    rows = province.filter(
        target_id__in=[t.continues_id for t in targets], period__kind=PeriodKind.QUARTER, value__isnull=False
    ).order_by("target_id", "-period__end")
    for row in rows:
        earlier.setdefault(row.target_id, row)
    now = {r.target_id: r for r in province.filter(period=period, target__in=targets)}
    return [Continued(t, earlier.get(t.continues_id), now.get(t.pk)) for t in targets]


def targets_met(period: Period | None) -> tuple[int, int] | None:
    """(targets met, targets judged) province-wide in `period`; None without computed results."""
    if period is None:
        return None
    rows = Rollup.objects.filter(period=period, scope=ScopeKind.PROVINCE, target__isnull=False, met__isnull=False)
    counts = rows.aggregate(judged=Count("id"), met=Count("id", filter=Q(met=True)))
    return (counts["met"], counts["judged"]) if counts["judged"] else None


def headline(period: Period) -> list[tuple[str, Period | None, tuple[int, int] | None]]:
    """Targets met this period, the previous period and the same period a year earlier."""
    same_last_year = Period.objects.filter(kind=period.kind, year=period.year - 1, quarter=period.quarter).first()
    before = previous_period(period)
    return [
        (_("This period"), period, targets_met(period)),
        (_("Previous period"), before, targets_met(before)),
        (_("Same period last year"), same_last_year, targets_met(same_last_year)),
    ]


def most_behind(period: Period, count: int = 10) -> list[LaggardFlag]:
    """The laggards that weigh most, with the steering members responsible for them."""
    flags = LaggardFlag.objects.filter(period=period, tier=FlagTier.LAGGARD).select_related("unit")
    return list(flags.prefetch_related("responsible").order_by("-severity", "unit__path")[:count])


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


# Rows on a page of the heatmap (each about 25 cells) and of the ranking, laggard and target lists:
# a national list of 10,000 units is read a page at a time, its .xlsx whole.
HEATMAP_PAGE = 100
LIST_PAGE = 100


def page_of(items, number: str | int | None, per_page: int | None = None) -> Page:
    """The page `number` of `items` (LIST_PAGE rows unless told): the first page for a number
    that is not one, the last for a number past the end (Django's Paginator.get_page); two
    queries on a queryset."""
    return Paginator(items, per_page or LIST_PAGE).get_page(number)


def steering_units(user: User | None) -> list[Unit]:
    """The units `user` is responsible for on the Steering Committee; read once per request."""
    if user is None:
        return []
    cached = getattr(user, "_steering_units", None)
    if cached is None:
        cached = list(Unit.objects.filter(pk__in=user.unit_ids_for(Role.STEERING)))
        user._steering_units = cached
    return cached


@dataclass
class Scope:
    """What a page shows when the viewer chose nothing and the whole list does not fit on a page:
    `mine` (the steering member's own units) or `level` (one level); None shows everything."""

    kind: str | None = None
    level: str = ""
    total: int = 0  # units in the whole list

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label) if self.level else ""


def default_scope(total: int, user: User | None, level: str | None, per_page: int | None = None) -> Scope:
    """The scope a page opens on: everything when it fits on one page; else the viewer's own
    units when they are responsible for some; else `level` (when given)."""
    own = steering_units(user)  # read whatever the outcome: the page's query count stays the same
    if total <= (per_page or LIST_PAGE):
        return Scope(total=total)
    if own:
        return Scope("mine", total=total)
    if level:
        return Scope("level", level=level, total=total)
    return Scope(total=total)


def heatmap_scope(period: Period, user: User) -> tuple[HeatmapFilters, Scope]:
    """The heatmap's filters when the viewer chose none (see default_scope); the level is the
    one with the most units ranked, as on the ranking page. Two or three queries."""
    scope = default_scope(units_due(period).count(), user, most_ranked_level(period), HEATMAP_PAGE)
    return HeatmapFilters(mine=scope.kind == "mine", level=scope.level), scope


def heatmap_units(period: Period, filters: HeatmapFilters, user: User):
    """The heatmap's rows: the units due in the period that pass the filters, in tree order."""
    units = units_due(period).order_by("path")
    if filters.level:
        units = units.at_level(filters.level)
    if filters.district:
        district = Unit.objects.filter(code=filters.district).first() if re.fullmatch(CODE, filters.district) else None
        units = units.subtree(district) if district else units.none()
    if filters.pilot:
        units = units.filter(is_pilot=True)
    if filters.mine:
        units = units.within(steering_units(user))
    return units


def heatmap(period: Period, filters: HeatmapFilters, user: User, page: str | int | None = None) -> dict:
    """Units (rows) x targets (columns), each cell the unit's result: every unit that passes the
    filters, or with `page` that page of them (HEATMAP_PAGE rows; "page" in the result)."""
    units = heatmap_units(period, filters, user)
    paged = None
    if page is not None:
        paged = page_of(units, page, HEATMAP_PAGE)
        units = paged.object_list
    targets = Target.objects.in_force(period.year).select_related("area").order_by("area__order", "order", "code")
    if filters.area:
        targets = targets.filter(area__code=filters.area) if re.fullmatch(CODE, filters.area) else targets.none()
    units, targets = list(units), list(targets)
    labels = {value: str(label) for value, label in Status.choices}
    measures = {t.pk: t.measure for t in targets}
    cells = {}
    rows_ = Attainment.objects.filter(period=period, derived=False, unit__in=units, target__in=targets)
    for unit_id, target_id, status, value, provisional in rows_.values_list(
        "unit_id", "target_id", "status", "value", "provisional"
    ):
        text = figure_text(value, measures[target_id], places=0)
        cells[(unit_id, target_id)] = Cell(status, value, provisional, labels[status], text)
    rows = [(unit, [cells.get((unit.pk, t.pk)) for t in targets]) for unit in units]
    return {"targets": targets, "rows": rows, "page": paged}


@dataclass
class ListFilters:
    """The filters of the ranking and laggard pages: the viewer's own units, a search."""

    mine: bool = False
    query: str = ""

    def units(self, user: User | None):
        """The units the lists are narrowed to, or None for every unit."""
        units = None
        if self.mine and user is not None:
            units = Unit.objects.within(steering_units(user))
        if self.query.strip():
            units = (units if units is not None else Unit.objects.all()).search(self.query)
        return units


RANKING_ORDER = {"rank": ("rank", "unit__path"), "name": ("unit__search_name",), "movement": ("-movement", "rank")}


def ranking_scores(
    period: Period, level: str, filters: ListFilters | None = None, user: User | None = None, order: str = "rank"
):
    """The scored units of a level, best first (or by name, or by places gained), as a queryset."""
    scores = UnitScore.objects.filter(period=period, level=level).select_related("unit")
    units = (filters or ListFilters()).units(user)
    if units is not None:
        scores = scores.filter(unit__in=units)
    return scores.order_by(*RANKING_ORDER.get(order, RANKING_ORDER["rank"]))


def ranking(
    period: Period, level: str, filters: ListFilters | None = None, user: User | None = None, order: str = "rank"
) -> list[UnitScore]:
    """The whole ranking of a level (see ranking_scores)."""
    return list(ranking_scores(period, level, filters, user, order))


def list_scope(count: int, user: User | None) -> tuple[ListFilters, Scope]:
    """The ranking's or the laggard list's filters when the viewer chose none: their own units
    when they are a steering member and the whole list (`count` rows) does not fit on a page."""
    scope = default_scope(count, user, None)
    return ListFilters(mine=scope.kind == "mine"), scope


def levels_reporting(period: Period) -> list[tuple[str, str]]:
    """The levels below the province that had units reporting in the period, top down (no
    district level after 1/7/2025)."""
    kinds = set(units_due(period).order_by().values_list("kind", flat=True).distinct())
    present = {KIND_LEVEL[kind] for kind in kinds}
    return [(value, label) for value, label in Level.choices if value in present and value != Level.PROVINCE]


def most_ranked_level(period: Period) -> str | None:
    """The level with the most units ranked in the period (the ranking page opens on it)."""
    row = UnitScore.objects.filter(period=period).values("level").annotate(n=Count("id")).order_by("-n").first()
    return row["level"] if row else None


def unranked_units(period: Period, level: str, filters: ListFilters | None = None, user: User | None = None):
    """Units of the level that had to report but have no approved figure: no score, no rank."""
    units = units_due(period).at_level(level).exclude(pk__in=UnitScore.objects.filter(period=period).values("unit"))
    narrowed = (filters or ListFilters()).units(user)
    if narrowed is not None:
        units = units.filter(pk__in=narrowed)
    return units.order_by("path")


def unranked(period: Period, level: str, filters: ListFilters | None = None, user: User | None = None) -> list[Unit]:
    return list(unranked_units(period, level, filters, user))


def flag_counts(period: Period) -> dict[str, int]:
    """How many units are laggards and how many are to watch."""
    rows = LaggardFlag.objects.filter(period=period).values("tier").annotate(n=Count("id"))
    counts = dict.fromkeys(FlagTier.values, 0)
    counts.update({row["tier"]: row["n"] for row in rows})
    return counts


def laggards_by_member(
    period: Period,
    first: User | None = None,
    tier: str | None = FlagTier.LAGGARD,
    filters: ListFilters | None = None,
) -> list[tuple[User | None, list[LaggardFlag]]]:
    """Flagged units (laggards by default; `tier=None` for all) grouped by the steering member
    responsible (a unit may sit under several), heaviest first; `first`'s own group comes first,
    so a member sees their laggards before anyone else's."""
    flags = LaggardFlag.objects.filter(period=period)
    if tier:
        flags = flags.filter(tier=tier)
    units = (filters or ListFilters()).units(first)
    if units is not None:
        flags = flags.filter(unit__in=units)
    flags = list(flags.select_related("unit").prefetch_related("responsible").order_by("-severity", "unit__path"))
    groups: dict[User | None, list[LaggardFlag]] = defaultdict(list)
    for flag in flags:
        members = list(flag.responsible.all()) or [None]
        for member in members:
            groups[member].append(flag)
    named = sorted((m for m in groups if m is not None), key=lambda m: (m != first, m.get_full_name()))
    return [(m, groups[m]) for m in named] + ([(None, groups[None])] if None in groups else [])


class Group(list):
    """A member's flagged units on one page of the laggard list; `total` counts them on every page."""

    total: int = 0


def _flags(period: Period, tier: str | None, filters: ListFilters | None, user: User | None):
    flags = LaggardFlag.objects.filter(period=period)
    if tier:
        flags = flags.filter(tier=tier)
    units = (filters or ListFilters()).units(user)
    if units is not None:
        flags = flags.filter(unit__in=units)
    return flags


def laggard_count(period: Period, tier: str | None = FlagTier.LAGGARD) -> int:
    """How many units the unfiltered list holds (laggards, units to watch, or both)."""
    return _flags(period, tier, None, None).count()


def laggard_page(
    period: Period,
    first: User | None = None,
    tier: str | None = FlagTier.LAGGARD,
    filters: ListFilters | None = None,
    page: str | int | None = 1,
    per_page: int | None = None,
) -> tuple[list[tuple[User | None, Group]], Page]:
    """One page of laggards_by_member's list: the same groups in the same order, cut every
    `per_page` rows (a unit under two members is two rows). Four queries whatever the number of
    flags: the order is worked out on ids, and only the page's flags are read whole."""
    flags = _flags(period, tier, filters, first)
    ordered = list(flags.order_by("-severity", "unit__path").values_list("pk", flat=True))
    through = LaggardFlag.responsible.through.objects.filter(laggardflag__in=flags)
    members_of = defaultdict(list)
    for flag_id, user_id in through.values_list("laggardflag_id", "user_id"):
        members_of[flag_id].append(user_id)
    members = {u.pk: u for u in User.objects.filter(pk__in=through.values("user_id"))}
    groups: dict[int | None, list[int]] = defaultdict(list)
    for flag_id in ordered:
        for member_id in members_of.get(flag_id) or [None]:
            groups[member_id].append(flag_id)
    named = sorted(
        (m for m in groups if m is not None), key=lambda m: (members[m] != first, members[m].get_full_name())
    )
    keys = named + ([None] if None in groups else [])
    rows = [(key, flag_id) for key in keys for flag_id in groups[key]]
    paged = page_of(rows, page, per_page)
    read = LaggardFlag.objects.filter(pk__in={flag_id for _key, flag_id in paged.object_list}).select_related("unit")
    by_id = {flag.pk: flag for flag in read}
    result: list[tuple[User | None, Group]] = []
    for key, flag_id in paged.object_list:
        if not result or result[-1][0] != (members[key] if key is not None else None):
            group = Group()
            group.total = len(groups[key])
            result.append((members[key] if key is not None else None, group))
        result[-1][1].append(by_id[flag_id])
    return result, paged


@dataclass
class TrendRow:
    """One target on a unit's page: its series (continued targets and absorbed units included),
    the latest official result, and where the previous programme ended."""

    target: Target
    points: list[Point]
    latest: Point | None  # the latest point with a figure on this very target
    earlier: Point | None  # the last point of the target it continues, in the earlier programme

    @property
    def has_combined(self) -> bool:
        return any(p.combined for p in self.points)


def unit_programmes(unit: Unit) -> list[Programme]:
    """The programmes the unit has results in, oldest first."""
    ids = Attainment.objects.filter(unit=unit).values("target__programme").distinct()
    return list(Programme.objects.filter(pk__in=ids).order_by("first_year"))


def unit_trend(unit: Unit, programme: Programme | None) -> dict:
    """Every target of `programme` the unit has results on, as a series over the quarters: a
    continued target's earlier programme first, a continuing unit's earlier quarters with the
    counts it absorbed (see attainment.series); the unit's scores and its reports."""
    targets = list(Target.objects.filter(programme=programme).select_related("area", "programme")) if programme else []
    chains = target_chains(targets)
    series = unit_series(unit, chains)
    rows = []
    for target in targets:
        points = series.get(target.pk)
        if not points:
            continue
        # The latest result with a figure: the open quarter's empty row is not "the latest".
        own = [p for p in points if p.target.pk == target.pk and p.value is not None]
        earlier = [p for p in points if p.target.pk != target.pk and p.value is not None]
        rows.append(TrendRow(target, points, own[-1] if own else None, earlier[-1] if earlier else None))
    scores = list(
        UnitScore.objects.filter(unit=unit, period__kind="quarter").select_related("period").order_by("period__end")
    )
    submissions = list(Submission.objects.filter(unit=unit).select_related("period").order_by("-period__end"))
    absorbed = sorted({u for row in rows for p in row.points for u in p.combined_with}, key=lambda u: u.path)
    return {"series": rows, "scores": scores, "submissions": submissions, "absorbed": absorbed}


def target_chains(targets: list[Target]) -> dict[int, list[int]]:
    """For each target, the ids its series is made of, oldest first: the targets it continues
    (2021-2025 -> 2026-2030), then itself. One query."""
    continues = dict(Target.objects.values_list("pk", "continues_id"))
    chains = {}
    for target in targets:
        chain, node = [], target.pk
        while node is not None and node not in chain:
            chain.append(node)
            node = continues.get(node)
        chains[target.pk] = chain[::-1]
    return chains


def target_view(target: Target, period: Period, page: str | int | None = None) -> dict:
    """A target across units: the distribution of values, the province's trend (from the first
    quarter of the target it continues), who misses it (all of them, or with `page` that page;
    "page" in the result). A fixed number of queries: the distribution is counted in SQL."""
    results = Attainment.objects.filter(period=period, target=target, derived=False)
    judged = results.filter(value__isnull=False, provisional=False)
    edges = [Decimal(10 * i) for i in range(1, 10)]
    counts = judged.aggregate(
        b0=Count("id", filter=Q(value__lt=edges[0])),
        **{f"b{i}": Count("id", filter=Q(value__gte=edges[i - 1], value__lt=edges[i])) for i in range(1, 9)},
        b9=Count("id", filter=Q(value__gte=edges[8])),
        results=Count("id"),
    )
    buckets = [counts[f"b{i}"] for i in range(10)]
    trend = list(
        Rollup.objects.filter(
            target_id__in=target_chains([target])[target.pk], scope=ScopeKind.PROVINCE, period__kind=period.kind
        )
        .select_related("period")
        .order_by("period__end")
    )
    missing = results.filter(met=False, provisional=False).select_related("unit").order_by("value", "unit__path")
    paged = None
    if page is not None:
        paged = page_of(missing, page)
        missing = paged.object_list
    return {"buckets": buckets, "trend": trend, "missing": list(missing), "page": paged}


def member_summary(user: User, period: Period) -> dict | None:
    """A steering member's units in `period`: how many are behind or to watch, the three that weigh
    most, and what changed since the previous period (units that became laggards, units that are
    laggards no more). None for a person responsible for no unit."""
    responsible = Unit.objects.filter(pk__in=user.unit_ids_for(Role.STEERING))
    if not responsible.exists():
        return None
    mine = units_due(period).within(responsible)
    flags = LaggardFlag.objects.filter(period=period, unit__in=mine).select_related("unit")
    laggards = {f.unit_id: f for f in flags if f.tier == FlagTier.LAGGARD}
    before = previous_period(period)
    earlier = set()
    if before is not None:
        earlier = set(
            LaggardFlag.objects.filter(period=before, tier=FlagTier.LAGGARD, unit__in=mine).values_list(
                "unit", flat=True
            )
        )
    return {
        "units": mine.count(),
        "laggards": len(laggards),
        "watch": sum(1 for f in flags if f.tier == FlagTier.WARNING),
        "worst": sorted(laggards.values(), key=lambda f: -f.severity)[:3],
        "new": sorted((f.unit for i, f in laggards.items() if i not in earlier), key=lambda u: u.path),
        "recovered": list(Unit.objects.filter(pk__in=earlier - set(laggards)).order_by("path")) if before else [],
        "previous": before,
    }


def unit_summary(unit: Unit, period: Period) -> dict:
    """A unit head's view of their unit in `period`: score, band, rank and movement, and the
    targets it misses with how far it is from each."""
    score = UnitScore.objects.filter(period=period, unit=unit).first()
    missed = (
        Attainment.objects.filter(period=period, unit=unit, met=False, provisional=False)
        .select_related("target")
        .order_by("gap")
    )
    flag = LaggardFlag.objects.filter(period=period, unit=unit).first()
    return {"unit": unit, "score": score, "missed": list(missed), "flag": flag}
