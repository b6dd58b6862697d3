import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from attainment.engine import period_recompute
from reports.models import Figure, Submission, SubmissionStatus
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind, Role, Unit
from units.services import units_rebuild_derived
from units.tests.factories import RoleAssignmentFactory

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/heatmap/", "/dashboard/ranking/", "/dashboard/laggards/"]


@pytest.fixture
def results(catalogue, period, submitted_a, secretariat, steering, commune_a1, commune_b1):
    from reports.services import submission_approve

    submission_approve(submission=submitted_a, by=secretariat)
    period_recompute(period)
    return period


@pytest.mark.parametrize("url", PAGES)
def test_province_pages_are_for_the_secretariat_and_the_steering_committee(
    results, login, client, url, secretariat, steering, reporter_a, unit_head_a
):
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user, status in ((secretariat, 200), (steering, 200), (reporter_a, 403), (unit_head_a, 403)):
        assert login(user).get(url, {"period": "2025-Q1"}).status_code == status, user


def test_unit_page_for_its_own_people_and_the_committee(results, login, reporter_a, reporter_b, steering, unit_head_a):
    assert login(reporter_a).get("/dashboard/units/429/").status_code == 200
    assert login(unit_head_a).get("/dashboard/units/429/").status_code == 200
    assert login(steering).get("/dashboard/units/425/").status_code == 200
    assert login(reporter_b).get("/dashboard/units/429/").status_code == 404


def test_overview_shows_targets_against_thresholds_and_completeness(results, login, steering):
    response = login(steering).get("/dashboard/", {"period": "2025-Q1"})
    body = response.content.decode()
    assert "TTHC-08" in body and "61,7" in body  # the only approved figure: 1234 / 2000
    completeness = response.context["completeness"]
    assert (completeness["due"], completeness["sent"], completeness["approved"], completeness["missing"]) == (
        6,
        1,
        1,
        5,
    )
    assert 'id="overview-data"' in body  # the chart's numbers, for charts.js


def test_heatmap_filters_to_my_units(results, login, steering, dept):
    response = login(steering).get("/dashboard/heatmap/", {"period": "2025-Q1", "mine": "on"})
    names = [unit.name for unit, _cells in response.context["rows"]]
    assert set(names) == {"Huyện Nghi Lộc", "Xã Nghi Phong", "Thị trấn Quán Hành", "Huyện Diễn Châu", "Xã Diễn Kỷ"}
    assert "Sở Nội vụ" not in names
    cell = dict(response.context["rows"])[Unit.objects.get(code="429")][0]
    assert (cell.status, cell.value) == ("behind", Decimal("61.7"))


def test_ranking_and_laggards(results, login, secretariat, steering):
    client = login(secretariat)
    page = client.get("/dashboard/ranking/", {"period": "2025-Q1", "level": "district"})
    assert [s.unit.code for s in page.context["scores"]] == ["429"]
    # Diễn Châu has no approved figure: no score, no rank, listed apart as "Chưa có số liệu".
    assert [u.code for u in page.context["unranked"]] == ["425"]
    assert "Chưa có số liệu" in page.content.decode()
    groups = client.get("/dashboard/laggards/", {"period": "2025-Q1"}).context["groups"]
    members = [member for member, _flags in groups]
    assert steering in members
    flagged = {flag.unit.code for member, flags in groups if member == steering for flag in flags}
    assert "425" in flagged  # Diễn Châu sent nothing


