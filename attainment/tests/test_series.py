"""A unit's series for trends: a continuing unit's earlier periods combine what it absorbed."""

import datetime as dt
from decimal import Decimal

import pytest

from attainment.engine import period_recompute
from attainment.models import Attainment
from attainment.series import absorbed_by, unit_series
from attainment.tests.test_engine import report
from reports.models import SubmissionStatus
from reports.periods import period_create
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind
from units.tests.factories import SuccessionEventFactory, UnitFactory, link

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(province):
    """Sở Tài chính carries on and takes Sở Kế hoạch và Đầu tư on 1/3/2025 (Nghị định 45/2025)."""
    finance = UnitFactory(code="40-STC", name="Sở Tài chính", kind=Kind.DEPARTMENT, parent=province)
    planning = UnitFactory(
        code="40-SKHDT",
        name="Sở Kế hoạch và Đầu tư",
        kind=Kind.DEPARTMENT,
        parent=province,
        valid_to=dt.date(2025, 2, 28),
    )
    event = SuccessionEventFactory(code="2025-03-01-stc", effective_date=dt.date(2025, 3, 1))
    link(event, planning, finance)
    return finance, planning


@pytest.fixture
def online():
    target = TargetFactory(code="TTHC-08", for_department=True)
    threshold(target, "80")
    return target


def test_the_continuing_units_earlier_quarters_add_the_counts_it_absorbed(finance, online):
    finance_unit, planning = finance
    q4, q1 = period_create(key="2024-Q4"), period_create(key="2025-Q1")
    # 2024-Q4 (14/12/2024): both report. Finance 300 of 400 (75%), planning 900 of 1.000 (90%).
    report(finance_unit, q4, TTHC_08=(300, 400))
    report(planning, q4, TTHC_08=(900, 1000))
    # 2025-Q1 ends 14/03/2025, after the merger: Finance alone reports 1.100 of 1.400.
    report(finance_unit, q1, TTHC_08=(1100, 1400))
    period_recompute(q4)
    period_recompute(q1)

    series = unit_series(finance_unit, {online.pk: [online.pk]})[online.pk]

    assert [p.period.key for p in series] == ["2024-Q4", "2025-Q1"]
    before, after = series
    # (300 + 900) / (400 + 1.000) = 1.200 / 1.400 = 85,7143%: the ratio of sums, not (75 + 90) / 2.
    assert before.value == Decimal("85.7143")
    assert before.official == Decimal("75")  # the official result stays as it was computed
    assert before.status == "met"  # 85,7% clears 80% (the official 75% did not)
    assert [u.name for u in before.combined_with] == ["Sở Kế hoạch và Đầu tư"]
    assert not before.incomplete
    # 1.100 / 1.400 = 78,5714%: after the merger the unit's own figure is the whole desk.
    assert (after.value, after.combined) == (Decimal("78.5714"), False)
    # The official result of 2024-Q4 is untouched.
    assert Attainment.objects.get(period=q4, unit=finance_unit, target=online).value == Decimal("75")


def test_a_quarter_the_absorbed_unit_did_not_get_approved_is_marked_incomplete(finance, online):
    finance_unit, planning = finance
    q4 = period_create(key="2024-Q4")
    report(finance_unit, q4, TTHC_08=(300, 400))
    report(planning, q4, SubmissionStatus.SUBMITTED, TTHC_08=(900, 1000))
    period_recompute(q4)

    (point,) = unit_series(finance_unit, {online.pk: [online.pk]})[online.pk]

    assert point.value == Decimal("75")  # only approved figures count
    assert point.combined and point.incomplete


def test_a_unit_created_by_the_merger_absorbs_nothing_the_engine_derives_it(province, online):
    a = UnitFactory(code="40-A", kind=Kind.DEPARTMENT, parent=province, valid_to=dt.date(2025, 2, 28))
    new = UnitFactory(code="40-N", kind=Kind.DEPARTMENT, parent=province, valid_from=dt.date(2025, 3, 1))
    link(SuccessionEventFactory(effective_date=dt.date(2025, 3, 1)), a, new)
    assert absorbed_by(new) == []


def test_absorption_chains_add_up_with_their_shares_and_dates(province, online):
    """B took C on 1/1/2025 (C hands on 0,5 of itself), then A took B on 1/7/2025."""
    a = UnitFactory(code="A", kind=Kind.DEPARTMENT, parent=province)
    b = UnitFactory(code="B", kind=Kind.DEPARTMENT, parent=province, valid_to=dt.date(2025, 6, 30))
    c = UnitFactory(code="C", kind=Kind.DEPARTMENT, parent=province, valid_to=dt.date(2024, 12, 31))
    link(SuccessionEventFactory(code="e1", effective_date=dt.date(2025, 1, 1)), c, b, weight=Decimal("0.5"))
    link(SuccessionEventFactory(code="e2", effective_date=dt.date(2025, 7, 1)), b, a)

    found = {x.unit.code: (x.share, x.until) for x in absorbed_by(a)}

    assert found == {"B": (Decimal(1), dt.date(2025, 7, 1)), "C": (Decimal("0.5"), dt.date(2025, 1, 1))}
    q3, q1 = period_create(key="2024-Q3"), period_create(key="2025-Q1")
    for unit, q3_counts, q1_counts in ((a, (10, 100), (30, 100)), (b, (20, 100), (40, 100)), (c, (60, 100), None)):
        report(unit, q3, TTHC_08=q3_counts)
        if q1_counts:
            report(unit, q1, TTHC_08=q1_counts)
    period_recompute(q3)
    period_recompute(q1)

    points = {p.period.key: p for p in unit_series(a, {online.pk: [online.pk]})[online.pk]}

    # 2024-Q3: A + B + 0,5 x C = (10 + 20 + 30) / (100 + 100 + 50) = 60 / 250 = 24%.
    assert points["2024-Q3"].value == Decimal("24")
    # 2025-Q1: C is in B's own figure already: (30 + 40) / 200 = 35%.
    assert points["2025-Q1"].value == Decimal("35")
    assert [u.code for u in points["2025-Q1"].combined_with] == ["B"]
