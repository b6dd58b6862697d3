"""Results across programmes, against answers worked out by hand: a continued target's series runs
from 2025 into 2026, and projections aim at the end of the target's own programme."""

from decimal import Decimal

import pytest
from django.utils.translation import gettext as _

from attainment import engine
from attainment.engine import period_recompute
from attainment.models import LaggardFlag, LaggardReason, Status
from attainment.tests.test_engine import report, result
from reports.periods import period_create
from targets.tests.factories import ProgrammeFactory, TargetFactory, threshold

pytestmark = pytest.mark.django_db

NEW_LEVELS = {"for_province": True, "for_department": True, "for_district": False, "for_commune": True}


@pytest.fixture
def programmes(db):
    old = ProgrammeFactory(code="2021-2025", first_year=2021, last_year=2025, closed=True)
    new = ProgrammeFactory(code="2026-2030", name="Kế hoạch CCHC trọng tâm", first_year=2026, last_year=2030)
    return old, new


@pytest.fixture
def online(programmes):
    """TTHC-08 (2021-2025, 50%) carried on by TTHC-26-02 (2026-2030: 50% from 2026, 80% from 2028;
    departments 90% from 2028), and TTHC-26-03, new in 2026, continuing nothing."""
    old, new = programmes
    before = TargetFactory(code="TTHC-08", programme=old, last_year=None)  # to the programme's end
    threshold(before, "50")
    after = TargetFactory(
        code="TTHC-26-02", programme=new, first_year=2026, last_year=None, continues=before, **NEW_LEVELS
    )
    threshold(after, "50", from_year=2026)
    threshold(after, "80", from_year=2028)
    threshold(after, "90", level="department", from_year=2028)
    fresh = TargetFactory(code="TTHC-26-03", programme=new, first_year=2026, last_year=None, **NEW_LEVELS)
    threshold(fresh, "98", from_year=2026)
    return before, after, fresh


def run(*keys: str):
    """Create and compute the quarters in order; the last one."""
    periods = [period_create(key=key) for key in keys]
    for period in periods:
        period_recompute(period)
    return periods[-1]


# --- (i) One series from 2025 into 2026 -----------------------------------------------------------


def test_the_first_2026_quarter_reads_2025_on_the_target_it_continues(tree, online, commune_a1):
    before, after, fresh = online
    q3, q4, q1 = period_create(key="2025-Q3"), period_create(key="2025-Q4"), period_create(key="2026-Q1")
    report(commune_a1, q3, TTHC_08=(60, 100))  # 60%
    report(commune_a1, q4, TTHC_08=(64, 100))  # 64%
    report(commune_a1, q1, TTHC_26_02=(70, 100), TTHC_26_03=(99, 100))  # 70%, 99%
    for period in (q3, q4, q1):
        period_recompute(period)

    inputs = engine.load(q1)
    # 2025-Q3 and 2025-Q4 are indices 2025 * 4 + 3 = 8103 and 8104.
    assert inputs.history[(commune_a1.pk, after.pk)] == [(8103, Decimal("60.0000")), (8104, Decimal("64.0000"))]
    assert (commune_a1.pk, fresh.pk) not in inputs.history  # a target continuing nothing starts afresh
    row = result(q1, commune_a1, "TTHC-26-02")
    assert (row.value, row.change, row.threshold) == (Decimal("70"), Decimal("6"), Decimal("50"))  # 70 - 64
    # The line through (8103, 60), (8104, 64), (8105, 70) rises 5 a quarter: past 100% by 2030, so 100.
    assert row.projection == Decimal("100")
    new = result(q1, commune_a1, "TTHC-26-03")
    assert (new.value, new.change, new.projection) == (Decimal("99"), None, None)
    # The history the judgement reads for declines and outliers is the same series.
    judged = {r.target_id: r for r in engine.judge_all(inputs, {}) if r.unit_id == commune_a1.pk}
    assert judged[after.pk].history == [Decimal("60"), Decimal("64")] and judged[fresh.pk].history == []


def test_worse_two_quarters_running_across_the_programmes(tree, online, commune_a1):
    for key, code, numerator in (("2025-Q3", "TTHC_08", 95), ("2025-Q4", "TTHC_08", 93), ("2026-Q1", "TTHC_26_02", 91)):
        report(commune_a1, period_create(key=key), **{code: (numerator, 100)})
    q1 = run("2025-Q3", "2025-Q4", "2026-Q1")
    flag = LaggardFlag.objects.get(period=q1, unit=commune_a1)
    assert {"code": "declining", "tier": "warning", "targets": ["TTHC-26-02"], "count": 1} in flag.reasons


def test_an_unlinked_target_has_no_history_even_with_the_same_measure(tree, online, commune_a1):
    before, after, _fresh = online
    after.continues = None
    after.save()
    report(commune_a1, period_create(key="2025-Q4"), TTHC_08=(64, 100))
    report(commune_a1, period_create(key="2026-Q1"), TTHC_26_02=(70, 100))
    q1 = run("2025-Q4", "2026-Q1")
    assert result(q1, commune_a1, "TTHC-26-02").change is None
    assert engine.load(q1).history.get((commune_a1.pk, after.pk)) is None


# --- (ii) Projections aim at 2030 -----------------------------------------------------------------


