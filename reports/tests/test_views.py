from decimal import Decimal

import pytest

from conftest import COMPLETE
from reports.models import Period, Submission, SubmissionEvent, SubmissionStatus
from reports.services import FigureInput, submission_for, submission_save_figures, submission_submit
from units.models import Role

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/"
COMMUNE_COMPLETE = {"TTHC-08": FigureInput(numerator=10, denominator=20), "TTHC-09": FigureInput(value=Decimal(95))}


def form_data(version=0, **figures):
    data = {"version": version}
    for key, value in figures.items():
        code, field = key.rsplit("_", 1)
        data[f"{code.replace('_', '-')}__{field}"] = value
    return data


FULL = form_data(
    TTHC_08_numerator="1.234",
    TTHC_08_denominator="2.000",
    TTHC_09_value="92,5",
    TCBM_02_numerator="90",
    TCBM_02_denominator="100",
)


def test_reporter_opens_own_report_before_it_exists(catalogue, period, login, reporter_a):
    response = login(reporter_a).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Báo cáo của Huyện Nghi Lộc · Quý I/2025" in body
    assert "Hồ sơ giải quyết trực tuyến" in body and "Lưu nháp" in body
    assert not Submission.objects.exists()  # reading creates nothing


def test_reporter_saves_a_draft_with_vietnamese_numbers(catalogue, period, login, reporter_a):
    response = login(reporter_a).post(URL + "save/", FULL)
    assert response.status_code == 302
    submission = Submission.objects.get(unit__code="429")
    figures = {f.target.code: f for f in submission.figures.select_related("target")}
    assert (figures["TTHC-08"].numerator, figures["TTHC-08"].denominator) == (1234, 2000)
    assert figures["TTHC-09"].value == Decimal("92.5")
    assert submission.status == SubmissionStatus.DRAFT


