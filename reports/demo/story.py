"""The demo province's story: who each unit is (its size, its skill, its trend) and the figures
it reports quarter by quarter, across the reorganisations of 2025 and into the 2026-2030 programme."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from targets.models import Direction, Measure, Target
from targets.selectors import ThresholdResolver
from units.models import Kind, Level, SuccessionLink, Unit

DEMO_QUARTERS = [f"{year}-Q{quarter}" for year in (2024, 2025, 2026) for quarter in (1, 2, 3, 4)]
OPEN_QUARTER = DEMO_QUARTERS[-1]
# The last quarter whose reporting is closed: the dashboard opens on it, and the figures the
# engine should question are sent in it.
FEATURED_QUARTER = DEMO_QUARTERS[-2]
FEATURED = DEMO_QUARTERS.index(FEATURED_QUARTER)
# The quarters a programme's figures are drawn around: a unit's standing there, its pace before
# and after. The 2021-2025 targets stand around their 2025 line in 2025-Q1; targets new in
# 2026-2030 around their 2026 line in 2026-Q3, after a start most units make behind the new bar.
ANCHOR = DEMO_QUARTERS.index("2025-Q1")
NEW_ANCHOR = DEMO_QUARTERS.index("2026-Q3")
NEW_PROGRAMME_YEAR = 2026
# A continued target whose bar rose in 2026 (TTHC-06's 80% online procedures becoming 100% of
# them fully online) carries on the unit's 2025 level: a unit short of the new bar gains this
# many points a quarter on top of its pace until it clears the bar by CATCH_UP_MARGIN. Faster
# would read as a jump against the unit's own 2025 history.
CATCH_UP = 0.8
CATCH_UP_MARGIN = 1.0
# The new programme asks more of every series it carries on: a unit that was gaining on a
# continued target gains this many points a quarter more from 2026 (its projection aims at the
# bar of 2030). More would read as a jump against its own history.
NEW_PACE = 0.7
# Two-tier local government: the commune-level units of 1/7/2025 report from 2025-Q3 on.
TWO_TIER_FROM = dt.date(2025, 7, 1)

# Units whose reports the demo accounts work on: left as a draft to fill (the commune that took
# over Nghi Lộc's centre), one sent for review (Sở Tài chính); and the ward of Vinh's centre that
# the steering member also answers for. Their predecessors share their standing, so that each
# series reads as one unit's.
DRAFT_UNIT, SUBMITTED_UNIT, CENTRE_UNIT = "17827", "40-STC", "16690"
DEMO_UNITS = (DRAFT_UNIT, SUBMITTED_UNIT, CENTRE_UNIT)
# Nghi Lộc, whose head logs in, is middling: a rank mid-table and work to do.
DEMO_SKILL = {DRAFT_UNIT: 0.2, SUBMITTED_UNIT: 0.45, CENTRE_UNIT: 0.6}
SEED = "cchc-demo-2025"

# Dossiers received a quarter and procedures handled, by level, for a unit of the map before
# 2025; a unit made by merging several stands for their sum (`Profile.scale`).
DOSSIERS = {Level.DEPARTMENT: (300, 8000), Level.DISTRICT: (800, 5000), Level.COMMUNE: (50, 600)}
PROCEDURES = {Level.DEPARTMENT: (80, 250), Level.DISTRICT: (200, 280), Level.COMMUNE: (100, 120)}
# Communes share the province's commune-level lists: (procedures, eligible for level 3-4, with
# fees, popular online services). The 2025 lists came out in the first quarter; on 1/7/2025 the
# communes took over most of the districts' procedures (the two-tier lists are the demo's
# assumption, in the size of the lists provinces published).
COMMUNE_LISTS = {
    2024: (106, 88, 24, 18),
    2025: (112, 93, 26, 21),
}
TWO_TIER_LISTS = {
    2025: (352, 298, 92, 58),
    2026: (368, 313, 97, 62),
}
# National and shared digital platforms a unit of the level is to use (the demo's assumption).
PLATFORMS = {Level.PROVINCE: 16, Level.DEPARTMENT: 14, Level.DISTRICT: 12, Level.COMMUNE: 9}
HIGHLAND = {"415", "416", "417", "418", "420", "422"}  # the west: thin networks, small desks
URBAN = {"412", "413", "414", "432"}
SEASON = {1: 0.86, 2: 1.0, 3: 1.04, 4: 1.1}  # Tết empties the desks in Q1, year-end fills them
# Desks bigger than these lose `drag` points on online shares: most of their dossiers (land,
# transport, construction, the towns' civil status) still come in person.
TYPICAL_DOSSIERS = {Level.DEPARTMENT: 2500, Level.DISTRICT: 2600, Level.COMMUNE: 300}

# Departments before the 1/3/2025 merger: dossiers a quarter, procedures, public-service units
# (đơn vị sự nghiệp) and their salaried staff in 2021, information systems. A department made
# by the merger, or absorbing another, adds up its parts.
DEPARTMENTS = {
    "40-SNV": (500, 96, 3, 140, 6),
    "40-STC": (900, 82, 3, 90, 8),
    "40-SKHDT": (3200, 150, 3, 60, 7),
    "40-STP": (3600, 160, 5, 160, 6),
    "40-SCT": (2400, 140, 4, 120, 5),
    "40-SXD": (1600, 90, 4, 180, 5),
    "40-SGTVT": (5600, 130, 5, 210, 6),
    "40-SNNPTNT": (900, 120, 14, 900, 7),
    "40-STNMT": (6500, 110, 6, 420, 9),
    "40-STTTT": (500, 80, 3, 90, 12),
    "40-SKHCN": (500, 85, 3, 80, 5),
    "40-SLDTBXH": (2600, 150, 10, 650, 6),
    "40-SYT": (2400, 200, 22, 6800, 9),
    "40-SGDDT": (1500, 110, 22, 5200, 8),
    "40-SVHTT": (500, 90, 8, 380, 4),
    "40-SDL": (350, 80, 3, 60, 3),
    "40-SNGV": (300, 80, 3, 40, 3),
    "40-TTT": (300, 80, 3, 30, 3),
    "40-VPUB": (600, 85, 4, 120, 15),
    "40-BDT": (300, 80, 3, 40, 3),
    "40-BQLKKT": (900, 120, 4, 100, 4),
}
# What adds up when units merge (by the share each hands on).
SIZES = (
    "dossiers",
    "procedures",
    "services",
    "internal",
    "systems",
    "psus",
    "psu_staff",
    "records",
    "convertible",
    "staff",
)


@dataclass(frozen=True)
class Trend:
    """How units stand on a target in the anchor quarter: a typical unit `headroom` points above
    its threshold of that year, units `spread` points apart per unit of skill (weak units `fall`
    times further), each straying `scatter` from its skill on this target, gaining `pace` points
    a quarter. Flows and surveys wobble by `noise`; desks above the typical size lose `drag`
    points per e-fold; departments and districts stand `big` points off the communes; a share
    `lacking` of units still lacks what the target needs (here: civil-status books digitised)
    and stands `lag` points lower; a unit of the western highlands stands `remote` points lower
    (thin networks: what a digital target needs arrives there last). Big desks and the units
    still lacking are why a province can miss a target most of its units meet."""

    headroom: float
    spread: float
    pace: float
    noise: float = 0.0
    drag: float = 0.0
    fall: float = 1.0
    scatter: float = 0.6
    big: float = 0.0
    top: float = 100.0
    lacking: float = 0.0
    lag: float = 0.0
    remote: float = 0.0


# A pace above a point or two a quarter would look like a jump to the engine's outlier test.
TRENDS_2021 = {
    "TTHC-01": Trend(4, 3, 0.5),
    "TTHC-02": Trend(4, 3, 0.5),
    "TTHC-03": Trend(9, 4, 0.8, noise=0.4),
    "TTHC-04": Trend(11, 6, 1.0),
    "TTHC-05": Trend(2.5, 2.5, 0.9, noise=0.5, drag=22, fall=4.5, scatter=0.8),
    "TTHC-06": Trend(11, 5, 1.0),
    "TTHC-07": Trend(12, 5, 1.0),
    "TTHC-08": Trend(2.5, 3.5, 1.0, noise=0.5, drag=20, fall=4.5, scatter=0.8),
    "TTHC-09": Trend(4.5, 2.2, 0.3, noise=0.5, scatter=0.9, top=99.4),
    "TTHC-10": Trend(5, 2.6, 0.4, noise=0.5, top=98.5),
    "TTHC-11": Trend(6, 3, 0.8),
    "TTHC-12": Trend(2.5, 3, 1.0, noise=0.5, fall=4.5, scatter=0.8, big=-5, lacking=0.25, lag=10),
    "TCBM-02": Trend(3, 2.2, 0.5),
    "TCBM-03": Trend(2.5, 1.6, 0.6),
    "TCBM-04": Trend(4.5, 2.2, 0.3, noise=0.5, scatter=0.9, top=99.0),
    "TCBM-05": Trend(5, 2.4, 0.3, noise=0.5, top=97.5),
    "CV-01": Trend(1.5, 2, 0.4),
    "TCC-01": Trend(6, 3.5, 0.4),
    "CQS-01": Trend(12, 3, 2.5),
    "CQS-02": Trend(12, 3, 2.5),
    "CQS-03": Trend(2.0, 1.2, 0.8, noise=0.3, drag=2.5),
    "CQS-04": Trend(12, 3, 2.5),
    "CQS-05": Trend(9, 5, 1.0, noise=0.8, fall=1.5, scatter=0.8),
}
# Targets new in 2026-2030 (a continued target follows the trend of the one it continues). On a
# 100% bar a unit meets the target only at 100%: most start the year short and make it by the
# third quarter, the weaker ones later. With no history of their own yet, their quick climb is
# no jump to the outlier test.
TRENDS_2026 = {
    "TC-26-01": Trend(2.0, 2.0, 0.3, fall=2.5, scatter=0.8),
    "TTHC-26-03": Trend(0.8, 0.6, 0.3, noise=0.1, fall=2.5),
    "TTHC-26-05": Trend(5, 2.6, 0.4, noise=0.2, top=98.5),  # as TTHC-10, which communes did not report
    "TTHC-26-08": Trend(2.0, 2.5, 2.0, noise=0.3, fall=2.0, remote=1.5),
    "CQS-26-01": Trend(-1.0, 3.0, 3.5, fall=2.0, remote=2),
    "CQS-26-02": Trend(0.0, 0.7, 0.25, fall=1.5, top=5),  # a maturity level, 1 to 5: level 3 asked
}
TRENDS = {**TRENDS_2021, **TRENDS_2026}
DEFAULT_TREND = Trend(8, 5, 1.0, noise=1.0)
# Targets a unit can slide on (flows and surveys; a count of procedures does not shrink).
CAN_DECLINE = ["TTHC-03", "TTHC-05", "TTHC-08", "TTHC-12", "CQS-05", "TTHC-09", "TCBM-04"]

RETURN_REASONS = [
    "Số liệu mẫu số chưa khớp với Hệ thống thông tin giải quyết TTHC của tỉnh, đề nghị rà soát lại.",
    "Thiếu tài liệu kiểm chứng cho chỉ tiêu thanh toán trực tuyến, đề nghị bổ sung.",
    "Số thủ tục hành chính chưa khớp với danh mục đã được Chủ tịch UBND tỉnh công bố.",
    "Tỷ lệ hồ sơ trực tuyến tăng đột biến so với quý trước, đề nghị giải trình và gửi kèm số liệu trích xuất.",
]
# Figures the engine should question, in the featured quarter: (level, the series' first target,
# what, the unit's note). One whose series no target of the quarter carries on is left out.
ODDITIES = [
    (Level.COMMUNE, "TTHC-05", "tiny", "Chỉ tính các giao dịch qua Cổng dịch vụ công quốc gia."),
    (Level.COMMUNE, "TTHC-08", "jump", "Đã tính cả hồ sơ nộp trực tuyến một phần."),
    (Level.COMMUNE, "CQS-05", "jump", "Tính cả văn bản đến được số hóa."),
    (
        Level.COMMUNE,
        "TTHC-12",
        "zero",
        "Hệ thống kết nối Cơ sở dữ liệu quốc gia về dân cư gián đoạn trong tháng 8, chưa khai thác được giấy tờ đã có.",
    ),
    (Level.DEPARTMENT, "TTHC-12", "jump", "Số liệu tổng hợp thủ công."),
    (Level.DEPARTMENT, "TTHC-08", "jump", "Tính theo số hồ sơ nộp qua Cổng dịch vụ công."),
]


def seeded_rng(*parts) -> random.Random:
    return random.Random(":".join([SEED, *map(str, parts)]))


# --- Who each unit is -----------------------------------------------------------------------------


@dataclass
class Profile:
    """A unit's size and standing: what its counts and its rates are drawn from."""

    code: str
    level: str
    skill: float
    dossiers: float = 0  # received a quarter
    procedures: int = 0
    services: int = 0  # popular online public services
    internal: int = 0  # internal procedures between agencies
    systems: int = 0  # databases and information systems
    staff: int = 0  # commune officials
    psus: int = 0  # public-service units in 2021
    psu_staff: int = 0  # their salaried staff in 2021
    records: float = 0  # work records a quarter
    convertible: int = 0  # economic units able to become joint-stock companies
    meetings: float = 0  # HĐND and UBND meetings a quarter
    scale: float = 1.0  # how many units of the map before 2025 it stands for
    remote: float = 0.0  # the share of it that lies in the western highlands
    demo: bool = False  # a demo account's unit or one of its predecessors
    shares: dict[str, float] = field(default_factory=dict)  # the part of the dossiers a flow counts
    done_at: dict[str, int] = field(default_factory=dict)  # the quarter a one-off task was done
    offsets: dict[str, float] = field(default_factory=dict)
    paces: dict[str, float] = field(default_factory=dict)
    # A merged unit's standing on each series it carries on: where its parts stood, averaged.
    standing: dict[str, float] = field(default_factory=dict)

    @property
    def weak(self) -> bool:
        return self.skill < -1.0


