import pytest
from playwright.sync_api import expect

from cchc_portal.celery import app as celery_app
from reports.models import Submission, SubmissionStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reporter_fills_and_sends_then_secretariat_approves(
    catalogue, period, reporter_a, secretariat, browser_login, live_server, page, screenshot, monkeypatch
):
    # The recompute after the approval runs in-process, as on a machine without a worker.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    page = browser_login(reporter_a)
    table = page.get_by_test_id("my-reports")
    expect(table).to_contain_text("Chưa báo cáo")
    table.get_by_role("link", name="Mở báo cáo").click()
    expect(page.get_by_role("heading", name="Báo cáo của Huyện Nghi Lộc · Quý I/2025")).to_be_visible()

    page.locator("#id_TTHC-08__numerator").fill("1.234")
    page.locator("#id_TTHC-08__denominator").fill("2.000")
    page.locator("#id_TTHC-09__value").fill("92,5")
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu nháp.")  # saved by htmx, no reload
    expect(page.get_by_test_id("figures-form")).to_contain_text("61,7%")

    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_test_id("figures-form")).to_contain_text("Bắt buộc nhập trước khi gửi.")  # reduction missing
    page.locator("#id_TCBM-02__numerator").fill("90")
    page.locator("#id_TCBM-02__denominator").fill("100")
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_text("Đã gửi báo cáo để Sở Nội vụ duyệt.")).to_be_visible()
    expect(page.get_by_test_id("status").first).to_have_text("Đã gửi")
    screenshot("reporter-sent")

    page.get_by_role("button", name="Đăng xuất").click()
    page = browser_login(secretariat)
    page.get_by_role("link", name="Duyệt báo cáo").first.click()
    queue = page.get_by_test_id("review-queue")
    expect(queue).to_contain_text("Huyện Nghi Lộc")
    queue.get_by_role("button", name="Duyệt").click()
    expect(page.get_by_text("Huyện Nghi Lộc: báo cáo chuyển sang “Đã duyệt”.")).to_be_visible()
    screenshot("secretariat-approved")
    assert Submission.objects.get().status == SubmissionStatus.APPROVED

    # The dashboard now counts the approved figures: 1.234 / 2.000 = 61,7% against 80%.
    page.get_by_role("link", name="Bảng điều hành").click()
    row = page.get_by_test_id("overview-table").first.locator("tr", has_text="TTHC-08")
    expect(row).to_contain_text("61,7")
    expect(row).to_contain_text("Không đạt")
    expect(page.get_by_test_id("completeness")).to_contain_text("1 đã duyệt")


def test_steering_member_reads_the_dashboard_and_drills_into_a_unit(
    catalogue, period, submitted_a, secretariat, steering, dept, commune_a1, commune_b1, browser_login, page, screenshot
):
    from attainment.engine import period_recompute
    from reports.services import submission_approve

    submission_approve(submission=submitted_a, by=secretariat)
    period_recompute(period)

    page = browser_login(steering)
    page.get_by_role("link", name="Bảng điều hành").click()
    expect(page.get_by_role("heading", name="Tổng quan · Quý I/2025")).to_be_visible()
    expect(page.locator("#overview-chart svg")).to_have_count(1)  # the chart rendered
    expect(page.locator("#overview-chart svg path").first).to_be_attached()
    expect(page.get_by_test_id("overview-table").first).to_contain_text("61,7")
    screenshot("steering-overview")

    page.get_by_role("link", name="Bản đồ nhiệt").click()
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap).to_contain_text("Sở Nội vụ")
    page.get_by_label("Đơn vị tôi phụ trách").check()
    page.get_by_role("button", name="Lọc").click()
    expect(heatmap).not_to_contain_text("Sở Nội vụ")
    expect(heatmap.locator("td.cell-behind")).to_have_count(1)  # Nghi Lộc's 61,7% on an 80% target
    screenshot("steering-heatmap")

    heatmap.get_by_role("link", name="Huyện Nghi Lộc").click()
    expect(page.get_by_role("heading", name="Kết quả của Huyện Nghi Lộc")).to_be_visible()
    expect(page.get_by_test_id("unit-trend")).to_contain_text("TTHC-08")
    expect(page.locator(".sparkline svg").first).to_be_attached()
