"""One recompute of a period at a time, coalesced; the dashboard's period first; empty periods
skipped. In-process, on SQLite and PostgreSQL alike (the real worker: test_jobs.py)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from attainment import engine, increment, services, tasks
from attainment.models import Attainment, PeriodComputation, Status
from attainment.services import period_lock, period_refresh, results_outdated, stale_refresh
from cchc_portal.celery import app
from conftest import COMPLETE
from reports.models import PeriodState, Submission
from reports.periods import period_create
from reports.services import (
    submission_approve,
    submission_for,
    submission_reopen,
    submission_save_figures,
    submission_submit,
)


def _submitted(unit, period):
    submission = submission_for(unit=unit, period=period, by=None)
    submission_save_figures(submission=submission, figures=COMPLETE, by=None)
    return submission_submit(submission=submission, by=None)


def _value(period, unit) -> Decimal | None:
    row = Attainment.objects.filter(period=period, unit=unit, target__code="TTHC-08").first()
    return row and row.value


@pytest.fixture
def runs(monkeypatch) -> list[str]:
    """The periods the engine ran, whole or unit by unit, in order."""
    ran: list[str] = []

    def counting(real):
        def counted(period, *args):
            ran.append(period.key)
            return real(period, *args)

        return counted

    monkeypatch.setattr(engine, "period_recompute", counting(engine.period_recompute))
    monkeypatch.setattr(increment, "units_recompute", counting(increment.units_recompute))
    return ran


def _approve_during_the_first_run(monkeypatch, period, submissions, secretariat) -> None:
    """Approve `submissions` once the first run has read the figures (it cannot see them)."""
    real = engine.load_figures
    pending = list(submissions)

    def load_then_approve(*args, **kwargs):
        loaded = real(*args, **kwargs)
        while pending:
            submission_approve(submission=pending.pop(), by=secretariat)
        return loaded

    monkeypatch.setattr(engine, "load_figures", load_then_approve)


# --- Coalescing -----------------------------------------------------------------------------------


def test_approvals_during_a_run_are_read_by_exactly_one_more_run(
    catalogue, period, district_a, district_b, dept, secretariat, runs, monkeypatch
):
    first = submission_approve(submission=_submitted(district_a, period), by=secretariat)
    during = [_submitted(district_b, period), _submitted(dept, period)]
    _approve_during_the_first_run(monkeypatch, period, during, secretariat)

    refresh = period_refresh(period=period)

    # Three approvals, two of them while the first run was in progress: two runs, not three.
    assert runs == ["2025-Q1", "2025-Q1"] and len(refresh.runs) == 2
    assert refresh.as_dict() == {"period": "2025-Q1", "runs": 2, "skipped": False, "busy": False}
    # 1.234 / 2.000 = 61,7% for every unit, the two approved during the first run included.
    assert [_value(period, u) for u in (district_a, district_b, dept)] == [Decimal("61.7")] * 3
    assert PeriodComputation.objects.get(period=period).stale is False
    assert first.status == "approved"


def test_without_a_change_during_the_run_there_is_one_run_and_a_later_change_gets_its_own(
    catalogue, period, district_a, district_b, secretariat, runs
):
    submission_approve(submission=_submitted(district_a, period), by=secretariat)
    assert len(period_refresh(period=period).runs) == 1
    assert len(period_refresh(period=period).runs) == 0  # fresh: nothing to do
    submission_approve(submission=_submitted(district_b, period), by=secretariat)  # after the run
    assert len(period_refresh(period=period).runs) == 1
    assert runs == ["2025-Q1", "2025-Q1"]
    assert _value(period, district_b) == Decimal("61.7")


def test_a_change_marked_before_a_run_but_committed_after_it_began_is_not_lost(
    catalogue, period, district_a, secretariat, django_capture_on_commit_callbacks, monkeypatch
):
    submission_approve(submission=_submitted(district_a, period), by=secretariat)
    asked = []
    monkeypatch.setattr(services, "enqueue_sweep", lambda: asked.append("sweep"))
    with django_capture_on_commit_callbacks() as callbacks:
        results_outdated(period)  # marked inside a transaction not yet committed...
    engine.period_recompute(period)  # ...and a run begins after the mark: it calls the period fresh
    assert PeriodComputation.objects.get(period=period).stale is False
    for callback in callbacks:  # the commit
        callback()
    assert PeriodComputation.objects.get(period=period).stale is True
    assert asked == ["sweep"]


# --- One run at a time ----------------------------------------------------------------------------


class Holder(threading.Thread):
    """Another worker holding the period's lock, on a connection of its own."""

    def __init__(self, period):
        super().__init__(daemon=True)
        self.period, self.holding, self.release = period, threading.Event(), threading.Event()
        self.held = None

    def run(self):
        try:
            with period_lock(self.period) as held:
                self.held = held
                self.holding.set()
                self.release.wait(timeout=30)
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        assert self.holding.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join(timeout=30)