def _skill(rng: random.Random, district: str) -> float:
    """Most units are sound; about one in fifteen is weak. The highlands lean weak, the towns strong."""
    skill = rng.gauss(-1.75, 0.4) if rng.random() < 0.07 else rng.gauss(0.5, 0.4)
    return skill + (-0.4 if district in HIGHLAND else 0.2 if district in URBAN else 0.0)


def _between(rng: random.Random, low: float, high: float, median: float, sigma: float = 0.45) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0, sigma))))


def _profile(unit: Unit, communes: int, demo_skill: float | None) -> Profile:
    rng = seeded_rng("unit", unit.code)
    level = unit.level
    district = unit.parent.code if level == Level.COMMUNE and unit.parent else unit.code
    skill = _skill(rng, district)
    p = Profile(code=unit.code, level=level, skill=skill if demo_skill is None else demo_skill)
    p.demo = demo_skill is not None
    p.remote = float(district in HIGHLAND)
    if level == Level.DEPARTMENT:
        dossiers, p.procedures, p.psus, p.psu_staff, p.systems = DEPARTMENTS.get(unit.code, (700, 90, 4, 120, 5))
        p.dossiers = dossiers * rng.uniform(0.9, 1.1)
        p.services = max(8, round(p.procedures * rng.uniform(0.12, 0.22)))
        p.internal, p.records, p.convertible = rng.randint(4, 24), _between(rng, 800, 5000, 1800), rng.randint(1, 3)
    elif level == Level.DISTRICT:
        median = 4800 if unit.kind == Kind.CITY else 1300 if district in HIGHLAND else 2300
        p.dossiers = _between(rng, *DOSSIERS[level], median, 0.25)
        p.procedures, p.services, p.internal = rng.randint(*PROCEDURES[level]), rng.randint(30, 45), rng.randint(12, 28)
        p.psus = min(120, max(30, round(communes * 2.6 + rng.randint(4, 14))))  # mostly schools
        p.psu_staff = round(p.psus * rng.uniform(28, 40))
        p.records, p.meetings, p.convertible = (
            _between(rng, 1500, 5000, 2600, 0.3),
            rng.uniform(5, 9),
            rng.randint(1, 2),
        )
        # The commune rearrangement (TCBM-01): most districts were done before 2024, all by 2024-Q4.
        p.done_at["TCBM-01"] = 0 if rng.random() < 0.6 else rng.randint(1, 3)
    else:
        median = 380 if unit.kind == Kind.WARD else 110 if district in HIGHLAND else 210
        p.dossiers, p.staff = _between(rng, *DOSSIERS[level], median), rng.randint(20, 23)
        p.records = _between(rng, 150, 700, 300, 0.35)
    p.done_at["TCC-02"] = 0 if rng.random() < 0.7 else rng.randint(1, 2)
    commune = level == Level.COMMUNE
    p.shares = {
        "TTHC-03": rng.uniform(0.3, 0.5) if commune else rng.uniform(0.25, 0.5),  # moved between agencies
        "TTHC-05": rng.uniform(0.35, 0.55) if commune else rng.uniform(0.35, 0.6),  # with fees to pay
        "TTHC-12": rng.uniform(0.35, 0.6),  # with documents the state already holds
        "CQS-03": rng.uniform(1.05, 1.3),  # transactions on the portals
    }
    declining = set()
    if rng.random() < 0.05 and not p.demo:
        declining = set(rng.sample(CAN_DECLINE, rng.randint(2, 3)))
    # The demo accounts' units stay close to their overall standing: what they show is their
    # level, not one odd target.
    stray = 0.5 if p.demo else 9.0
    for code, trend in TRENDS_2021.items():
        p.offsets[code] = max(-stray, min(stray, rng.gauss(0, trend.scatter)))
        if rng.random() < trend.lacking and not p.demo:
            p.offsets[code] -= trend.lag / trend.spread
        p.paces[code] = trend.pace * rng.uniform(0.5, 1.5)
        if code in declining:
            p.paces[code] = -rng.uniform(1.2, 2.2) * (0.6 if code in ("TTHC-09", "TCBM-04") else 1)
    return p


