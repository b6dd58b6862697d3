"""The per-unit run gives the rows the whole-period run gives, after any sequence of decisions.

A small province (a department, two districts, seven communes, two of which merge on 1/10/2024)
on three targets of three measures, three quarters and the year: each example sends, approves,
returns and reopens reports in any order, with any figures, bringing the periods up to date after
each decision as the worker does (unit by unit). Then every period is recomputed whole: that run
must find nothing to write, and every derived row must be as it was.
"""

import datetime as dt
import os
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from attainment import engine, increment
from attainment.engine import period_recompute
from attainment.models import Attainment, LaggardFlag, PendingChange, PeriodComputation, Rollup, UnitScore
from attainment.services import stale_refresh
from attainment.tests.test_engine import report
from attainment.tests.test_write import snapshot
from reports.models import Figure, Submission, SubmissionStatus
from reports.periods import period_create
from reports.services import (
    FigureInput,
    submission_approve,
    submission_for,
    submission_reopen,
    submission_return,
    submission_save_figures,
    submission_submit,
)
from targets.models import Measure
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind, Unit
from units.services import unit_close
from units.tests.factories import SuccessionEventFactory, UnitFactory, link

pytestmark = pytest.mark.django_db

PERIODS = ["2024-Q3", "2024-Q4", "2025-Q1", "2024-Y"]
QUARTERS = PERIODS[:3]


@pytest.fixture
def merging(tree, dept, district_a, district_b, commune_a1, commune_a2, commune_b1, steering):
    """The units that report, by name; the catalogue; every period computed once, with some
    reports approved already."""
    more = [UnitFactory(code=f"1790{i}", name=f"Xã Thử {i}", kind=Kind.COMMUNE, parent=district_b) for i in range(4)]
    merged = UnitFactory(code="17999", name="Xã Hợp Nhất", kind=Kind.COMMUNE, parent=district_b)
    merged.valid_from = dt.date(2024, 10, 1)
    merged.save()
    event = SuccessionEventFactory(effective_date=dt.date(2024, 10, 1))
    for old in more[2:]:
        unit_close(unit=old, last_day=dt.date(2024, 9, 30))
        link(event, old, merged)
    records = TargetFactory(code="CQS-05", weight=Decimal(5))
    for level, value in (("province", "90"), ("department", "90"), ("district", "80"), ("commune", "60")):
        threshold(records, value, level=level)
    satisfaction = TargetFactory(code="TTHC-09", measure=Measure.PERCENT, weight=Decimal(3), aggregation="latest")
    threshold(satisfaction, "90")
    published = TargetFactory(code="CCTC-01", measure=Measure.BOOLEAN, weight=Decimal(2), aggregation="latest")
    threshold(published, "1")
    periods = [period_create(key=key) for key in PERIODS]
    units = [dept, district_a, district_b, commune_a1, commune_a2, commune_b1, *more, merged]
    return {"units": units, "periods": periods, "by": steering}


def _figures(submission: Submission, seed: int) -> dict[str, FigureInput]:
    """Figures spread widely enough to meet, miss, decline and stand out from the peers."""
    codes = set(submission.figures.values_list("target__code", flat=True))
    denominator = 20 + seed % 180
    chosen = {
        "CQS-05": FigureInput(numerator=(seed * 37) % (denominator + 1), denominator=denominator),
        "TTHC-09": FigureInput(value=Decimal(seed * 7 % 1001) / 10),
        "CCTC-01": FigureInput(value=Decimal(seed % 2)),
    }
    return {code: data for code, data in chosen.items() if code in codes}


def decide(action: str, unit, period, seed: int, by) -> None:
    """Bring the unit's report to the decision, through the services the pages use."""
    submission = submission_for(unit=unit, period=period, by=by)
    if action in ("approve", "submit", "return") and submission.status == SubmissionStatus.APPROVED:
        submission = submission_reopen(submission=submission, by=by, reason="Sửa lại")
    if submission.status in (SubmissionStatus.DRAFT, SubmissionStatus.RETURNED):
        if action == "reopen":
            return
        submission_save_figures(submission=submission, figures=_figures(submission, seed), by=by)
        submission = submission_submit(submission=submission, by=by)
    if action == "approve":
        submission_approve(submission=submission, by=by)
    elif action == "return":
        submission_return(submission=submission, by=by, reason="Thiếu số liệu")
    elif action == "reopen" and submission.status == SubmissionStatus.SUBMITTED:
        submission_approve(submission=submission, by=by)
        submission_reopen(submission=submission, by=by, reason="Mở lại")


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


