"""The demo province's story: who each unit is (its size, its skill, its trend) and the figures
it reports quarter by quarter."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from targets.models import Measure
from units.models import Kind, Level, SuccessionLink, Unit

DEMO_QUARTERS = ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
OPEN_QUARTER = DEMO_QUARTERS[-1]
# The quarter figures are drawn around: a unit's standing there, its pace before and after.
ANCHOR = DEMO_QUARTERS.index("2025-Q1")
# Units whose reports the demo accounts work on: left as a draft to fill, and one sent for review.
DRAFT_UNIT, SUBMITTED_UNIT = "429", "425"
DEMO_UNITS = (DRAFT_UNIT, SUBMITTED_UNIT, "412")  # with the steering member's city
SEED = "cchc-demo-2025"

# Dossiers received a quarter and procedures handled, by level.
DOSSIERS = {Level.DEPARTMENT: (300, 8000), Level.DISTRICT: (800, 5000), Level.COMMUNE: (50, 600)}
PROCEDURES = {Level.DEPARTMENT: (80, 250), Level.DISTRICT: (200, 280), Level.COMMUNE: (100, 120)}
# Communes share the province's commune-level lists; the 2025 lists came out in the first quarter.
COMMUNE_LISTS = {  # year: (procedures, eligible for level 3-4, with fees, popular online services)
    2024: (106, 88, 24, 18),
    2025: (112, 93, 26, 21),
}
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
SIZES = ("dossiers", "procedures", "services", "internal", "systems", "psus", "psu_staff", "records", "convertible")


@dataclass(frozen=True)
class Trend:
    """How units stand on a target in the anchor quarter: a typical unit `headroom` points above
    its 2025 threshold, units `spread` points apart per unit of skill (weak units `fall` times
    further), each straying `scatter` from its skill on this target, gaining `pace` points a
    quarter. Flows and surveys wobble by `noise`; desks above the typical size lose `drag`
    points per e-fold; departments and districts stand `big` points off the communes; a share
    `lacking` of units still lacks what the target needs (here: civil-status books digitised)
    and stands `lag` points lower. Big desks and the units still lacking are why a province can
    miss a target most of its units meet."""

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


# A pace above a point or two a quarter would look like a jump to the engine's outlier test.
TRENDS = {
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
DEFAULT_TREND = Trend(8, 5, 1.0, noise=1.0)
# Targets a unit can slide on (flows and surveys; a count of procedures does not shrink).
CAN_DECLINE = ["TTHC-03", "TTHC-05", "TTHC-08", "TTHC-12", "CQS-05", "TTHC-09", "TCBM-04"]

RETURN_REASONS = [
    "Số liệu mẫu số chưa khớp với Hệ thống thông tin giải quyết TTHC của tỉnh, đề nghị rà soát lại.",
    "Thiếu tài liệu kiểm chứng cho chỉ tiêu thanh toán trực tuyến, đề nghị bổ sung.",
    "Số thủ tục hành chính chưa khớp với danh mục đã được Chủ tịch UBND tỉnh công bố.",
    "Tỷ lệ hồ sơ trực tuyến tăng đột biến so với quý trước, đề nghị giải trình và gửi kèm số liệu trích xuất.",
]
# Figures the engine should question, in the anchor quarter: (level, target, what, the unit's note).
ODDITIES = [
    (Level.COMMUNE, "TTHC-05", "tiny", "Chỉ tính các giao dịch qua Cổng dịch vụ công quốc gia."),
    (Level.COMMUNE, "TTHC-08", "jump", "Đã tính cả hồ sơ nộp trực tuyến một phần."),
    (Level.COMMUNE, "CQS-05", "jump", "Tính cả văn bản đến được số hóa."),
    (Level.COMMUNE, "TTHC-03", "zero", "Hệ thống một cửa điện tử gián đoạn trong tháng 2."),
    (Level.DISTRICT, "TTHC-12", "jump", "Số liệu tổng hợp thủ công."),
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
    shares: dict[str, float] = field(default_factory=dict)  # the part of the dossiers a flow counts
    done_at: dict[str, int] = field(default_factory=dict)  # the quarter a one-off task was done
    offsets: dict[str, float] = field(default_factory=dict)
    paces: dict[str, float] = field(default_factory=dict)

    @property
    def weak(self) -> bool:
        return self.skill < -1.0


def _skill(rng: random.Random, unit: Unit, district: str) -> float:
    """Most units are sound; about one in fifteen is weak. The highlands lean weak, the towns strong."""
    skill = rng.gauss(-1.75, 0.4) if rng.random() < 0.07 else rng.gauss(0.5, 0.4)
    skill += -0.4 if district in HIGHLAND else 0.2 if district in URBAN else 0.0
    # Nghi Lộc, whose head logs in, is middling: a rank mid-table and work to do.
    return {DRAFT_UNIT: 0.2, SUBMITTED_UNIT: 0.45, "412": 0.6}.get(unit.code, skill)


def _between(rng: random.Random, low: float, high: float, median: float, sigma: float = 0.45) -> float:
    return min(high, max(low, median * math.exp(rng.gauss(0, sigma))))


def _profile(unit: Unit, communes: int) -> Profile:
    rng = seeded_rng("unit", unit.code)
    level = unit.level
    district = unit.parent.code if level == Level.COMMUNE and unit.parent else unit.code
    p = Profile(code=unit.code, level=level, skill=_skill(rng, unit, district))
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
    if rng.random() < 0.05 and unit.code not in DEMO_UNITS:
        declining = set(rng.sample(CAN_DECLINE, rng.randint(2, 3)))
    # The demo accounts' units stay close to their overall standing: what they show is their
    # level, not one odd target.
    stray = 0.5 if unit.code in DEMO_UNITS else 9.0
    for code, trend in TRENDS.items():
        p.offsets[code] = max(-stray, min(stray, rng.gauss(0, trend.scatter)))
        if rng.random() < trend.lacking and unit.code not in DEMO_UNITS:
            p.offsets[code] -= trend.lag / trend.spread
        p.paces[code] = trend.pace * rng.uniform(0.5, 1.5)
        if code in declining:
            p.paces[code] = -rng.uniform(1.2, 2.2) * (0.6 if code in ("TTHC-09", "TCBM-04") else 1)
    return p


def _absorb(profile: Profile, parts: list[tuple[Profile, float]]) -> Profile:
    """`profile` with its parts' sizes added, by the share of each handed over."""
    sizes = {name: getattr(profile, name) + sum(getattr(p, name) * w for p, w in parts) for name in SIZES}
    sizes = {name: value if name in ("dossiers", "records") else round(value) for name, value in sizes.items()}
    sizes["procedures"] = min(sizes["procedures"], PROCEDURES[Level.DEPARTMENT][1])
    sizes["dossiers"] = min(sizes["dossiers"], DOSSIERS[Level.DEPARTMENT][1])
    return replace(profile, **sizes)