def _draws(p: Profile, code: str, trend: Trend) -> tuple[float, float]:
    """The unit's offset and pace on a target: drawn with its profile for the 2021-2025 targets
    (and carried through mergers), drawn here, for this very unit, for a target new in 2026-2030:
    a series that begins in 2026 owes nothing to the units a commune was made of."""
    if code not in p.offsets:
        rng = seeded_rng("standing", p.code, code)
        stray = 0.5 if p.demo else 9.0
        offset = max(-stray, min(stray, rng.gauss(0, trend.scatter)))
        if rng.random() < trend.lacking and not p.demo:
            offset -= trend.lag / trend.spread
        p.offsets[code], p.paces[code] = offset, trend.pace * rng.uniform(0.5, 1.5)
    return p.offsets[code], p.paces[code]


def _static(p: Profile, code: str, trend: Trend) -> float:
    """How far the unit stands past a typical one on a target, its pace aside: its skill (weak
    units fall further), its own offset, the drag of a big desk, its level. A unit made by a
    merger stands where its parts stood together (their figures added up are its history)."""
    if code in p.standing:
        return p.standing[code]
    offset, _pace = _draws(p, code, trend)
    skill = p.skill * (trend.fall if p.skill < 0 else 1)
    static = trend.spread * (skill + offset)
    if trend.drag and p.dossiers:
        static -= trend.drag * max(0.0, math.log(p.dossiers / (TYPICAL_DOSSIERS[p.level] * p.scale)))
    return static + (trend.big if p.level != Level.COMMUNE else 0) - trend.remote * p.remote


