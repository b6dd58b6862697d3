"""The quarterly report as documents people send: the Word report in the form of Nghị định
30/2020/NĐ-CP, and the workbook annex that prints on A4."""

import datetime as dt
import io
import os
import shutil
import subprocess
from types import SimpleNamespace

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import load_workbook

from attainment.engine import period_recompute
from dashboard.documents import (
    DOCX_CONTENT_TYPE,
    RANKING_EDGE,
    Issuer,
    _ranking_rows,
    dated_line,
    issuer_of,
    quarterly_docx,
)
from dashboard.models import ExportFormat, ExportStatus, ReportExport
from dashboard.quarterly import quarterly_report
from dashboard.services import export_build, export_request
from reports.services import submission_approve
from targets.models import Target

pytestmark = pytest.mark.django_db

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"


@pytest.fixture
def results(catalogue, period, submitted_a, secretariat, steering, commune_a1, commune_b1):
    """Nghi Lộc's report approved (61,7% online dossiers), the others missing; results computed."""
    submission_approve(submission=submitted_a, by=secretariat)
    period_recompute(period)
    return period


@pytest.fixture
def december_first(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: dt.date(2026, 12, 1))


def _texts(container) -> list[str]:
    return [p.text for p in container.paragraphs]


def _runs(container, text: str):
    return [r for p in container.paragraphs for r in p.runs if r.text == text]


def _table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 12, 1), "Nghệ An, ngày 01 tháng 12 năm 2026"),
        (dt.date(2026, 3, 9), "Nghệ An, ngày 09 tháng 3 năm 2026"),  # from March on: no leading zero
        (dt.date(2026, 2, 10), "Nghệ An, ngày 10 tháng 02 năm 2026"),  # January and February take one
    ],
)
def test_the_date_line_is_written_as_decree_30_asks(day, expected):
    assert dated_line("Nghệ An", day) == expected


def test_the_issuer_and_place_come_from_the_province_name():
    assert issuer_of("Tỉnh Nghệ An") == Issuer("UBND TỈNH NGHỆ AN", "Nghệ An", "tỉnh")
    assert issuer_of("Thành phố Đà Nẵng") == Issuer("UBND THÀNH PHỐ ĐÀ NẴNG", "Đà Nẵng", "thành phố")


def test_the_word_report_has_the_administrative_form(results, december_first):
    document = Document(io.BytesIO(quarterly_docx(results)))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert section.orientation == WD_ORIENT.PORTRAIT
    normal = document.styles["Normal"]
    assert (normal.font.name, normal.font.size) == ("Times New Roman", Pt(14))
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "Times New Roman"

    header = document.tables[0]
    (issuer, nation), (number, date) = header.rows[0].cells, header.rows[1].cells
    assert _texts(issuer)[:2] == ["UBND TỈNH THỬ", "SỞ NỘI VỤ"]
    assert _runs(issuer, "SỞ NỘI VỤ")[0].bold
    assert _texts(nation)[:2] == [QUOC_HIEU, TIEU_NGU]
    assert _runs(nation, QUOC_HIEU)[0].bold and _runs(nation, TIEU_NGU)[0].bold
    assert _texts(number) == ["Số: …/BC-SNV"]
    assert _texts(date) == ["Thử, ngày 01 tháng 12 năm 2026"]
    assert _runs(date, "Thử, ngày 01 tháng 12 năm 2026")[0].italic
    assert header._tbl.tblPr.find(qn("w:tblBorders")).find(qn("w:top")).get(qn("w:val")) == "nil"

    body = _texts(document)
    title = body.index("BÁO CÁO")
    assert body[title + 1] == "Kết quả thực hiện các chỉ tiêu cải cách hành chính Quý I/2025"
    assert "Trong kỳ, 1/6 đơn vị đã gửi báo cáo (1 báo cáo đúng hạn, 0 báo cáo quá hạn), 1 báo cáo đã được duyệt; " \
        "5 đơn vị chưa gửi báo cáo." in body  # fmt: skip
    assert any(text.startswith("Toàn tỉnh đạt 2/3 chỉ tiêu có số liệu") for text in body)
    assert any("bao-cao-cchc-2025-Q1.xlsx" in text and "Phụ lục" in text for text in body)

    signature = document.tables[-1]
    receivers, signer = signature.rows[0].cells
    assert _texts(receivers) == ["Nơi nhận:", "- Ban Chỉ đạo CCHC tỉnh;", "- UBND tỉnh;", "- Lưu: VT, CCHC."]
    assert _texts(signer)[0] == "GIÁM ĐỐC" and _runs(signer, "GIÁM ĐỐC")[0].bold
    assert _texts(signer)[-1] == "[Họ và tên]"


