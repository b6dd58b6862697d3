import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from conftest import COMPLETE
from reports.excel import figures_import, template_workbook
from reports.models import EventAction, Figure, Submission, SubmissionEvent, SubmissionStatus
from reports.periods import period_create
from reports.services import submission_approve, submission_for, submission_save_figures, submission_submit

pytestmark = pytest.mark.django_db

HEADERS = [
    "Kỳ báo cáo", "Mã đơn vị", "Đơn vị", "Mã chỉ tiêu", "Chỉ tiêu", "Cách nhập", "Ngưỡng",
    "Tử số", "Mẫu số", "Giá trị", "Ghi chú", "Kỳ trước",
]  # fmt: skip


def sheet_of(data: bytes):
    return load_workbook(io.BytesIO(data))["Số liệu"]


def rows_of(sheet) -> dict[tuple[str, str], dict]:
    return {(r[1], r[3]): dict(zip(HEADERS, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}


def as_upload(sheet) -> SimpleUploadedFile:
    out = io.BytesIO()
    sheet.parent.save(out)
    return SimpleUploadedFile("bao-cao.xlsx", out.getvalue())


def fill(sheet, values: dict[tuple[str, str], dict]):
    for row in sheet.iter_rows(min_row=2):
        key = (row[1].value, row[3].value)
        for header, value in values.get(key, {}).items():
            row[HEADERS.index(header)].value = value


@pytest.fixture
def last_quarter(catalogue, district_a, reporter_a, secretariat):
    """2024-Q4 approved for Nghi Lộc: the template shows it as 'previous period'."""
    previous = period_create(key="2024-Q4")
    submission = submission_for(unit=district_a, period=previous, by=reporter_a)
    submission_save_figures(submission=submission, figures=COMPLETE, by=reporter_a)
    submission_submit(submission=submission, by=reporter_a)
    submission_approve(submission=submission, by=secretariat)
    return previous


def test_template_is_prefilled_with_unit_targets_thresholds_and_last_period(last_quarter, period, district_a):
    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    assert [c.value for c in sheet[1]] == HEADERS
    rows = rows_of(sheet)
    assert set(rows) == {("429", "TTHC-08"), ("429", "TTHC-09"), ("429", "TCBM-02")}
    online = rows[("429", "TTHC-08")]
    assert (online["Kỳ báo cáo"], online["Đơn vị"], online["Ngưỡng"], online["Kỳ trước"]) == (
        "2025-Q1",
        "Huyện Nghi Lộc",
        80,
        "1.234/2.000",  # as a Vietnamese reader writes it
    )
    assert online["Cách nhập"].startswith("Tử số: Số hồ sơ công việc")
    assert rows[("429", "TTHC-09")]["Kỳ trước"] == "92,5"
    assert online["Tử số"] is None  # nothing reported yet this period


def test_round_trip_saves_every_figure_as_a_draft(catalogue, period, district_a, reporter_a):
    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    fill(
        sheet,
        {
            ("429", "TTHC-08"): {"Tử số": 1500, "Mẫu số": "2.000", "Ghi chú": "Theo một cửa điện tử"},
            ("429", "TTHC-09"): {"Giá trị": "91,5"},
            ("429", "TCBM-02"): {"Tử số": 88, "Mẫu số": 100},
        },
    )
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    assert result.ok, [str(e) for e in result.errors]
    assert result.saved == {"units": 1, "figures": 3}
    submission = Submission.objects.get(unit=district_a, period=period)
    assert submission.status == SubmissionStatus.DRAFT
    figures = {f.target.code: f for f in submission.figures.select_related("target")}
    assert (figures["TTHC-08"].numerator, figures["TTHC-08"].denominator, figures["TTHC-08"].note) == (
        1500,
        2000,
        "Theo một cửa điện tử",
    )
    assert figures["TTHC-09"].value == Decimal("91.5")
    assert SubmissionEvent.objects.filter(submission=submission, action=EventAction.IMPORTED, by=reporter_a).exists()
    # Downloading again shows what was imported.
    again = rows_of(sheet_of(template_workbook(period=period, units=[district_a])))
    assert (again[("429", "TTHC-08")]["Tử số"], again[("429", "TTHC-08")]["Mẫu số"]) == (1500, 2000)


def test_every_bad_row_is_named_and_nothing_is_saved(
    catalogue, period, district_a, district_b, reporter_a, secretariat
):
    data = template_workbook(period=period, units=[district_a, district_b])
    sheet = sheet_of(data)
    fill(
        sheet,
        {
            ("429", "TTHC-08"): {"Tử số": 2001, "Mẫu số": 2000},
            ("429", "TTHC-09"): {"Giá trị": "chín mươi"},
            ("429", "TCBM-02"): {"Tử số": 1.5, "Mẫu số": 100},
            ("425", "TTHC-08"): {"Tử số": "=1+1", "Mẫu số": 10},
            ("425", "TTHC-09"): {"Giá trị": 101},
        },
    )
    sheet.append(["2025-Q1", "99999", "", "TTHC-08", "", "", None, 1, 2])
    sheet.append(["2024-Q4", "429", "", "TTHC-08", "", "", None, 1, 2])
    result = figures_import(upload=as_upload(sheet), period=period, by=secretariat)
    assert sorted(str(e) for e in result.errors) == sorted(
        [
            "trang tính “Số liệu”, dòng 2, cột “Tử số”: Tử số không được lớn hơn mẫu số.",
            "trang tính “Số liệu”, dòng 3, cột “Giá trị”: Nhập một số.",
            "trang tính “Số liệu”, dòng 4, cột “Tử số”: Nhập số nguyên từ 0 trở lên.",
            "trang tính “Số liệu”, dòng 5, cột “Tử số”: Không chấp nhận công thức; hãy nhập giá trị.",
            "trang tính “Số liệu”, dòng 6, cột “Giá trị”: Tỷ lệ phần trăm phải từ 0 đến 100.",
            "trang tính “Số liệu”, dòng 8, cột “Mã đơn vị”: Mã đơn vị không tồn tại.",
            "trang tính “Số liệu”, dòng 9, cột “Kỳ báo cáo”: Tệp này dành cho kỳ báo cáo khác (2024-Q4).",
        ]
    )
    assert not Figure.objects.exclude(numerator=None).exists() and not Figure.objects.exclude(value=None).exists()


def test_secretariat_imports_a_district_with_its_communes(
    catalogue, period, district_a, commune_a1, commune_a2, secretariat
):
    from reports.selectors import units_due

    units = units_due(period).subtree(district_a)
    sheet = sheet_of(template_workbook(period=period, units=units))
    values = {}
    for code in ("429", "17700", "17701"):
        values[(code, "TTHC-08")] = {"Tử số": 30, "Mẫu số": 40}
        values[(code, "TTHC-09")] = {"Giá trị": 95}
    fill(sheet, values)
    result = figures_import(upload=as_upload(sheet), period=period, by=secretariat)
    assert result.ok, [str(e) for e in result.errors]
    assert result.saved["units"] == 3
    # Every figure written as typed, each report a draft with its "imported" entry in the timeline.
    stored = {
        (f.submission.unit.code, f.target.code): (f.numerator, f.denominator, f.value)
        for f in Figure.objects.filter(submission__period=period).select_related("submission__unit", "target")
    }
    for code in ("429", "17700", "17701"):
        assert stored[(code, "TTHC-08")] == (30, 40, None)
        assert stored[(code, "TTHC-09")] == (None, None, Decimal("95.00"))
    submissions = Submission.objects.filter(period=period)
    assert sorted(s.status for s in submissions) == ["draft"] * 3
    assert all(s.events.filter(action="imported", by=secretariat).count() == 1 for s in submissions)


def test_reporter_cannot_import_another_units_rows(catalogue, period, district_a, district_b, reporter_a):
    sheet = sheet_of(template_workbook(period=period, units=[district_a, district_b]))
    fill(sheet, {("429", "TTHC-09"): {"Giá trị": 95}, ("425", "TTHC-09"): {"Giá trị": 95}})
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    messages = [str(e) for e in result.errors]
    assert (
        "trang tính “Số liệu”, dòng 5, cột “Mã đơn vị”: Bạn không được phân công báo cáo cho Huyện Diễn Châu."
        in messages
    )
    assert not Submission.objects.exists()


def test_a_sent_report_is_not_overwritten(submitted_a, period, district_a, reporter_a):
    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    fill(sheet, {("429", "TTHC-09"): {"Giá trị": 10}})
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == [
        "trang tính “Số liệu”, dòng 2, cột “Mã đơn vị”: "
        "Báo cáo của Huyện Nghi Lộc đang ở trạng thái “Đã gửi”, không thể sửa."
    ]
    assert submitted_a.figures.get(target__code="TTHC-09").value == Decimal("92.5")


def test_missing_extra_and_outside_columns(catalogue, period, district_a, reporter_a):
    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    sheet.delete_cols(11)  # Ghi chú
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == ["trang tính “Số liệu”, dòng 1: Thiếu cột: Ghi chú."]

    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    sheet.cell(row=1, column=13, value="Cột thêm")
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == ["trang tính “Số liệu”, dòng 1: Thừa cột: Cột thêm."]

    sheet = sheet_of(template_workbook(period=period, units=[district_a]))
    sheet.cell(row=3, column=14, value=5)
    result = figures_import(upload=as_upload(sheet), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == [
        "trang tính “Số liệu”, dòng 3: Có dữ liệu nằm ngoài các cột của biểu mẫu."
    ]


def test_import_page_lists_errors_and_refuses_hostile_files(catalogue, period, district_a, login, reporter_a):
    client = login(reporter_a)
    template = client.get("/reports/2025-Q1/template.xlsx?unit=429")
    assert template.status_code == 200
    sheet = sheet_of(template.content)
    fill(sheet, {("429", "TTHC-09"): {"Giá trị": 120}})
    response = client.post("/reports/2025-Q1/import/", {"file": as_upload(sheet)})
    assert response.status_code == 400
    assert "dòng 3, cột “Giá trị”: Tỷ lệ phần trăm phải từ 0 đến 100." in response.content.decode()
    response = client.post("/reports/2025-Q1/import/", {"file": SimpleUploadedFile("a.xlsx", b"PK\x03\x04 not really")})
    assert "Tệp" in response.content.decode() and not Submission.objects.exists()
    fill(sheet, {("429", "TTHC-09"): {"Giá trị": 95}})
    response = client.post("/reports/2025-Q1/import/", {"file": as_upload(sheet)}, follow=True)
    assert "Đã nhập 3 số liệu của 1 đơn vị" in response.content.decode()


def test_people_without_a_reporting_role_cannot_import(catalogue, period, login, steering, unit_head_a):
    for user in (steering, unit_head_a):
        assert login(user).get("/reports/2025-Q1/import/").status_code == 403