def test_a_period_held_by_another_run_is_not_computed_twice_and_other_periods_are(
    catalogue, period, district_a, secretariat, runs
):
    later = period_create(key="2025-Q2")
    submission_approve(submission=_submitted(district_a, period), by=secretariat)
    submission_approve(submission=_submitted(district_a, later), by=secretariat)
    with Holder(period) as holder:
        assert holder.held is True
        refreshes = {r.period: r for r in stale_refresh()}
        assert refreshes["2025-Q1"].busy and not refreshes["2025-Q1"].runs
        assert len(refreshes["2025-Q2"].runs) == 1  # the lock is the period's, not the sweep's
        assert PeriodComputation.objects.get(period=period).stale is True  # left to its holder
    assert runs == ["2025-Q2"]
    # Released: the next call computes it.
    assert len(period_refresh(period=period).runs) == 1
    assert runs == ["2025-Q2", "2025-Q1"]


def test_the_lock_is_taken_once_and_free_again_after_use(period):
    with period_lock(period) as first, Holder(period) as other:
        assert first is True and other.held is False
    with Holder(period) as again:
        assert again.held is True


# --- Order ----------------------------------------------------------------------------------------


def _quarters(*keys):
    return [period_create(key=k) for k in keys]


def _approved_quarters(unit, by):
    """2025-Q1 to Q3, each with `unit`'s report approved (not computed yet)."""
    quarters = _quarters("2025-Q1", "2025-Q2", "2025-Q3")
    for quarter in quarters:
        submission_approve(submission=_submitted(unit, quarter), by=by)
    return quarters


def test_the_period_the_dashboard_shows_first_is_computed_first(catalogue, district_a, district_b, secretariat, runs):
    q1, q2, q3 = _approved_quarters(district_a, secretariat)
    q2.featured = True
    q2.save()

    stale_refresh()

    # Q2 first; Q1's new ranks are what Q2's movement reads, so Q2 once more after Q1; then Q3.
    assert runs == ["2025-Q2", "2025-Q1", "2025-Q2", "2025-Q3"]
    assert not PeriodComputation.objects.filter(stale=True).exists()

    # Marked stale again with nothing changed: Q1's ranks stay, so Q2 is computed once.
    runs.clear()
    results_outdated(q1)
    stale_refresh()
    assert runs == ["2025-Q2", "2025-Q1", "2025-Q3"]


def test_the_dashboards_period_waits_for_an_earlier_quarter_whose_approval_reaches_it(
    catalogue, district_a, district_b, secretariat, runs
):
    q1, q2, q3 = _approved_quarters(district_a, secretariat)
    q2.featured = True
    q2.save()
    stale_refresh()
    runs.clear()

    # District B's Q1 approval reaches Q2 and Q3 only through their history and ranks: Q2 would be
    # marked stale again by Q1's run, so it waits for it, and each quarter runs once.
    submission_approve(submission=_submitted(district_b, q1), by=secretariat)
    stale_refresh()
    assert runs == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert not PeriodComputation.objects.filter(stale=True).exists()

    # An approval in Q2 itself: Q2 first, as it has no stale period before it.
    submission_approve(submission=_submitted(district_b, q2), by=secretariat)
    runs.clear()
    stale_refresh()
    assert runs == ["2025-Q2", "2025-Q3"]


def test_without_a_chosen_period_the_latest_closed_quarter_comes_first(catalogue, district_a, secretariat, runs):
    q1, q2, q3 = _approved_quarters(district_a, secretariat)
    for quarter in (q1, q2):
        quarter.state = PeriodState.CLOSED
        quarter.save()

    stale_refresh()

    # Q2, the latest closed quarter (not the open Q3), then oldest first.
    assert runs == ["2025-Q2", "2025-Q1", "2025-Q2", "2025-Q3"]


# --- Nothing to compute ---------------------------------------------------------------------------


def test_a_period_with_no_approved_figure_is_skipped(catalogue, period, district_a, runs):
    draft = submission_for(unit=district_a, period=period, by=None)
    submission_save_figures(submission=draft, figures=COMPLETE, by=None)  # a draft, not sent
    results_outdated(period)

    (refresh,) = stale_refresh()

    assert refresh.as_dict() == {"period": "2025-Q1", "runs": 0, "skipped": True, "busy": False}
    assert runs == []
    assert not Attainment.objects.filter(period=period).exists()
    assert PeriodComputation.objects.get(period=period).stale is False
    assert stale_refresh() == []  # and not looked at again until something changes