def test_the_word_report_tables_carry_the_dashboard_figures_in_vietnamese_format(results):
    document = Document(io.BytesIO(quarterly_docx(results)))
    rows = [row for table in document.tables for row in _table_rows(table)]
    online = next(row for row in rows if row[1:2] == ["TTHC-08"])
    # The province's rate is Nghi Lộc's 1.234 online dossiers of 2.000: 61,7%, under the 80% threshold.
    assert online[2:] == ["Hồ sơ giải quyết trực tuyến", "≥ 80%", "61,7%", "Không đạt"]
    satisfaction = next(row for row in rows if row[1:2] == ["TTHC-09"])
    assert satisfaction[3:] == ["≥ 90%", "92,5%", "Đạt"]
    ranked = [row for row in rows if row[1:2] == ["Huyện Nghi Lộc"] and "/" in row[0]]
    assert ranked, "Nghi Lộc is in its level's ranking table"
    laggard = next(row for row in rows if row[1:2] == ["Huyện Diễn Châu"] and row[0].isdigit())
    assert laggard[2] and laggard[3] == "Steering"  # its reasons, and the member responsible for it


def test_an_area_without_a_quantified_target_is_said_so_without_a_table(results):
    from targets.tests.factories import AreaFactory

    AreaFactory(code="TC", name="Cải cách thể chế", order=1)
    document = Document(io.BytesIO(quarterly_docx(results)))
    body = _texts(document)
    assert "1. Cải cách thể chế: không có chỉ tiêu định lượng được theo dõi trong kỳ." in body
    assert "2. Cải cách thủ tục hành chính: đạt 1/2 chỉ tiêu có số liệu." in body
    assert len([t for t in document.tables if _table_rows(t)[0][:2] == ["TT", "Mã"]]) == 2  # one per area with targets


@pytest.mark.parametrize(
    ("limit", "rows", "intro"),
    [
        (5, 5, "Danh sách các đơn vị chậm tiến độ:"),  # just fits: every laggard is listed
        (4, 4, "4 đơn vị chậm tiến độ nhiều nhất (danh sách đầy đủ 5 đơn vị tại Phụ lục):"),  # one too many
    ],
)
def test_the_laggards_table_lists_the_most_severe_and_sends_to_the_annex_for_the_rest(
    results, monkeypatch, limit, rows, intro
):
    monkeypatch.setattr("dashboard.documents.LAGGARD_ROWS", limit)
    document = Document(io.BytesIO(quarterly_docx(results)))
    body = _texts(document)
    # Five units are flagged: the four that sent nothing, and Sở Nội vụ.
    assert "Trong kỳ có 5 đơn vị chậm tiến độ (chưa gửi báo cáo: 5 đơn vị)." in body
    table = next(t for t in document.tables if _table_rows(t)[0] == ["TT", "Đơn vị", "Lý do", "Thành viên phụ trách"])
    assert len(table.rows) - 1 == rows and intro in body
    by_member = next(t for t in document.tables if _table_rows(t)[0] == ["TT", "Thành viên phụ trách", "Số đơn vị"])
    assert _table_rows(by_member)[1:] == [["1", "Steering", "4"], ["2", "Chưa phân công", "1"]]


def test_text_from_the_database_is_written_as_plain_runs(results):
    Target.objects.filter(code="TTHC-08").update(title='=HYPERLINK("http://x","bấm")\x07 <w:b/>')
    content = quarterly_docx(results)
    document = Document(io.BytesIO(content))
    cells = [cell for table in document.tables for row in table.rows for cell in row.cells]
    assert any(cell.text == '=HYPERLINK("http://x","bấm") <w:b/>' for cell in cells)
    body = document.element.body
    assert not body.findall(".//" + qn("w:fldSimple")) and not body.findall(".//" + qn("w:instrText"))
    assert not body.findall(".//" + qn("w:hyperlink"))


def _score(rank: int) -> SimpleNamespace:
    unit = SimpleNamespace(name=f"Đơn vị {rank}")
    return SimpleNamespace(
        rank=rank, rank_of=99, unit=unit, score=50, targets_met=1, targets_total=3, get_band_display=lambda: "Yếu"
    )


def test_a_ranking_table_shows_the_top_and_the_bottom_of_a_long_level():
    short = _ranking_rows([_score(n) for n in range(1, 2 * RANKING_EDGE + 1)])
    assert [row[1] for row in short] == [f"Đơn vị {n}" for n in range(1, 2 * RANKING_EDGE + 1)]
    long = _ranking_rows([_score(n) for n in range(1, 2 * RANKING_EDGE + 2)])
    assert len(long) == 2 * RANKING_EDGE + 1 and long[RANKING_EDGE] == ["…"] * 5
    assert long[0][1] == "Đơn vị 1" and long[-1][1] == f"Đơn vị {2 * RANKING_EDGE + 1}"


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def soffice():
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) not found: .ci/run must install libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) not found (apt-get install libreoffice-writer-nogui)")
    return SOFFICE