def _weighted(parts: list[tuple[Profile, float]], value, weights: list[float]) -> float:
    return sum(value(p) * k for (p, _w), k in zip(parts, weights, strict=True)) / sum(weights)


def _cap(level: str, sizes: dict[str, float], scale: float) -> dict[str, float]:
    """Sizes rounded as counts, within what a desk of the level (and of its scale) handles."""
    sizes = {name: value if name in ("dossiers", "records") else round(value) for name, value in sizes.items()}
    if level == Level.DEPARTMENT:
        sizes["procedures"] = min(sizes["procedures"], PROCEDURES[Level.DEPARTMENT][1])
        sizes["dossiers"] = min(sizes["dossiers"], DOSSIERS[Level.DEPARTMENT][1])
    else:
        sizes["dossiers"] = min(sizes["dossiers"], DOSSIERS[level][1] * scale)
    return sizes


def _absorb(profile: Profile, parts: list[tuple[Profile, float]]) -> Profile:
    """A unit that continues and takes others in: its own standing, its parts' sizes added by the
    share of each handed over."""
    scale = profile.scale + sum(p.scale * w for p, w in parts)
    sizes = {name: getattr(profile, name) + sum(getattr(p, name) * w for p, w in parts) for name in SIZES}
    return replace(profile, scale=scale, **_cap(profile.level, sizes, scale))


