"""Inputs and sequences that once lost, changed or crashed something."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from conftest import COMPLETE
from reports.excel import figures_import, template_workbook
from reports.models import PeriodEvent, PeriodState, Submission, SubmissionStatus
from reports.periods import period_create, period_set_deadline, period_set_state
from reports.services import (
    FigureInput,
    ReportError,
    submission_approve,
    submission_reopen,
    submission_return,
    submission_save_figures,
    submission_submit,
)

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/"


def workbook_with(period, unit, **cells):
    """The unit's template with cells set on the TTHC-08 and TTHC-09 rows (header name -> value)."""
    sheet = load_workbook(io.BytesIO(template_workbook(period=period, units=[unit])))["Số liệu"]
    headers = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for key, value in cells.items():
            code, header = key.split(":")
            if row[3].value == code:
                row[headers.index(header)].value = value
    out = io.BytesIO()
    sheet.parent.save(out)
    return SimpleUploadedFile("bao-cao.xlsx", out.getvalue())


@pytest.mark.parametrize(
    "cells, message",
    [
        ({"TTHC-08:Tử số": "2.5", "TTHC-08:Mẫu số": 10}, "dòng 2, cột “Tử số”: Nhập số nguyên từ 0 trở lên."),
        ({"TTHC-08:Tử số": "1.0", "TTHC-08:Mẫu số": 10}, "dòng 2, cột “Tử số”: Nhập số nguyên từ 0 trở lên."),
        ({"TTHC-09:Giá trị": "92,567"}, "dòng 3, cột “Giá trị”: Nhập tối đa 2 chữ số thập phân."),
        ({"TTHC-09:Giá trị": 92.567}, "dòng 3, cột “Giá trị”: Nhập tối đa 2 chữ số thập phân."),
        ({"TTHC-08:Tử số": "1e19", "TTHC-08:Mẫu số": 10}, "dòng 2, cột “Tử số”: Nhập số nguyên từ 0 trở lên."),
        ({"TTHC-08:Tử số": 10**19, "TTHC-08:Mẫu số": 10**19}, "dòng 2, cột “Tử số”: Số quá lớn."),
        ({"TTHC-09:Giá trị": "123456789012345678"}, "dòng 3, cột “Giá trị”: Số quá lớn."),
    ],
)
def test_excel_numbers_are_never_silently_changed(catalogue, period, district_a, reporter_a, cells, message):
    result = figures_import(upload=workbook_with(period, district_a, **cells), period=period, by=reporter_a)
    assert any(message in str(e) for e in result.errors), [str(e) for e in result.errors]
    assert not Submission.objects.exists()


def test_grouped_thousands_in_text_are_read_as_thousands(catalogue, period, district_a, reporter_a):
    cells = {"TTHC-08:Tử số": "1.234", "TTHC-08:Mẫu số": "2.000", "TTHC-09:Giá trị": "92,5"}
    result = figures_import(upload=workbook_with(period, district_a, **cells), period=period, by=reporter_a)
    assert result.ok
    figure = Submission.objects.get().figures.get(target__code="TTHC-08")
    assert (figure.numerator, figure.denominator) == (1234, 2000)


def test_an_older_workbook_does_not_erase_newer_figures(draft_a, period, district_a, reporter_a):
    old_workbook = workbook_with(period, district_a, **{"TTHC-09:Giá trị": 91})  # downloaded while still empty
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)  # then typed on the web
    result = figures_import(upload=old_workbook, period=period, by=reporter_a)
    assert result.ok
    figures = {f.target.code: f for f in draft_a.figures.select_related("target")}
    assert (figures["TTHC-08"].numerator, figures["TTHC-08"].denominator) == (1234, 2000)  # blank cells kept them
    assert figures["TTHC-09"].value == Decimal(91)  # the filled cell replaced its figure


def test_excel_import_into_a_closed_period_is_refused_not_crashed(catalogue, period, district_a, login, reporter_a):
    upload = workbook_with(period, district_a, **{"TTHC-09:Giá trị": 91})
    period_set_state(period=period, state=PeriodState.CLOSED)
    response = login(reporter_a).post("/reports/2025-Q1/import/", {"file": upload})
    assert response.status_code == 400
    assert "Kỳ báo cáo Quý I/2025 đã đóng, không nhận báo cáo." in response.content.decode()