decisions = st.lists(
    st.tuples(
        st.sampled_from(["approve", "approve", "submit", "return", "reopen"]),
        st.integers(0, 10),  # which unit (some do not report in some periods)
        st.integers(0, 2),  # which quarter
        st.integers(0, 10_000),  # the figures
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=int(os.environ.get("INCREMENT_EXAMPLES", "25")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=decisions)
# The dashboard's quarter computed before the older quarter it reads as history changed.
@example(steps=[("approve", 3, 2, 204), ("approve", 3, 0, 418), ("approve", 5, 2, 9139)])
def test_unit_by_unit_gives_the_rows_of_a_whole_period_run(merging, monkeypatch, steps):
    units, periods, by = merging["units"], merging["periods"], merging["by"]
    with rolled_back():
        for i, unit in enumerate(units[:8]):  # a start: some reports approved, every period computed
            if unit.is_current_on(periods[0].end):
                decide("approve", unit, periods[i % 2], 3 * i + 1, by)
        for period in periods:
            period_recompute(period)
        PendingChange.objects.all().delete()
        PeriodComputation.objects.update(stale=False, stale_since=None, full_needed=False)
        whole, by_units = [], []
        monkeypatch.setattr(engine, "period_recompute", _counting(period_recompute, whole))
        monkeypatch.setattr(increment, "units_recompute", _counting(increment.units_recompute, by_units))
        for action, which, quarter, seed in steps:
            unit, period = units[which], periods[quarter]
            if not unit.is_current_on(period.end):
                continue
            decide(action, unit, period, seed, by)
            stale_refresh()
        monkeypatch.undo()
        assert not whole, "only units were recomputed"
        assert not PeriodComputation.objects.filter(stale=True).exists()
        kept = snapshot()
        assert [period_recompute(p).written for p in periods] == [0] * len(periods), _differences(kept, snapshot())


def _differences(kept: dict, now: dict) -> list[str]:
    """The rows the whole-period run changed, unit by unit's then whole's."""
    found = []
    for name, rows in now.items():
        for key in rows.keys() | kept[name].keys():
            before, after = kept[name].get(key), rows.get(key)
            if before is None or after is None:
                found.append(f"{name} {key}: {before} != {after}")
            elif before != after:
                fields = {f: (before[f], after[f]) for f in before if before[f] != after[f]}
                found.append(f"{name} {key}: {fields}")
    return found


def _counting(real, calls: list):
    def counted(period, *args):
        calls.append(period.key)
        return real(period, *args)

    return counted


def test_a_sample_is_checked_against_hand_written_rows(merging):
    """One decision by hand: the merged commune's figure comes from its predecessors in 2024-Q3,
    and the roll-up of the communes takes the new figure in by its counts."""
    units, periods, by = merging["units"], merging["periods"], merging["by"]
    q3 = periods[0]
    for unit, (numerator, denominator) in ((units[8], (30, 40)), (units[9], (50, 60)), (units[3], (10, 100))):
        submission = submission_for(unit=unit, period=q3, by=by)
        submission_save_figures(
            submission=submission,
            figures={
                "CQS-05": FigureInput(numerator=numerator, denominator=denominator),
                "TTHC-09": FigureInput(value=Decimal(95)),
                "CCTC-01": FigureInput(value=Decimal(1)),
            },
            by=by,
        )
        submission_approve(submission=submission_submit(submission=submission, by=by), by=by)
        if unit == units[8]:
            period_recompute(q3)  # computed whole once; the other two come unit by unit
        else:
            increment.units_recompute(q3)
    merged = Attainment.objects.get(period=q3, unit=units[10], target__code="CQS-05")
    assert (merged.derived, merged.numerator, merged.denominator, merged.value) == (
        True, Decimal(80), Decimal(100), Decimal(80),
    )  # fmt: skip
    communes = Rollup.objects.get(period=q3, target__code="CQS-05", scope="level", scope_key="commune")
    # 30 + 50 + 10 of 40 + 60 + 100: 45%; the merged commune's derived row is not counted twice.
    assert (communes.numerator, communes.denominator, communes.value) == (Decimal(90), Decimal(200), Decimal(45))
    assert (communes.units_reporting, communes.units_met) == (3, 2)
    ranked = UnitScore.objects.filter(period=q3, level="commune").values_list("unit_id", "score", "rank", "rank_of")
    # 75% and 83,3% meet 60 on CQS-05 (weight 5) and both meet the other two: 100 each, sharing rank 1.
    # Nghi Phong's 10% earns 10/60 of 5, plus 3 + 2: 5,8333 of 10 = 58,33.
    assert set(ranked) == {
        (units[8].pk, Decimal(100), 1, 3), (units[9].pk, Decimal(100), 1, 3), (units[3].pk, Decimal("58.33"), 3, 3),
    }  # fmt: skip
    assert LaggardFlag.objects.filter(period=q3, unit=units[3]).exists()
    assert not PendingChange.objects.filter(period=q3).exists()


# --- What the per-unit run reads and recomputes ----------------------------------------------------


@pytest.fixture
def satisfaction(db):
    target = TargetFactory(code="TTHC-09", measure=Measure.PERCENT, weight=Decimal(3), aggregation="latest")
    threshold(target, "50")
    return target


def _approve(unit, period, by, value) -> None:
    submission = submission_for(unit=unit, period=period, by=by)
    submission_save_figures(submission=submission, figures={"TTHC-09": FigureInput(value=Decimal(value))}, by=by)
    submission_approve(submission=submission_submit(submission=submission, by=by), by=by)


def test_a_peer_whose_figure_stops_standing_out_is_recomputed_with_the_unit(
    tree, district_b, satisfaction, secretariat
):
    """Communes at 50, 52, 54, 56 and 66: median 54, spread 2, so 66 stands 0,6745 x 12 / 2 = 4,05
    robust deviations out (over 3,5). A sixth commune approved at 60 moves the median to 55 and the
    spread to 4: 66 is 0,6745 x 11 / 4 = 1,85 out, and its flag goes, though its figures did not change."""
    period = period_create(key="2025-Q1", deadline=dt.date(2099, 1, 1))  # reports in time
    communes = [
        UnitFactory(code=f"1795{i}", name=f"Xã Mẫu {i}", kind=Kind.COMMUNE, parent=district_b) for i in range(6)
    ]
    for unit, value in zip(communes, (50, 52, 54, 56, 66), strict=False):
        _approve(unit, period, secretariat, value)
    stale_refresh()
    odd = communes[4]
    assert LaggardFlag.objects.get(period=period, unit=odd).reasons[0]["code"] == "data_quality"
    level = Rollup.objects.get(period=period, target=satisfaction, scope="level", scope_key="commune")
    assert (level.peer_median, level.peer_spread) == (Decimal(54), Decimal(2))

    _approve(communes[5], period, secretariat, 60)
    (refresh,) = stale_refresh()

    (run,) = refresh.runs
    assert run.units == {communes[5].pk, odd.pk}  # the new figure, and the peer it moved
    assert not LaggardFlag.objects.filter(period=period, unit=odd).exists()
    level.refresh_from_db()
    # The level's value is the mean of its units' percents: 338 / 6 = 56,3333.
    assert (level.peer_median, level.peer_spread, level.value) == (Decimal(55), Decimal(4), Decimal("56.3333"))
    assert period_recompute(period).written == 0


def test_the_per_unit_run_reads_the_same_number_of_rows_whatever_the_province(tree, district_b, satisfaction):
    """An approval's run costs a fixed number of queries, with 5 communes or 40."""
    period = period_create(key="2025-Q1")

    def queries(count: int) -> int:
        for i in range(Unit.objects.filter(code__startswith="1796").count(), count):
            unit = UnitFactory(code=f"1796{i:02}", name=f"Xã Đếm {i}", kind=Kind.COMMUNE, parent=district_b)
            report(unit, period, TTHC_09=40 + i)
        period_recompute(period)
        changed = Unit.objects.get(code="179600")
        Figure.objects.filter(submission__unit=changed, submission__period=period).update(value=Decimal(count))
        PendingChange.objects.create(period=period, unit=changed)
        with CaptureQueriesContext(connection) as captured:
            summary = increment.units_recompute(period)
        assert summary.units == {changed.pk} and summary.written > 0
        return len(captured)

    assert queries(5) == queries(40)


def test_a_unit_change_has_the_next_run_compute_every_unit(tree, district_b, satisfaction, secretariat):
    period = period_create(key="2025-Q1")
    _approve(district_b, period, secretariat, 70)
    stale_refresh()
    assert PeriodComputation.objects.get(period=period).full_needed is False

    UnitFactory(code="17970", name="Xã Mới", kind=Kind.COMMUNE, parent=district_b)

    computation = PeriodComputation.objects.get(period=period)
    assert (computation.stale, computation.full_needed) == (True, True)
    (refresh,) = stale_refresh()
    assert refresh.runs[0].units is None  # the whole period
    assert Attainment.objects.filter(period=period, unit__code="17970").exists()


def test_units_saved_together_ask_for_one_sweep_a_few_seconds_later(
    tree, district_b, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """An import saves units one by one: the periods are marked at each save, and after commit
    one sweep is asked, delayed so that it sees them all."""
    from django.core.cache import cache

    from attainment import services

    asked = []
    monkeypatch.setattr(services, "enqueue", lambda task, *args, countdown=None: asked.append((task.name, countdown)))
    cache.delete(services.UNITS_SWEEP_KEY)
    period_create(key="2025-Q1")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # with a worker

    def save(*codes):
        with django_capture_on_commit_callbacks(execute=True):
            for code in codes:
                UnitFactory(code=code, name=f"Xã {code}", kind=Kind.COMMUNE, parent=district_b)
            assert len(asked) == before  # nothing before commit

    before = 0
    save("17980", "17981", "17982")
    assert asked == [("attainment.tasks.recompute_stale", services.UNITS_SWEEP_DELAY)]
    before = 1
    save("17990")
    assert len(asked) == 1  # within the delay: the sweep asked already takes this one too
    cache.delete(services.UNITS_SWEEP_KEY)  # the delay has passed
    save("17991")
    assert len(asked) == 2
    before = 2
    cache.delete(services.UNITS_SWEEP_KEY)
    settings.CELERY_TASK_ALWAYS_EAGER = True  # in-process: the pages refresh what they show
    save("17992")
    assert len(asked) == 2