def test_a_2026_2030_projection_is_held_against_the_2030_threshold_on_both_sides(
    tree, online, commune_a1, commune_a2, dept, settings
):
    settings.LAGGARD_MIN_MISSED = 99  # only the reasons this test is about
    # 2026-Q1..Q4 are indices 8105..8108 (mean 8106,5); 2030-Q4 is 2030 * 4 + 4 = 8124, 17,5 later.
    # Nghi Phong 61, 62, 63, 64: slope 1 a quarter, mean 62,5 -> 62,5 + 17,5 = 80,0: just meets 80.
    # Quán Hành 60,9 ... 63,9: mean 62,4 -> 79,9: just misses 80.
    # Sở Nội vụ, the same series as Nghi Phong: 80,0 against its own 2030 line, 90: misses.
    keys = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
    for i, key in enumerate(keys):
        period = period_create(key=key)
        report(commune_a1, period, TTHC_26_02=(61 + i, 100), TTHC_26_03=(99, 100))
        report(commune_a2, period, TTHC_26_02=(609 + 10 * i, 1000), TTHC_26_03=(99, 100))
        report(dept, period, TTHC_26_02=(61 + i, 100), TTHC_26_03=(99, 100))
    q4 = run(*keys)

    met = result(q4, commune_a1, "TTHC-26-02")
    assert (met.value, met.threshold, met.projection, met.status) == (Decimal(64), Decimal(50), Decimal(80), Status.MET)
    missed = result(q4, commune_a2, "TTHC-26-02")
    assert (missed.value, missed.projection, missed.status) == (Decimal("63.9"), Decimal("79.9"), Status.AT_RISK)
    department = result(q4, dept, "TTHC-26-02")
    assert (department.projection, department.status) == (Decimal(80), Status.AT_RISK)

    def off_track(unit):
        flag = LaggardFlag.objects.filter(period=q4, unit=unit).first()
        return [r for r in flag.reasons if r["code"] == "off_track"] if flag else []

    assert off_track(commune_a1) == []
    reason = off_track(commune_a2)[0]
    assert (reason["targets"], reason["years"]) == (["TTHC-26-02"], {"TTHC-26-02": 2030})
    expected = _("off track for %(year)s on %(targets)s") % {"year": 2030, "targets": "TTHC-26-02"}
    assert LaggardReason.describe(reason) == expected
    assert off_track(dept)[0]["years"] == {"TTHC-26-02": 2030}


def test_a_2026_2027_task_aims_at_2027(tree, programmes, commune_a1):
    _old, new = programmes
    task = TargetFactory(code="CQS-26-01", programme=new, first_year=2026, last_year=2027, **NEW_LEVELS)
    threshold(task, "100", from_year=2026)
    keys = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
    for i, key in enumerate(keys):
        report(commune_a1, period_create(key=key), CQS_26_01=(61 + i, 100))
    q4 = run(*keys)
    # The same line as above, read at 2027-Q4 (8112): 62,5 + (8112 - 8106,5) = 68.
    row = result(q4, commune_a1, "CQS-26-01")
    assert (row.projection, row.met, row.status) == (Decimal(68), False, Status.BEHIND)


# --- (iii) A 2021-2025 target still aims at 2025 --------------------------------------------------


def test_a_2021_2025_projection_still_aims_at_2025(tree, online, district_a, settings):
    settings.LAGGARD_MIN_MISSED = 1
    # TTHC-08 has no last year of its own: its horizon is its programme's end, 2025-Q4 = 8104.
    # 84, 83, 82, 81 in 2024 (8097..8100, mean 8098,5, slope -1): 82,5 - (8104 - 8098,5) = 77,
    # at or above 2025's 50%: on track. (Read at the period's own year it would be 81; at 2030, 57.)
    keys = ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4")
    for i, key in enumerate(keys):
        report(district_a, period_create(key=key), TTHC_08=(84 - i, 100))
    q4 = run(*keys)
    row = result(q4, district_a, "TTHC-08")
    assert (row.projection, row.status) == (Decimal(77), Status.MET)


def test_a_2021_2025_target_off_track_says_2025(tree, online, district_a):
    before, _after, _fresh = online
    threshold(before, "80", from_year=2025)
    keys = ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4")
    for i, key in enumerate(keys):
        report(district_a, period_create(key=key), TTHC_08=(84 - i, 100))
    q4 = run(*keys)
    row = result(q4, district_a, "TTHC-08")
    assert (row.projection, row.threshold, row.status) == (Decimal(77), Decimal(50), Status.AT_RISK)  # 77 < 80
    flag = LaggardFlag.objects.get(period=q4, unit=district_a)
    reason = next(r for r in flag.reasons if r["code"] == "off_track")
    assert reason["years"] == {"TTHC-08": 2025}


# --- The wording of an "off track" reason ---------------------------------------------------------


def test_off_track_reasons_name_the_year_of_each_programme_end():
    reason = {"code": "off_track", "targets": ["CQS-26-01", "TTHC-26-02", "TTHC-26-04"], "count": 3}
    reason["years"] = {"CQS-26-01": 2027, "TTHC-26-02": 2030, "TTHC-26-04": 2030}
    in_words = _("off track for %(year)s on %(targets)s")
    assert LaggardReason.describe(reason) == "; ".join(
        (
            in_words % {"year": 2027, "targets": "CQS-26-01"},
            in_words % {"year": 2030, "targets": "TTHC-26-02, TTHC-26-04"},
        )
    )
    del reason["years"]  # a flag stored before reasons carried years
    assert LaggardReason.describe(reason) == _("off track for the programme's target on %s") % ", ".join(
        reason["targets"]
    )