def test_a_quarter_with_a_report_sent_is_computed_for_its_provisional_figures(catalogue, period, district_a, runs):
    _submitted(district_a, period)  # sent, not approved: the quarter's pages show it as provisional

    (refresh,) = stale_refresh()

    assert refresh.as_dict() == {"period": "2025-Q1", "runs": 1, "skipped": False, "busy": False}
    row = Attainment.objects.get(period=period, unit=district_a, target__code="TTHC-08")
    assert (row.value, row.provisional) == (Decimal("61.7"), True)


def test_one_approved_figure_is_enough_to_be_computed(catalogue, period, district_a, district_b, secretariat, runs):
    _submitted(district_a, period)
    submission_approve(submission=_submitted(district_b, period), by=secretariat)

    (refresh,) = stale_refresh()

    assert not refresh.skipped and runs == ["2025-Q1"]
    assert _value(period, district_b) == Decimal("61.7")


def test_a_half_year_is_computed_from_its_quarters_approved_figures(catalogue, period, district_a, secretariat, runs):
    half = period_create(key="2025-H1")
    results_outdated(period)
    assert {r.period: r.skipped for r in stale_refresh()} == {"2025-Q1": True, "2025-H1": True}
    submission_approve(submission=_submitted(district_a, period), by=secretariat)  # a quarter of H1
    assert {r.period: r.skipped for r in stale_refresh()} == {"2025-Q1": False, "2025-H1": False}
    assert Attainment.objects.filter(period=half).exclude(status=Status.NO_DATA).exists()


def test_a_period_whose_last_approval_was_reopened_is_computed_once_more_to_undo_it(
    catalogue, period, district_a, secretariat, runs
):
    approved = submission_approve(submission=_submitted(district_a, period), by=secretariat)
    stale_refresh()
    assert _value(period, district_a) == Decimal("61.7")
    submission_reopen(submission=approved, by=secretariat, reason="Sai số liệu")

    (refresh,) = stale_refresh()

    assert not refresh.skipped and runs == ["2025-Q1", "2025-Q1"]
    assert _value(period, district_a) is None
    assert Submission.objects.get(pk=approved.pk).status == "returned"
    results_outdated(period)  # nothing judged left to undo: skipped from now on
    assert stale_refresh()[0].skipped


def test_the_recompute_command_says_what_it_skipped(catalogue, period, district_a, secretariat, capsys):
    from django.core.management import call_command
    from django.utils.translation import gettext as _

    later = period_create(key="2025-Q2")
    submission_approve(submission=_submitted(district_a, period), by=secretariat)
    call_command("recompute")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2025-Q1: ")
    assert out[1] == _("%(period)s: skipped, no approved figure.") % {"period": "2025-Q2"}
    assert not Attainment.objects.filter(period=later).exists()


# --- Whole or unit by unit ------------------------------------------------------------------------


@pytest.fixture
def whole_runs(monkeypatch) -> list[str]:
    """The periods the engine ran whole, in order."""
    ran: list[str] = []
    real = engine.period_recompute

    def counted(period):
        ran.append(period.key)
        return real(period)

    monkeypatch.setattr(engine, "period_recompute", counted)
    return ran


def test_an_approval_in_a_computed_period_is_recomputed_unit_by_unit(
    catalogue, period, district_a, district_b, secretariat, whole_runs
):
    submission_approve(submission=_submitted(district_a, period), by=secretariat)
    stale_refresh()
    assert whole_runs == ["2025-Q1"]  # never computed: whole

    submission_approve(submission=_submitted(district_b, period), by=secretariat)
    (refresh,) = stale_refresh()

    assert whole_runs == ["2025-Q1"] and refresh.runs[-1].units == {district_b.pk}
    assert _value(period, district_b) == Decimal("61.7")


def test_the_nightly_task_recomputes_every_period_whole_one_task_each(
    catalogue, period, district_a, secretariat, whole_runs, monkeypatch
):
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the group's tasks run here, in order
    later = period_create(key="2025-Q2")
    for quarter in (period, later):
        submission_approve(submission=_submitted(district_a, quarter), by=secretariat)
    stale_refresh()
    whole_runs.clear()

    assert len(tasks.every_period().tasks) == 2
    tasks.recompute_all.delay()

    assert whole_runs == ["2025-Q1", "2025-Q2"]
    assert not PeriodComputation.objects.filter(stale=True).exists()
