import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from conftest import COMPLETE
from reports.models import EventAction, Figure, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from reports.periods import period_set_state
from reports.services import (
    Conflict,
    FigureErrors,
    FigureInput,
    ReportError,
    submission_approve,
    submission_for,
    submission_reopen,
    submission_return,
    submission_save_figures,
    submission_submit,
)

pytestmark = pytest.mark.django_db


def test_new_submission_holds_a_figure_per_applicable_target(draft_a, commune_a1, period, reporter_a):
    assert sorted(draft_a.figures.values_list("target__code", flat=True)) == ["TCBM-02", "TTHC-08", "TTHC-09"]
    commune = submission_for(unit=commune_a1, period=period, by=reporter_a)
    assert sorted(commune.figures.values_list("target__code", flat=True)) == ["TTHC-08", "TTHC-09"]  # no reduction
    assert submission_for(unit=commune_a1, period=period, by=reporter_a).pk == commune.pk


def test_draft_can_be_saved_incomplete_but_not_submitted(draft_a, reporter_a):
    submission_save_figures(submission=draft_a, figures={"TTHC-08": FigureInput(numerator=5)}, by=reporter_a)
    figure = draft_a.figures.get(target__code="TTHC-08")
    assert (figure.numerator, figure.denominator) == (5, None)
    with pytest.raises(FigureErrors) as error:
        submission_submit(submission=draft_a, by=reporter_a)
    assert error.value.errors == {
        "TTHC-08": {"numerator": ["Bắt buộc nhập trước khi gửi."]},
        "TTHC-09": {"value": ["Bắt buộc nhập trước khi gửi."]},
        "TCBM-02": {"numerator": ["Bắt buộc nhập trước khi gửi."]},
    }
    assert Submission.objects.get(pk=draft_a.pk).status == SubmissionStatus.DRAFT


@pytest.mark.parametrize(
    "code, data, field, message",
    [
        ("TTHC-08", FigureInput(numerator=2001, denominator=2000), "numerator", "Tử số không được lớn hơn mẫu số."),
        ("TTHC-08", FigureInput(numerator=-1, denominator=20), "numerator", "Nhập số nguyên từ 0 trở lên."),
        (
            "TTHC-08",
            FigureInput(value=Decimal(50)),
            "value",
            "Chỉ tiêu này báo cáo bằng tử số và mẫu số, không nhập giá trị.",
        ),
        ("TTHC-09", FigureInput(value=Decimal("100.5")), "value", "Tỷ lệ phần trăm phải từ 0 đến 100."),
        ("TTHC-09", FigureInput(value=Decimal("-1")), "value", "Giá trị không được âm."),
        (
            "TTHC-09",
            FigureInput(numerator=1, denominator=2),
            "value",
            "Chỉ tiêu này báo cáo bằng giá trị, không nhập tử số và mẫu số.",
        ),
    ],
)
def test_invalid_figures_are_named_and_nothing_is_saved(draft_a, reporter_a, code, data, field, message):
    figures = {"TCBM-02": FigureInput(numerator=90, denominator=100), code: data}
    with pytest.raises(FigureErrors) as error:
        submission_save_figures(submission=draft_a, figures=figures, by=reporter_a)
    assert error.value.errors == {code: {field: [message]}}
    assert draft_a.figures.get(target__code="TCBM-02").numerator is None  # the valid one was not saved either


def test_reduction_may_grow_past_its_baseline(draft_a, reporter_a):
    submission_save_figures(
        submission=draft_a, figures={"TCBM-02": FigureInput(numerator=110, denominator=100)}, by=reporter_a
    )
    assert draft_a.figures.get(target__code="TCBM-02").computed_value == Decimal("-10")