def unit_profiles(units: list[Unit]) -> dict[int, list[tuple[dt.date, Profile]]]:
    """Each unit's profiles from the day each applies, latest first: a department made by the
    1/3/2025 merger starts as the sum of its predecessors; one that absorbs another grows then."""
    communes: dict[int, int] = {}
    for unit in units:
        if unit.level == Level.COMMUNE:
            communes[unit.parent_id] = communes.get(unit.parent_id, 0) + 1
    by_pk = {u.pk: u for u in units}
    start = dt.date.min
    profiles = {u.pk: [(start, _profile(u, communes.get(u.pk, 0)))] for u in units}
    parts: dict[int, list[tuple[int, float, dt.date]]] = {}
    links = SuccessionLink.objects.filter(successor__in=units, predecessor__in=units).select_related("event")
    for link in links.order_by("pk"):
        day = link.event.effective_date
        parts.setdefault(link.successor_id, []).append((link.predecessor_id, float(link.weight), day))
    for pk, incoming in parts.items():
        unit = by_pk[pk]
        if unit.level != Level.DEPARTMENT:
            continue  # communes merged on 1/7/2025 report after the demo's quarters
        day = min(d for *_rest, d in incoming)
        own = profiles[pk][0][1]
        if unit.valid_from >= day:  # made by the merger: nothing of its own before it
            own = replace(own, **dict.fromkeys(SIZES, 0))
        merged = _absorb(own, [(profiles[p][-1][1], w) for p, w, _d in incoming])
        profiles[pk] = [(start, merged)] if unit.valid_from >= day else [(day, merged), (start, profiles[pk][0][1])]
    return profiles


def profile_on(profiles: dict, unit: Unit, day: dt.date) -> Profile:
    return next(profile for since, profile in profiles[unit.pk] if since <= day)


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
    made: dict[str, dict] = field(default_factory=dict)


