"""Points an independent attack on the portal found, each held by a test."""

import datetime as dt

import pytest

from reports.models import Submission, SubmissionStatus
from reports.services import FigureInput, ReportError, submission_for, submission_return
from units.services import unit_close

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/"


@pytest.mark.parametrize("action", ["approve", "return", "reopen"])
def test_a_review_decision_without_the_version_it_saw_is_refused(submitted_a, secretariat, login, action):
    if action == "reopen":
        Submission.objects.filter(pk=submitted_a.pk).update(status=SubmissionStatus.APPROVED)
    before = Submission.objects.get(pk=submitted_a.pk)
    response = login(secretariat).post(f"{URL}{action}/", {"reason": "Thiếu tài liệu"}, follow=True)
    assert "Trang này đã cũ" in response.content.decode()
    after = Submission.objects.get(pk=submitted_a.pk)
    assert (after.status, after.version) == (before.status, before.version)


def test_a_review_decision_with_the_version_it_saw_goes_through(submitted_a, secretariat, login):
    login(secretariat).post(f"{URL}approve/", {"version": submitted_a.version})
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.APPROVED


def test_a_unit_closed_before_the_period_ended_cannot_report_for_it(catalogue, period, district_a, reporter_a, login):
    unit_close(unit=district_a, last_day=period.end - dt.timedelta(days=1))
    client = login(reporter_a)
    assert client.get(URL).context["editable"] is False
    client.post(f"{URL}save/", {"version": 0, "TTHC-08__numerator": "1", "TTHC-08__denominator": "2"})
    assert not Submission.objects.exists()
    with pytest.raises(ReportError, match="không báo cáo cho"):
        submission_for(unit=district_a, period=period, by=reporter_a)


def test_a_unit_in_force_on_the_last_day_of_the_period_reports_for_it(catalogue, period, district_a, reporter_a):
    unit_close(unit=district_a, last_day=period.end)
    assert submission_for(unit=district_a, period=period, by=reporter_a).pk


@pytest.mark.parametrize("invisible", ["\u202e", "\u200b", "\ufeff", "\u2066"])
def test_invisible_characters_are_refused_in_notes_and_reasons(
    draft_a, submitted_a, reporter_a, secretariat, login, invisible
):
    from reports.services import validate_figure

    note = f"Số liệu {invisible}đã rà soát"
    errors = validate_figure("ratio", FigureInput(1, 2, note=note))
    assert "ký tự vô hình" in errors["note"][0]
    with pytest.raises(ReportError, match="ký tự vô hình"):
        submission_return(submission=submitted_a, by=secretariat, reason=f"Thiếu {invisible}tài liệu")
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.SUBMITTED


def test_vietnamese_text_is_not_taken_for_invisible_characters(submitted_a, secretariat):
    submission_return(submission=submitted_a, by=secretariat, reason="Thiếu tài liệu kiểm chứng — bổ sung trước 17/4")
    assert Submission.objects.get(pk=submitted_a.pk).status == SubmissionStatus.RETURNED


@pytest.mark.parametrize(
    ("key", "valid"), [("2025-Q4", True), ("2025-Q5", False), ("2025 Q4", False), ("2025-Y", True)]
)
def test_a_period_key_must_be_one_the_urls_accept(key, valid):
    from django.core.exceptions import ValidationError

    from reports.models import Period

    period = Period(key=key, kind="year", year=2025, start="2024-12-15", end="2025-12-14", deadline="2025-12-17")
    if valid:
        period.full_clean(exclude=["kind", "quarter"])
    else:
        with pytest.raises(ValidationError):
            period.full_clean(exclude=["kind", "quarter"])


@pytest.mark.parametrize("typed", ["١٢٣", "۱۲۳", "１２３"])  # Arabic-Indic, Persian and full-width digits
def test_digits_other_than_ascii_are_not_numbers(draft_a, reporter_a, login, typed):
    from cchc_portal.numbers import NotANumber, parse_decimal, parse_whole

    for parse in (parse_whole, parse_decimal):
        with pytest.raises(NotANumber):
            parse(typed)
    data = {"version": draft_a.version, "TTHC-08__numerator": typed, "TTHC-08__denominator": "200"}
    response = login(reporter_a).post(f"{URL}save/", data)
    assert response.status_code == 200  # the form again, with the field marked
    assert draft_a.figures.get(target__code="TTHC-08").numerator is None
    assert parse_whole("123") == 123 and parse_decimal("1.234,5") == parse_decimal("1234.5")