def test_huge_number_in_the_form_is_an_error_not_a_crash(catalogue, period, login, reporter_a):
    response = login(reporter_a).post(URL + "save/", {"version": 0, "TTHC-08__numerator": "9" * 20})
    assert response.status_code == 200
    assert "nhỏ hơn hoặc bằng với 1000000000000000" in response.content.decode()


def test_reopening_needs_an_open_period(submitted_a, secretariat, period):
    submission_approve(submission=submitted_a, by=secretariat)
    period_set_state(period=period, state=PeriodState.CLOSED)
    submitted_a.refresh_from_db()
    with pytest.raises(ReportError, match="đã đóng"):
        submission_reopen(submission=submitted_a, by=secretariat, reason="Sửa")
    assert Submission.objects.get().status == SubmissionStatus.APPROVED


def test_on_time_report_returned_and_resent_late_stays_on_time(submitted_a, secretariat, reporter_a, period):
    submission_return(submission=submitted_a, by=secretariat, reason="Sửa mẫu số")
    # First sent three days ago, before the deadline of yesterday; sent again today.
    Submission.objects.filter(pk=submitted_a.pk).update(first_submitted_at=timezone.now() - dt.timedelta(days=3))
    period.deadline = timezone.localdate() - dt.timedelta(days=1)
    period.save()
    submitted_a.refresh_from_db()
    submission_submit(submission=submitted_a, by=reporter_a)
    assert submitted_a.is_late is False


def test_conflicting_save_keeps_what_was_typed_and_can_be_saved_again(draft_a, login, reporter_a):
    client = login(reporter_a)
    stale_version = draft_a.version
    submission_save_figures(submission=draft_a, figures={"TTHC-09": FigureInput(value=Decimal(80))}, by=reporter_a)
    data = {"version": stale_version, "TTHC-09__value": "95"}
    response = client.post(URL + "save/", data)
    body = response.content.decode()
    assert "Số liệu bạn nhập vẫn còn trên trang" in body and 'value="95"' in body
    assert draft_a.figures.get(target__code="TTHC-09").value == Decimal(80)
    version = response.context["form"].data["version"]
    client.post(URL + "save/", {**data, "version": version})
    assert draft_a.figures.get(target__code="TTHC-09").value == Decimal(95)


def test_calendar_periods_are_due_after_their_data_ends(db):
    period = period_create(key="2025-Q2", calendar=True)
    assert (period.start, period.end, period.deadline) == (
        dt.date(2025, 4, 1),
        dt.date(2025, 6, 30),
        dt.date(2025, 7, 17),
    )
    assert period_create(key="2025-Q4", calendar=True).deadline == dt.date(2026, 1, 17)


def test_period_changes_are_recorded_and_the_first_lock_is_kept(period, secretariat):
    original = period.deadline
    period_set_state(period=period, state=PeriodState.LOCKED, by=secretariat)
    first_lock = period.locked_at
    period_set_state(period=period, state=PeriodState.OPEN, by=secretariat)
    period_set_state(period=period, state=PeriodState.LOCKED, by=secretariat)
    period_set_deadline(period=period, deadline=dt.date(2025, 3, 20), by=secretariat)
    assert period.locked_at == first_lock
    events = list(PeriodEvent.objects.filter(period=period).order_by("at", "id").values_list("changes", "by"))
    assert [changes for changes, _by in events] == [
        {"state": ["open", "locked"]},
        {"state": ["locked", "open"]},
        {"state": ["open", "locked"]},
        {"deadline": [original.isoformat(), "2025-03-20"]},
    ]
    assert {by for _changes, by in events} == {secretariat.pk}


@pytest.mark.parametrize(
    "url",
    ["/reports/%00/429/", "/reports/2025-Q1/%00/", "/reports/%00/import/", "/reports/2025-Q1/template.xlsx?unit=%00"],
)
def test_nul_bytes_in_urls_are_404(catalogue, period, login, secretariat, url):
    assert login(secretariat).get(url).status_code == 404


def test_not_found_and_forbidden_pages_speak_vietnamese(catalogue, period, login, reporter_b):
    client = login(reporter_b)
    assert "Không tìm thấy trang" in client.get(URL).content.decode()
    assert "Vai trò của bạn không cho phép" in client.get("/reports/review/").content.decode()