def _derive(profile: Profile, parts: list[tuple[Profile, float]]) -> Profile:
    """A unit made by a reorganisation: its predecessors' sizes added by the share each handed
    on; their skill, offsets, paces and shares averaged by the dossiers each brought, so that its
    figures carry on where theirs stood. A one-off task is done once every part has done it."""
    weights = [max(p.dossiers, 1.0) * w for p, w in parts]
    scale = sum(p.scale * w for p, w in parts)
    sizes = {name: sum(getattr(p, name) * w for p, w in parts) for name in SIZES}
    codes = {code for p, _w in parts for code in p.offsets}
    trend = {code: TRENDS.get(code, DEFAULT_TREND) for code in codes}
    return replace(
        profile,
        skill=_weighted(parts, lambda p: p.skill, weights),
        scale=scale,
        remote=_weighted(parts, lambda p: p.remote, weights),
        meetings=_weighted(parts, lambda p: p.meetings, weights),
        shares={
            code: _weighted(parts, lambda p, c=code: p.shares.get(c, profile.shares.get(c, 0.0)), weights)
            for code in {c for p, _w in parts for c in p.shares}
        },
        done_at={code: max(p.done_at.get(code, 0) for p, _w in parts) for code in profile.done_at},
        offsets={code: _weighted(parts, lambda p, c=code: p.offsets.get(c, 0.0), weights) for code in codes},
        paces={code: _weighted(parts, lambda p, c=code: p.paces.get(c, trend[c].pace), weights) for code in codes},
        standing={code: _weighted(parts, lambda p, c=code: _static(p, c, trend[c]), weights) for code in codes},
        **_cap(profile.level, sizes, scale),
    )


def _demo_family(units: list[Unit], incoming: dict[int, list]) -> dict[int, float]:
    """The demo accounts' units and every unit they descend from, with the standing they share."""
    family: dict[int, float] = {}
    stack = [(u.pk, DEMO_SKILL[u.code]) for u in units if u.code in DEMO_SKILL]
    while stack:
        pk, skill = stack.pop()
        if pk in family:
            continue
        family[pk] = skill
        stack.extend((predecessor, skill) for predecessor, _w, _d in incoming.get(pk, []))
    return family