def test_the_word_report_opens_in_libreoffice_and_converts_to_pdf(results, soffice, tmp_path):
    source = tmp_path / "bao-cao-cchc-2025-Q1.docx"
    source.write_bytes(quarterly_docx(results))
    command = [
        soffice,
        f"-env:UserInstallation=file://{tmp_path}/lo",  # its own profile: parallel runs do not clash
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(tmp_path),
        str(source),
    ]
    subprocess.run(command, check=True, timeout=120, capture_output=True)
    pdf = tmp_path / "bao-cao-cchc-2025-Q1.pdf"
    assert pdf.exists()
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 5000
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, str(pdf), "-"], check=True, timeout=60, capture_output=True).stdout
        text = " ".join(text.decode().split())
        assert QUOC_HIEU in text and "GIÁM ĐỐC" in text and "Số: …/BC-SNV" in text


def test_the_word_report_is_requested_built_and_downloaded(
    results, login, steering, reporter_a, monkeypatch, django_capture_on_commit_callbacks
):
    from cchc_portal.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    assert login(reporter_a).post("/dashboard/report/", {"period": "2025-Q1", "format": "docx"}).status_code == 403
    client = login(steering)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/dashboard/report/", {"period": "2025-Q1", "format": "docx"})
    export = ReportExport.objects.get()
    assert export.format == ExportFormat.DOCX and response["Location"] == f"/dashboard/report/{export.pk}/"
    # The worker ran after the request's transaction committed (eager here); the page offers the file.
    export.refresh_from_db()
    assert (export.status, export.progress) == (ExportStatus.DONE, 100)
    status = client.get(response["Location"]).content.decode()
    assert 'data-format="docx"' in status and f'href="/dashboard/report/{export.pk}/download/"' in status
    assert "hx-trigger" not in status
    download = client.get(f"/dashboard/report/{export.pk}/download/")
    assert download["Content-Type"] == DOCX_CONTENT_TYPE
    assert 'filename="bao-cao-cchc-2025-Q1.docx"' in download["Content-Disposition"]
    document = Document(io.BytesIO(b"".join(download.streaming_content)))
    assert QUOC_HIEU in [p.text for p in document.tables[0].rows[0].cells[1].paragraphs]


def test_the_workbook_is_still_the_default_and_an_unknown_format_is_not_found(
    results, login, steering, monkeypatch, django_capture_on_commit_callbacks
):
    from cchc_portal.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    client = login(steering)
    for unknown in ("pdf", "", "DOCX"):
        assert client.post("/dashboard/report/", {"period": "2025-Q1", "format": unknown}).status_code == 404
    assert not ReportExport.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/dashboard/report/", {"period": "2025-Q1", "format": "xlsx"})
    export = ReportExport.objects.get()
    download = client.get(f"/dashboard/report/{export.pk}/download/")
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="bao-cao-cchc-2025-Q1.xlsx"' in download["Content-Disposition"]


def test_building_a_word_export_twice_does_not_rebuild_it(results, steering, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        export = export_request(period=results, by=steering, format=ExportFormat.DOCX)
    name = export_build(export.pk)
    assert name.endswith("/bao-cao-cchc-2025-Q1.docx")
    assert export_build(export.pk) == name
    export.refresh_from_db()
    assert (export.status, export.progress, export.file.name) == (ExportStatus.DONE, 100, name)


def test_an_unknown_format_is_refused_by_the_service(results, steering):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        export_request(period=results, by=steering, format="pdf")
    assert not ReportExport.objects.exists()


def test_a_word_report_request_with_the_broker_down_says_so(
    results, login, steering, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from dashboard.tasks import build_quarterly_report

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(build_quarterly_report, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        login(steering).post("/dashboard/report/", {"period": "2025-Q1", "format": "docx"})
    export = ReportExport.objects.get()
    assert (export.format, export.status) == (ExportFormat.DOCX, ExportStatus.FAILED)


def test_every_sheet_of_the_workbook_prints_on_a4_landscape_with_its_header_repeated(results, december_first):
    workbook = load_workbook(io.BytesIO(quarterly_report(results)))
    assert workbook.sheetnames == ["2. TTHC", "3. TCBM", "Xếp hạng", "Đơn vị chậm tiến độ"]
    for sheet in workbook.worksheets:
        assert sheet.page_setup.paperSize == 9, sheet.title  # A4
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True, sheet.title
        assert sheet.print_title_rows == "$7:$7", sheet.title  # the table's header row
        assert sheet.freeze_panes == "A8", sheet.title
        assert sheet["A1"].value == "UBND TỈNH THỬ"  # the administrative header block is kept
        assert "Thử, ngày 01 tháng 12 năm 2026" in [c.value for c in sheet[3]]
    assert workbook["2. TTHC"]["A7"].value == "STT"