def test_database_refuses_a_ratio_numerator_above_its_denominator(draft_a):
    figure = draft_a.figures.get(target__code="TTHC-08")
    with pytest.raises(IntegrityError), transaction.atomic():
        Figure.objects.filter(pk=figure.pk).update(numerator=5, denominator=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        Figure.objects.filter(target__code="TTHC-09", submission=draft_a).update(value=101)


def test_full_cycle_with_audit_trail(submitted_a, reporter_a, secretariat):
    assert submitted_a.status == SubmissionStatus.SUBMITTED and not submitted_a.is_late
    submission_return(submission=submitted_a, by=secretariat, reason="Mẫu số chưa khớp")
    assert (submitted_a.status, submitted_a.return_reason, submitted_a.times_returned) == (
        "returned",
        "Mẫu số chưa khớp",
        1,
    )
    submission_save_figures(
        submission=submitted_a, figures={"TTHC-08": FigureInput(numerator=1300, denominator=2000)}, by=reporter_a
    )
    submission_submit(submission=submitted_a, by=reporter_a)
    submission_approve(submission=submitted_a, by=secretariat)
    assert submitted_a.status == SubmissionStatus.APPROVED and submitted_a.reviewed_by == secretariat
    submission_reopen(submission=submitted_a, by=secretariat, reason="Sai số liệu quý trước")
    assert submitted_a.status == SubmissionStatus.RETURNED
    events = list(SubmissionEvent.objects.filter(submission=submitted_a).order_by("at", "id"))
    assert [e.action for e in events] == [
        EventAction.CREATED,
        EventAction.FIGURES_SAVED,
        EventAction.SUBMITTED,
        EventAction.RETURNED,
        EventAction.FIGURES_SAVED,
        EventAction.SUBMITTED,
        EventAction.APPROVED,
        EventAction.REOPENED,
    ]
    assert events[4].changes == {"TTHC-08": {"numerator": [1234, 1300]}}
    assert events[4].by == reporter_a
    assert (events[3].from_status, events[3].to_status, events[3].reason) == (
        "submitted",
        "returned",
        "Mẫu số chưa khớp",
    )


# (action, from status, allowed): every transition the workflow knows, tried from every status.
def _save(s, user):
    return submission_save_figures(submission=s, figures={"TTHC-09": FigureInput(value=Decimal(91))}, by=user)


ACTIONS = {
    "save": lambda s, r, sec: _save(s, r),
    "submit": lambda s, r, sec: submission_submit(submission=s, by=r),
    "approve": lambda s, r, sec: submission_approve(submission=s, by=sec),
    "return": lambda s, r, sec: submission_return(submission=s, by=sec, reason="Lý do"),
    "reopen": lambda s, r, sec: submission_reopen(submission=s, by=sec, reason="Lý do"),
}
ALLOWED = {
    "draft": {"save", "submit"},
    "submitted": {"approve", "return"},
    "approved": {"reopen"},
    "returned": {"save", "submit"},
}


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_transition_from_every_status(draft_a, reporter_a, secretariat, status, action):
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    Submission.objects.filter(pk=draft_a.pk).update(status=status, return_reason="x" if status == "returned" else "")
    draft_a.refresh_from_db()
    if action in ALLOWED[status]:
        ACTIONS[action](draft_a, reporter_a, secretariat)
    else:
        with pytest.raises(ReportError):
            ACTIONS[action](draft_a, reporter_a, secretariat)
        assert Submission.objects.get(pk=draft_a.pk).status == status


def test_return_needs_a_reason(submitted_a, secretariat):
    with pytest.raises(ReportError, match="Phải nêu lý do"):
        submission_return(submission=submitted_a, by=secretariat, reason="   ")
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.SUBMITTED


@pytest.mark.parametrize("action", list(ACTIONS))
def test_locked_period_refuses_every_change(submitted_a, reporter_a, secretariat, period, action):
    period_set_state(period=period, state=PeriodState.LOCKED)
    submitted_a.refresh_from_db()
    before = SubmissionEvent.objects.count()
    with pytest.raises(ReportError, match="đã khóa"):
        ACTIONS[action](submitted_a, reporter_a, secretariat)
    assert SubmissionEvent.objects.count() == before


def test_closed_period_stops_reporters_but_not_the_review(submitted_a, reporter_a, secretariat, period, commune_a1):
    period_set_state(period=period, state=PeriodState.CLOSED)
    submitted_a.refresh_from_db()
    with pytest.raises(ReportError, match="đã đóng"):
        submission_for(unit=commune_a1, period=period, by=reporter_a)
    submission_approve(submission=submitted_a, by=secretariat)
    assert submitted_a.status == SubmissionStatus.APPROVED


def test_submission_after_the_deadline_is_marked_late(draft_a, reporter_a, period):
    period.deadline = dt.date.today() - dt.timedelta(days=1)
    period.save()
    draft_a.refresh_from_db()
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    assert submission_submit(submission=draft_a, by=reporter_a).is_late


def test_two_reviewers_at_once_one_wins_the_other_is_told(submitted_a, secretariat):
    # Both reviewers opened the page at the same version.
    seen_by_first = Submission.objects.get(pk=submitted_a.pk)
    seen_by_second = Submission.objects.get(pk=submitted_a.pk)
    submission_approve(submission=seen_by_first, by=secretariat, expected_version=seen_by_first.version)
    with pytest.raises(Conflict, match="vừa được người khác thay đổi"):
        submission_return(
            submission=seen_by_second, by=secretariat, reason="Sai", expected_version=seen_by_second.version
        )
    stored = Submission.objects.get(pk=submitted_a.pk)
    assert (stored.status, stored.return_reason, stored.times_returned) == ("approved", "", 0)
    assert SubmissionEvent.objects.filter(submission=stored, action=EventAction.RETURNED).count() == 0


def test_stale_form_cannot_overwrite_newer_figures(draft_a, reporter_a):
    old_version = draft_a.version
    submission_save_figures(submission=draft_a, figures={"TTHC-09": FigureInput(value=Decimal(91))}, by=reporter_a)
    with pytest.raises(Conflict):
        submission_save_figures(
            submission=draft_a,
            figures={"TTHC-09": FigureInput(value=Decimal(50))},
            by=reporter_a,
            expected_version=old_version,
        )
    assert draft_a.figures.get(target__code="TTHC-09").value == Decimal(91)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_reviewers_in_two_connections(submitted_a, secretariat):
    barrier, outcomes = threading.Barrier(2), []
    version = submitted_a.version

    def act(action):
        try:
            barrier.wait(timeout=10)
            action(submission=Submission.objects.get(pk=submitted_a.pk), by=secretariat, expected_version=version)
            outcomes.append("won")
        except Conflict:
            outcomes.append("told")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(submission_approve,)),
        threading.Thread(target=act, args=(lambda **kw: submission_return(reason="Sai", **kw),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["told", "won"]
    stored = Submission.objects.get(pk=submitted_a.pk)
    assert stored.version == version + 1
    assert SubmissionEvent.objects.filter(submission=stored, action__in=["approved", "returned"]).count() == 1