def unit_profiles(units: list[Unit]) -> dict[int, list[tuple[dt.date, Profile]]]:
    """Each unit's profiles from the day each applies, latest first. A unit made by a merger (a
    department of 1/3/2025, a commune of 1/1/2025 or of 1/7/2025) starts as its predecessors
    combined; one that continues and absorbs others grows on the day it does."""
    communes: dict[int, int] = defaultdict(int)
    for unit in units:
        if unit.level == Level.COMMUNE:
            communes[unit.parent_id] += 1
    by_pk = {u.pk: u for u in units}
    incoming: dict[int, list[tuple[int, float, dt.date]]] = defaultdict(list)
    links = SuccessionLink.objects.filter(successor__in=units, predecessor__in=units).select_related("event")
    for link in links.order_by("event__effective_date", "pk"):
        incoming[link.successor_id].append((link.predecessor_id, float(link.weight), link.event.effective_date))
    family = _demo_family(units, incoming)
    base = {u.pk: _profile(u, communes[u.pk], family.get(u.pk)) for u in units}
    start = dt.date.min
    profiles: dict[int, list[tuple[dt.date, Profile]]] = {}

    def build(pk: int, seen: frozenset = frozenset()) -> list[tuple[dt.date, Profile]]:
        if pk in profiles:
            return profiles[pk]
        unit, history = by_pk[pk], [(start, base[pk])]
        days = sorted({day for *_rest, day in incoming.get(pk, [])})
        for day in days:
            parts = [
                (build(p, seen | {pk})[0][1], w) for p, w, d in incoming[pk] if d == day and p not in seen and p != pk
            ]
            if not parts:
                continue
            current = history[-1][1]
            if unit.valid_from >= day and len(history) == 1:  # made by it: nothing of its own before
                history = [(start, _derive(current, parts))]
            else:
                history.append((day, _absorb(current, parts)))
        profiles[pk] = history[::-1]
        return profiles[pk]

    for unit in units:
        build(unit.pk)
    return profiles


def profile_on(profiles: dict, unit: Unit, day: dt.date) -> Profile:
    return next(profile for since, profile in profiles[unit.pk] if since <= day)


def descends_from(unit: Unit, codes: set[str], links: dict[int, list[int]], units: dict[int, Unit]) -> bool:
    """Whether `unit`, or a unit it was made of (through the succession links, predecessor ids by
    successor id), had a code in `codes` or sat under a unit that had: how the new communes of
    the old western districts are found."""
    stack, seen = [unit.pk], set()
    while stack:
        pk = stack.pop()
        if pk in seen or pk not in units:
            continue
        seen.add(pk)
        node = units[pk]
        if node.code in codes or (node.parent_id in units and units[node.parent_id].code in codes):
            return True
        stack.extend(links.get(pk, []))
    return False


# --- What a figure is drawn around ----------------------------------------------------------------


@dataclass(frozen=True)
class Aim:
    """What a unit's figure on a target is drawn around: the trend of its `story` (the first
    target of the series it belongs to: a target continued into 2026-2030 carries on the one it
    continues), the `line` that trend stands around at its `anchor` quarter and, for a continued
    target, the `bar` of the new programme that units short of it catch up with from the
    target's first quarter (`since`) on."""

    story: str
    line: float
    anchor: int
    bar: float | None = None
    since: int = 0
    lower: bool = False  # met by going down: the trend runs the other way


def _step_of_year(year: int) -> int:
    key = f"{year}-Q1"
    return DEMO_QUARTERS.index(key) if key in DEMO_QUARTERS else 0


def _anchor(target: Target) -> int:
    return ANCHOR if target.first_year < NEW_PROGRAMME_YEAR else NEW_ANCHOR


def threshold_line(resolver: ThresholdResolver, target: Target, level: str, year: int) -> float:
    threshold = resolver.resolve(target.pk, level, year)
    return 80.0 if threshold is None else float(threshold)


def target_aim(resolver: ThresholdResolver, target: Target, root: Target, level: str) -> Aim:
    """Units are drawn around the line of their series' anchor year in every quarter: their pace
    carries them. A continued target keeps its series' line (its figures continue the 2025
    level) and holds the unit to the new bar; a new one stands around its own first line. `root`
    is the first target of the series (the target itself when it continues none)."""
    lower = target.direction == Direction.LOWER
    since = _step_of_year(target.first_year)
    if root.pk != target.pk and root.applies_to(level):
        anchor = _anchor(root)
        line = threshold_line(resolver, root, level, int(DEMO_QUARTERS[anchor][:4]))
        bar = threshold_line(resolver, target, level, max(target.first_year, NEW_PROGRAMME_YEAR))
        return Aim(root.code, line, anchor, bar, since, lower)
    anchor = _anchor(target)
    line = threshold_line(resolver, target, level, max(target.first_year, int(DEMO_QUARTERS[anchor][:4])))
    return Aim(target.code, line, anchor, since=since, lower=lower)