@pytest.mark.parametrize("url, first_header", [
    ("/dashboard/", "Lĩnh vực"), ("/dashboard/heatmap/", "Mã đơn vị"), ("/dashboard/ranking/", "Thứ hạng"),
    ("/dashboard/laggards/", "Thành viên phụ trách"),
])  # fmt: skip
def test_every_table_downloads_as_xlsx(results, login, secretariat, url, first_header):
    response = login(secretariat).get(url, {"period": "2025-Q1", "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=1, column=1).value == "Tỉnh Thử"  # the title block: province, table and period, date
    assert "Quý I/2025" in sheet.cell(row=2, column=1).value
    assert sheet.cell(row=3, column=1).value.startswith("Ngày xuất: ")
    header = next(row for row in range(1, 10) if sheet.cell(row=row, column=1).value == first_header)
    assert sheet.print_title_rows == f"${header}:${header}" and sheet.page_setup.orientation == "landscape"
    assert sheet.max_row > header


def _generated_province(tree, period, communes: int, start: int = 0) -> None:
    """`communes` more communes under Nghi Lộc, each with an approved report on every target."""
    district = Unit.objects.get(code="429")
    Unit.objects.bulk_create(
        Unit(code=f"G{i:05d}", name=f"Xã Sinh {i}", kind=Kind.COMMUNE, parent=district, valid_from=district.valid_from)
        for i in range(start, start + communes)
    )
    units_rebuild_derived()
    units = list(Unit.objects.filter(code__startswith="G", submissions__isnull=True))
    submissions = Submission.objects.bulk_create(
        Submission(unit=u, period=period, status=SubmissionStatus.APPROVED) for u in units
    )
    targets = list(period_targets())
    Figure.objects.bulk_create(
        Figure(submission=s, target=t, measure=t.measure, numerator=i % 40, denominator=40)
        for i, s in enumerate(submissions)
        for t in targets
    )
    period_recompute(period)


def period_targets():
    from targets.models import Target

    return Target.objects.filter(measure="ratio", for_commune=True)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, {"period": "2025-Q1"}).status_code == 200
    return len(captured)


def test_pages_run_a_bounded_number_of_queries_on_500_units(tree, period, login, secretariat, steering):
    target = TargetFactory(code="CQS-05")
    threshold(target, "60")
    RoleAssignmentFactory(user=steering, role=Role.STEERING, unit=tree)
    _generated_province(tree, period, 20)
    client = login(steering)
    small = {
        url: _queries(client, url) for url in PAGES + ["/dashboard/heatmap/?mine=on", "/dashboard/targets/CQS-05/"]
    }
    _generated_province(tree, period, 480, start=20)
    assert Unit.objects.count() >= 500
    large = {url: _queries(client, url) for url in small}
    assert large == small, (small, large)
    assert max(large.values()) <= 25


def test_target_page_shows_distribution_trend_and_who_misses_it(results, login, steering, reporter_a):
    client = login(steering)
    response = client.get("/dashboard/targets/TTHC-08/", {"period": "2025-Q1"})
    assert response.status_code == 200
    assert response.context["buckets"][6] == 1  # Nghi Lộc's 61,7% is in 60-70%
    assert [r.unit.code for r in response.context["missing"]] == ["429"]
    assert [float(r.value) for r in response.context["trend"]] == [61.7]
    assert login(reporter_a).get("/dashboard/targets/TTHC-08/").status_code == 403


def test_quarterly_report_is_built_by_a_task_and_downloaded(
    results, login, steering, reporter_a, monkeypatch, django_capture_on_commit_callbacks
):
    from cchc_portal.celery import app
    from dashboard.models import ExportStatus, ReportExport
    from targets.models import Target

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    Target.objects.filter(code="TTHC-08").update(title='=HYPERLINK("http://x","bấm")')
    assert login(reporter_a).post("/dashboard/report/", {"period": "2025-Q1"}).status_code == 403
    client = login(steering)
    with django_capture_on_commit_callbacks(execute=True):
        with_commit = client.post("/dashboard/report/", {"period": "2025-Q1"})
    export = ReportExport.objects.get()
    assert with_commit["Location"] == f"/dashboard/report/{export.pk}/"
    # The worker ran after the request's transaction committed (eager here).
    export.refresh_from_db()
    assert (export.status, export.progress) == (ExportStatus.DONE, 100)
    status = client.get(f"/dashboard/report/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in status and "Tải báo cáo (.xlsx)" in status
    download = client.get(f"/dashboard/report/{export.pk}/download/")
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert workbook.sheetnames == ["2. TTHC", "3. TCBM", "Xếp hạng", "Đơn vị chậm tiến độ"]
    sheet = workbook["2. TTHC"]
    assert sheet["A1"].value == "UBND TỈNH THỬ"
    assert sheet["A1"].font.name == "Times New Roman"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in [c.value for c in sheet[1]]
    injected = next(c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert injected.data_type == "s"  # text, never a formula


def test_export_progress_is_polled_until_ready(results, steering, login):
    from dashboard.models import ReportExport

    export = ReportExport.objects.create(period=results, requested_by=steering)
    body = login(steering).get(f"/dashboard/report/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in body and "Đang chờ" in body
    assert login(steering).get(f"/dashboard/report/{export.pk}/download/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/?period=%00",
        "/dashboard/heatmap/?district=%00&area=a%00",
        "/dashboard/ranking/?period=x%00&level=%00",
    ],
)
def test_odd_query_strings_are_ignored(results, login, steering, url):
    assert login(steering).get(url).status_code == 200


def test_a_member_sees_their_own_laggards_first(results, login, steering, tree):
    other = RoleAssignmentFactory(role=Role.STEERING, unit=tree, user__full_name="Anh Ai Đó").user
    from attainment.engine import period_recompute as recompute

    recompute(results)
    members = [m for m, _flags in login(steering).get("/dashboard/laggards/").context["groups"]]
    assert members[0] == steering and other in members


def test_report_request_with_the_broker_down_says_so(
    results, login, steering, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from dashboard.models import ExportStatus, ReportExport
    from dashboard.tasks import build_quarterly_report

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(build_quarterly_report, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        login(steering).post("/dashboard/report/", {"period": "2025-Q1"})
    export = ReportExport.objects.get()
    assert export.status == ExportStatus.FAILED
    body = login(steering).get(f"/dashboard/report/{export.pk}/").content.decode()
    assert "Không tạo được báo cáo" in body and "hx-trigger" not in body


def test_aggregate_periods_show_no_reporting_cards(results, login, steering):
    from reports.periods import period_create

    half = period_create(key="2025-H1")
    period_recompute(half)
    response = login(steering).get("/dashboard/", {"period": "2025-H1"})
    assert response.context["completeness"] is None
    assert "Các đơn vị báo cáo theo quý" in response.content.decode()


def test_unit_page_downloads_as_xlsx(results, login, reporter_a):
    response = login(reporter_a).get("/dashboard/units/429/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Tỉnh Thử" and rows[1][0].startswith("Kết quả của Huyện Nghi Lộc · Giai đoạn")
    assert rows[4][:4] == ("Chỉ tiêu", "Chỉ tiêu báo cáo", "Kỳ báo cáo", "Giá trị")
    assert ("TTHC-08", "TTHC-08", "Quý I/2025", 61.7) in [r[:4] for r in rows]


def test_chart_and_heatmap_colour_a_result_by_the_one_status_rule(
    catalogue, period, district_a, reporter_a, secretariat, steering, login
):
    from reports.services import (
        FigureInput,
        submission_approve,
        submission_for,
        submission_save_figures,
        submission_submit,
    )

    figures = {
        "TTHC-08": FigureInput(810, 1000),  # 81% against 80: met, within 2 points of the line
        "TTHC-09": FigureInput(value=Decimal("95")),  # 95 against 90: met with room
        "TCBM-02": FigureInput(95, 100),  # a 5% cut against 10%: behind
    }
    submission = submission_for(unit=district_a, period=period, by=reporter_a)
    submission_save_figures(submission=submission, figures=figures, by=reporter_a)
    submission_approve(submission=submission_submit(submission=submission, by=reporter_a), by=secretariat)
    period_recompute(period)
    client = login(steering)
    chart = {bar["code"]: bar["status"] for bar in client.get("/dashboard/", {"period": "2025-Q1"}).context["chart"]}
    assert chart == {"TTHC-08": "at_risk", "TTHC-09": "met", "TCBM-02": "behind"}
    heatmap = client.get("/dashboard/heatmap/", {"period": "2025-Q1", "level": "district"}).context
    cells = dict(heatmap["rows"])[district_a]
    assert {t.code: c.status for t, c in zip(heatmap["targets"], cells, strict=True)} == chart


def test_the_workbooks_colour_a_status_as_the_page_does(results, login, secretariat):
    import re
    from pathlib import Path

    from dashboard.colours import STATUS_COLOURS

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "portal.css").read_text()
    on_the_page = dict(re.findall(r"--status-(\w+): #([0-9a-f]{6})", css))
    assert on_the_page == STATUS_COLOURS
    response = login(secretariat).get("/dashboard/heatmap/", {"period": "2025-Q1", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = next(row for row in range(1, 10) if sheet.cell(row=row, column=1).value == "Mã đơn vị")
    codes = [sheet.cell(row=header, column=c).value for c in range(1, sheet.max_column + 1)]
    row = next(r for r in range(header + 1, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == "429")
    cell = sheet.cell(row=row, column=codes.index("TTHC-08") + 1)
    assert cell.value == 61.7 and cell.fill.fgColor.rgb == "FF" + STATUS_COLOURS["behind"].upper()
    overview = load_workbook(
        io.BytesIO(login(secretariat).get("/dashboard/", {"period": "2025-Q1", "format": "xlsx"}).content)
    ).active
    statuses = [c.value for c in overview["H"] if c.value in ("Đạt", "Có nguy cơ", "Không đạt", "Chưa có số liệu")]
    assert statuses and all(statuses)
