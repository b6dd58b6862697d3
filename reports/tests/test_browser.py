import pytest
from playwright.sync_api import expect

from reports.models import Submission, SubmissionStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reporter_fills_and_sends_then_secretariat_approves(
    catalogue, period, reporter_a, secretariat, browser_login, live_server, page, screenshot
):
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