# --- Figures --------------------------------------------------------------------------------------


@dataclass
class Quarter:
    """A unit in one quarter: what its counts are sized from, and the figures made so far."""

    profile: Profile
    step: int
    quarter: int
    rng: random.Random
    volume: int = 0  # dossiers received
    lists: tuple[int, int, int, int] = (0, 0, 0, 0)  # procedures, eligible online, with fees, services
    made: dict[str, dict] = field(default_factory=dict)  # by the series' first target


# What each count-based target counts, from the unit's size in the quarter, by the first target
# of its series. Figures that depend on one another agree: TTHC-07 counts the procedures TTHC-06
# says are online, TCC-01 the public-service units TCBM-02 says are left (codes are filled in
# order). A target this does not name counts the dossiers received.
COUNTS = {
    "TTHC-01": lambda q: round(q.profile.procedures * 0.9),  # business regulations at 31/5/2020
    "TTHC-02": lambda q: round(q.profile.dossiers * 4.2),  # their compliance cost, million đồng a year
    "TTHC-03": lambda q: q.volume * q.profile.shares["TTHC-03"],
    "TTHC-04": lambda q: q.lists[2],
    "TTHC-05": lambda q: q.volume * q.profile.shares["TTHC-05"],
    "TTHC-06": lambda q: q.lists[1],
    "TTHC-07": lambda q: q.made.get("TTHC-06", {}).get("numerator") or q.lists[1],
    "TTHC-08": lambda q: q.volume,
    "TTHC-11": lambda q: q.profile.internal,
    "TTHC-12": lambda q: q.volume * q.profile.shares["TTHC-12"],
    "TCBM-02": lambda q: q.profile.psus,
    "TCBM-03": lambda q: q.profile.psu_staff,
    "TCC-01": lambda q: q.made.get("TCBM-02", {}).get("numerator") or q.profile.psus,
    "TCC-02": lambda q: q.profile.convertible,
    "CV-01": lambda q: q.profile.staff,
    "CQS-01": lambda q: q.profile.systems,
    "CQS-02": lambda q: q.lists[3],
    "CQS-03": lambda q: q.volume * q.profile.shares["CQS-03"],
    "CQS-04": lambda q: q.profile.meetings * q.rng.uniform(0.7, 1.3),
    "CQS-05": lambda q: q.profile.records * SEASON[q.quarter] * q.rng.uniform(0.9, 1.1),
    # Legal documents issued in the quarter: a department's handful, a commune's one to a few.
    "TC-26-01": lambda q: _documents(q),
    "CQS-26-01": lambda q: PLATFORMS[q.profile.level],
}


def _documents(q: Quarter) -> int:
    if q.profile.level == Level.DEPARTMENT:
        return q.rng.randint(3, 12)
    return q.rng.randint(1, 3) + round(q.profile.scale / 2)


# Counted in whole public-service units: a sound department with three of them has merged or
# made autonomous at least one, whatever a percentage of three rounds to.
WHOLE_UNITS = {"TCBM-02", "TCC-01"}


def _ahead(p: Profile, trend: Trend, aim: Aim, step: int) -> float:
    """How far the unit stands past its series' line in a quarter, before the quarter's wobble."""
    _offset, pace = _draws(p, aim.story, trend)
    ahead = trend.headroom + _static(p, aim.story, trend) + pace * (step - aim.anchor)
    if aim.bar is not None and pace > 0 and step >= aim.since:
        ahead += NEW_PACE * (step - aim.since + 1)
    return ahead


def _rate(q: Quarter, aim: Aim) -> float:
    """The unit's rate on a target in the quarter: its standing against the line, moved by its
    pace, and by its catching up when the new programme raised the bar above where it stood."""
    p, trend = q.profile, TRENDS.get(aim.story, DEFAULT_TREND)
    ahead = _ahead(p, trend, aim, q.step)
    if aim.bar is not None and q.step >= aim.since:
        # Where the unit stood when the programme changed, against the new bar.
        before = aim.line + _ahead(p, trend, aim, aim.since - 1) * (-1 if aim.lower else 1)
        before = max(0.0, min(trend.top, before))
        short = before - aim.bar if aim.lower else aim.bar - before
        if short > -CATCH_UP_MARGIN:
            gain = min(short + CATCH_UP_MARGIN, CATCH_UP * (q.step - aim.since + 1))
            ahead += gain
    ahead += q.rng.gauss(0, trend.noise) if trend.noise else 0
    value = aim.line - ahead if aim.lower else aim.line + ahead
    return min(trend.top, max(0.0, value))