# What each count-based target counts, from the unit's size in the quarter. Figures that depend
# on one another agree: TTHC-07 counts the procedures TTHC-06 says are online, TCC-01 the
# public-service units TCBM-02 says are left (codes are filled in order).
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
}


# Counted in whole public-service units: a sound department with three of them has merged or
# made autonomous at least one, whatever a percentage of three rounds to.
WHOLE_UNITS = {"TCBM-02", "TCC-01"}


def _rate(q: Quarter, code: str, line: float) -> float:
    """The unit's rate on a target in the quarter: its standing against `line`, moved by its pace."""
    p, trend = q.profile, TRENDS.get(code, DEFAULT_TREND)
    skill = p.skill * (trend.fall if p.skill < 0 else 1)
    value = line + trend.headroom + trend.spread * (skill + p.offsets.get(code, 0))
    if trend.drag and p.dossiers:
        value -= trend.drag * max(0.0, math.log(p.dossiers / TYPICAL_DOSSIERS[p.level]))
    value += trend.big if p.level != Level.COMMUNE else 0
    value += p.paces.get(code, trend.pace) * (q.step - ANCHOR) + (q.rng.gauss(0, trend.noise) if trend.noise else 0)
    return min(trend.top, max(0.0, value))


def quarter_figures(profile: Profile, targets, lines: dict[str, float], period, step: int) -> dict[str, dict]:
    """The unit's figures for the quarter, by target code: counts sized to the unit, rates from
    its trend against the 2025 line (the years before asked less)."""
    q = Quarter(profile, step, period.quarter, seeded_rng("figures", profile.code, period.key))
    low, high = DOSSIERS[profile.level]
    volume = profile.dossiers * SEASON[period.quarter] * 1.03 ** (step - ANCHOR) * q.rng.uniform(0.93, 1.07)
    q.volume = round(min(high, max(low, volume)))
    if profile.level == Level.COMMUNE:
        q.lists = COMMUNE_LISTS[min(period.year, 2025)]
    else:
        grown = 1.04 if period.year >= 2025 else 1.0  # the 2025 lists added a few procedures
        procedures = min(PROCEDURES[profile.level][1], round(profile.procedures * grown))
        q.lists = (procedures, round(procedures * 0.86), round(procedures * 0.28), round(profile.services * grown))
    for target in targets:
        code, measure = target.code, target.measure
        base = max(1, round(COUNTS.get(code, lambda q: q.volume)(q)))
        if code in profile.done_at:  # a one-off task, done from a quarter on
            done = int(step >= profile.done_at[code])
            values = {"value": Decimal(done)} if measure == Measure.BOOLEAN else {"numerator": base - 1 + done}
        elif measure == Measure.RATIO:
            share = round(base * _rate(q, code, lines[code]) / 100)
            values = {"numerator": min(base, max(share, int(code in WHOLE_UNITS and not profile.weak)))}
        elif measure == Measure.REDUCTION:
            cut = round(base * _rate(q, code, lines[code]) / 100)
            values = {"numerator": max(0, base - max(cut, int(code in WHOLE_UNITS and not profile.weak)))}
        elif measure == Measure.PERCENT:
            values = {"value": Decimal(str(round(_rate(q, code, lines[code]), 1)))}
        elif measure == Measure.BOOLEAN:
            values = {"value": Decimal(1)}
        else:
            values = {"value": Decimal(round(_rate(q, code, lines[code])))}
        if "numerator" in values:
            values["denominator"] = base
        q.made[code] = values
    return q.made


def oddity(kind: str, values: dict) -> dict:
    if kind == "tiny":
        return {"numerator": 4, "denominator": 4}
    share = 0 if kind == "zero" else 0.97
    return {"numerator": round(values["denominator"] * share), "denominator": values["denominator"]}


def pick_oddities(units: list[Unit], profiles: dict) -> dict[int, tuple[str, str, str]]:
    """The units that send one odd figure in the anchor quarter: none of them a demo account's, nor
    a department just merged (whose figures move for a reason)."""
    rng, chosen = seeded_rng("oddities"), {}
    for level, code, kind, note in ODDITIES:
        pool = [
            u
            for u in units
            if u.level == level and u.pk not in chosen and u.code not in DEMO_UNITS and len(profiles[u.pk]) == 1
        ]
        if kind == "tiny":  # a small commune: its payments are few enough to be all online
            pool = [u for u in pool if profiles[u.pk][-1][1].dossiers < 120] or pool
        if pool:
            chosen[rng.choice(pool).pk] = (code, kind, note)
    return chosen