def test_htmx_save_answers_with_the_form_only(catalogue, period, login, reporter_a):
    response = login(reporter_a).post(URL + "save/", FULL, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "Đã lưu nháp." in body and 'data-testid="figures-form"' in body
    assert "61,7%" in body  # 1234 / 2000


def test_validation_messages_name_the_field(catalogue, period, login, reporter_a):
    data = {**FULL, "TTHC-08__numerator": "2001", "TTHC-09__value": "abc"}
    response = login(reporter_a).post(URL + "save/", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Tử số không được lớn hơn mẫu số." in body
    assert "Nhập một số." in body
    assert not Submission.objects.exists() or not Submission.objects.get().figures.exclude(numerator=None).exists()


def test_reporter_sends_for_review(catalogue, period, login, reporter_a):
    client = login(reporter_a)
    response = client.post(URL + "save/", {**FULL, "submit": "1"}, follow=True)
    assert "Đã gửi báo cáo để Sở Nội vụ duyệt." in response.content.decode()
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED
    # Sent: the form is read-only now.
    assert "Lưu nháp" not in client.get(URL).content.decode()


def test_incomplete_report_cannot_be_sent(catalogue, period, login, reporter_a):
    response = login(reporter_a).post(URL + "save/", {**form_data(TTHC_08_numerator="5"), "submit": "1"})
    assert "Bắt buộc nhập trước khi gửi." in response.content.decode()
    assert Submission.objects.get().status == SubmissionStatus.DRAFT


def test_reporter_of_another_unit_gets_404_and_changes_nothing(catalogue, period, draft_a, login, reporter_b):
    client = login(reporter_b)
    assert client.get(URL).status_code == 404
    assert client.post(URL + "save/", FULL).status_code == 404
    assert client.post(URL + "approve/", {}).status_code == 404
    assert client.get("/reports/2025-Q1/template.xlsx?unit=429").status_code == 404
    assert not draft_a.figures.exclude(numerator=None).exists()
    assert SubmissionEvent.objects.filter(submission=draft_a).count() == 1  # created only


def test_unit_head_and_steering_read_but_cannot_write(catalogue, period, submitted_a, login, unit_head_a, steering):
    for user in (unit_head_a, steering):
        client = login(user)
        assert client.get(URL).status_code == 200
        assert client.post(URL + "save/", FULL).status_code == 403
        assert client.post(URL + "approve/", {"version": submitted_a.version}).status_code == 403
        assert client.post(URL + "return/", {"reason": "x"}).status_code == 403
        assert client.get("/reports/review/").status_code == 403
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED


def test_reporter_cannot_review_own_report(submitted_a, login, reporter_a):
    client = login(reporter_a)
    assert client.post(URL + "approve/", {}).status_code == 403
    assert client.post(URL + "reopen/", {"reason": "x"}).status_code == 403
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED


def test_secretariat_approves_from_the_queue(submitted_a, login, secretariat):
    client = login(secretariat)
    queue = client.get("/reports/review/", {"period": "2025-Q1"})
    assert "Huyện Nghi Lộc" in queue.content.decode()
    response = client.post(
        URL + "approve/", {"version": submitted_a.version, "next": "/reports/review/?period=2025-Q1"}
    )
    assert response.status_code == 302 and response["Location"] == "/reports/review/?period=2025-Q1"
    assert Submission.objects.get().status == SubmissionStatus.APPROVED


def test_secretariat_returns_with_a_reason_and_the_reporter_sees_it(submitted_a, login, secretariat, reporter_a):
    client = login(secretariat)
    client.post(URL + "return/", {"version": submitted_a.version, "reason": ""})
    assert Submission.objects.get().status == SubmissionStatus.SUBMITTED  # reason required
    client.post(URL + "return/", {"version": submitted_a.version, "reason": "Mẫu số chưa khớp với một cửa"})
    assert Submission.objects.get().status == SubmissionStatus.RETURNED
    body = login(reporter_a).get(URL).content.decode()
    assert "Mẫu số chưa khớp với một cửa" in body and "Lưu nháp" in body


def test_second_reviewer_is_told(submitted_a, login, secretariat):
    client = login(secretariat)
    version = submitted_a.version
    client.post(URL + "approve/", {"version": version})
    response = client.post(URL + "return/", {"version": version, "reason": "Sai"}, follow=True)
    assert "vừa được người khác thay đổi" in response.content.decode()
    assert Submission.objects.get().status == SubmissionStatus.APPROVED


def test_review_queue_filters(catalogue, period, submitted_a, commune_a1, reporter_a, login, secretariat):
    submission_for(unit=commune_a1, period=period, by=reporter_a)
    client = login(secretariat)

    def units(**query):
        page = client.get("/reports/review/", {"period": "2025-Q1", **query}).context["page"]
        return [s.unit.name for s in page]

    assert units(status="submitted") == ["Huyện Nghi Lộc"]
    assert units(status="", kind="commune") == ["Xã Nghi Phong"]
    assert units(status="", late="on") == []
    assert units(status="", q="nghi phong") == ["Xã Nghi Phong"]  # without diacritics
    assert units(status="", sort="unit") == ["Huyện Nghi Lộc", "Xã Nghi Phong"]
    body = client.get("/reports/review/", {"period": "2025-Q1", "status": "", "kind": "commune"}).content.decode()
    assert '<td class="small">Huyện Nghi Lộc</td>' in body  # the commune's district, in its own column


def test_review_queue_pages_by_fifty(catalogue, period, tree, secretariat, reporter_a, login):
    from units.tests.factories import RoleAssignmentFactory, UnitFactory

    for i in range(51):
        unit = UnitFactory(code=f"R{i:03d}", name=f"Xã Thử {i:03d}", parent=tree)
        RoleAssignmentFactory(user=reporter_a, role=Role.REPORTER, unit=unit)
        submission = submission_for(unit=unit, period=period, by=reporter_a)
        submission_save_figures(submission=submission, figures=COMMUNE_COMPLETE, by=reporter_a)
        submission_submit(submission=submission, by=reporter_a)
    client = login(secretariat)
    first = client.get("/reports/review/", {"period": "2025-Q1"}).context["page"]
    assert (len(first), first.paginator.count, first.paginator.num_pages) == (50, 51, 2)
    assert len(client.get("/reports/review/", {"period": "2025-Q1", "page": 2}).context["page"]) == 1


def test_after_approving_a_report_the_reviewer_is_taken_to_the_next_one(
    catalogue, period, submitted_a, district_b, reporter_b, secretariat, login
):
    other = submission_for(unit=district_b, period=period, by=reporter_b)
    submission_save_figures(submission=other, figures=COMPLETE, by=reporter_b)
    submission_submit(submission=other, by=reporter_b)
    client = login(secretariat)
    response = client.post(f"{URL}approve/", {"version": Submission.objects.get(pk=submitted_a.pk).version})
    assert response["Location"] == "/reports/2025-Q1/425/"
    response = client.post("/reports/2025-Q1/425/approve/", {"version": Submission.objects.get(pk=other.pk).version})
    assert response["Location"] == "/reports/2025-Q1/425/"  # nothing left waiting: back to the report


def test_timeline_shows_who_did_what(submitted_a, login, steering):
    body = login(steering).get(URL).content.decode()
    timeline = body.split('data-testid="timeline"')[1]
    assert "Đã gửi" in timeline and "Reporter A" in timeline and "Lưu số liệu" in timeline
    assert "TTHC-08</code>: Tử số — → 1.234; Mẫu số — → 2.000" in timeline
    assert "Giá trị — → 92,5" in timeline


def test_home_shows_my_reports_and_days_left(draft_a, login, reporter_a):
    body = login(reporter_a).get("/").content.decode()
    row = body.split('data-testid="my-reports"')[1]
    assert "Huyện Nghi Lộc" in row and "Quý I/2025" in row and "Nháp" in row and "còn 5 ngày" in row
    assert "Huyện Diễn Châu" not in row


@pytest.mark.parametrize("sent", [False, True])
def test_a_report_sent_carries_no_countdown_or_overdue_badge(submitted_a, period, login, reporter_a, sent):
    if not sent:
        Submission.objects.filter(pk=submitted_a.pk).update(status="returned", return_reason="Thiếu số liệu")
    Period.objects.filter(pk=period.pk).update(deadline=period.start)  # long past
    row = login(reporter_a).get("/").content.decode().split('data-testid="my-reports"')[1]
    assert ("quá hạn" in row) is not sent


def test_home_for_the_secretariat_counts_reports(submitted_a, login, secretariat):
    body = login(secretariat).get("/").content.decode()
    assert "Tiến độ báo cáo" in body and "Duyệt báo cáo" in body


@pytest.mark.parametrize(
    ("numerator", "hinted"),
    [(1633, False), (1634, True)],  # 61,7% before: +19,95 points is not worth a hint, +20 is
)
def test_the_review_page_shows_the_previous_figure_and_a_hint_on_a_big_change(
    catalogue, period, district_a, reporter_a, secretariat, login, numerator, hinted
):
    from reports.periods import period_create
    from reports.services import submission_approve

    before = period_create(key="2024-Q4")
    old = submission_for(unit=district_a, period=before, by=reporter_a)
    submission_save_figures(submission=old, figures=COMPLETE, by=reporter_a)  # 1.234 / 2.000 = 61,7%
    submission_approve(submission=submission_submit(submission=old, by=reporter_a), by=secretariat)
    now = submission_for(unit=district_a, period=period, by=reporter_a)
    figures = {**COMPLETE, "TTHC-08": FigureInput(numerator=numerator, denominator=2000)}
    figures["TCBM-02"] = FigureInput(numerator=180, denominator=200)  # the same 10% cut, twice the baseline
    submission_save_figures(submission=now, figures=figures, by=reporter_a)
    submission_submit(submission=now, by=reporter_a)
    body = login(secretariat).get(URL).content.decode()
    previous = [cell.split("<")[0] for cell in body.split('data-testid="previous-figure">')[1:]]
    assert previous == ["61,7%", "92,5%", "10%"]
    hints = [cell.split(">", 1)[1].split("<")[0] for cell in body.split('data-testid="review-hint"')[1:]]
    expected = ["Mẫu số gấp 2,0 lần kỳ trước: cần kiểm tra"]
    if hinted:
        expected.insert(0, "+20,0 điểm so với kỳ trước: cần kiểm tra")
    assert hints == expected