def _done_at(p: Profile, code: str, first: int) -> int:
    """The quarter a one-off task new in a programme is done: most units within its first
    quarters, the weaker ones later."""
    if code not in p.done_at:
        rng = seeded_rng("done", p.code, code)
        delay = rng.choices([0, 1, 2, 3, 5], [45, 30, 15, 7, 3])[0] + (p.skill < -0.3) + p.weak
        p.done_at[code] = first + delay
    return p.done_at[code]


def commune_lists(period) -> tuple[int, int, int, int]:
    if period.end >= TWO_TIER_FROM:
        return TWO_TIER_LISTS[min(period.year, max(TWO_TIER_LISTS))]
    return COMMUNE_LISTS[min(period.year, max(COMMUNE_LISTS))]


def quarter_figures(profile: Profile, targets, aims: dict[str, Aim], period, step: int) -> dict[str, dict]:
    """The unit's figures for the quarter, by target code: counts sized to the unit, rates from
    its trend against its series' line (the years before asked less, 2026 asks more)."""
    q = Quarter(profile, step, period.quarter, seeded_rng("figures", profile.code, period.key))
    low, high = DOSSIERS[profile.level]
    high *= profile.scale if profile.level != Level.DEPARTMENT else 1
    volume = profile.dossiers * SEASON[period.quarter] * 1.03 ** (step - ANCHOR) * q.rng.uniform(0.93, 1.07)
    q.volume = round(min(high, max(low, volume)))
    if profile.level == Level.COMMUNE:
        q.lists = commune_lists(period)
    else:
        grown = 1.04 if period.year >= 2025 else 1.0  # the 2025 lists added a few procedures
        procedures = min(PROCEDURES[profile.level][1], round(profile.procedures * grown))
        q.lists = (procedures, round(procedures * 0.86), round(procedures * 0.28), round(profile.services * grown))
    made = {}
    for target in targets:
        code, measure, aim = target.code, target.measure, aims[target.code]
        story = aim.story
        base = max(1, round(COUNTS.get(story, lambda q: q.volume)(q)))
        if story in profile.done_at or (measure == Measure.BOOLEAN and story not in TRENDS):
            done = int(step >= _done_at(profile, story, aim.since))
            values = {"value": Decimal(done)} if measure == Measure.BOOLEAN else {"numerator": base - 1 + done}
        elif measure == Measure.RATIO:
            share = round(base * _rate(q, aim) / 100)
            values = {"numerator": min(base, max(share, int(story in WHOLE_UNITS and not profile.weak)))}
        elif measure == Measure.REDUCTION:
            cut = round(base * _rate(q, aim) / 100)
            values = {"numerator": max(0, base - max(cut, int(story in WHOLE_UNITS and not profile.weak)))}
        elif measure == Measure.PERCENT:
            values = {"value": Decimal(str(round(_rate(q, aim), 1)))}
        elif measure == Measure.BOOLEAN:
            values = {"value": Decimal(1)}
        else:
            values = {"value": Decimal(round(_rate(q, aim)))}
        if "numerator" in values:
            values["denominator"] = base
        q.made[story] = made[code] = values
    return made


def oddity(kind: str, values: dict) -> dict:
    if kind == "tiny":
        return {"numerator": 4, "denominator": 4}
    share = 0 if kind == "zero" else 0.97
    return {"numerator": round(values["denominator"] * share), "denominator": values["denominator"]}


def pick_oddities(units: list[Unit], profiles: dict, stories: dict[str, set[str]]) -> dict[int, tuple[str, str, str]]:
    """The units that send one odd figure in the featured quarter, by the series it is on: none
    of them a demo account's, nor a unit that just took others in (whose figures move for a
    reason). `stories` are the series each level reports that quarter."""
    rng, chosen = seeded_rng("oddities"), {}
    for level, story, kind, note in ODDITIES:
        if story not in stories.get(level, ()):
            continue
        pool = [
            u
            for u in units
            if u.level == level and u.pk not in chosen and u.code not in DEMO_UNITS and len(profiles[u.pk]) == 1
        ]
        if kind == "tiny":  # a small unit: its payments are few enough to be all online
            pool = [u for u in pool if profiles[u.pk][-1][1].dossiers < 120 * profiles[u.pk][-1][1].scale] or pool
        if pool:
            chosen[rng.choice(pool).pk] = (story, kind, note)
    return chosen
