import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reporter_signs_in_and_finds_a_unit_without_diacritics(
    tree, reporter_a, browser_login, live_server, screenshot
):
    page = browser_login(reporter_a)
    expect(page.get_by_text("Xin chào")).to_be_visible()
    page.get_by_role("link", name="Đơn vị").first.click()
    expect(page.get_by_role("heading", name="Danh bạ đơn vị")).to_be_visible()
    page.get_by_placeholder("Tên hoặc mã, có dấu hoặc không dấu").fill("quan hanh")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.get_by_role("link", name="Thị trấn Quán Hành")).to_be_visible()
    expect(page.get_by_text("Xã Diễn Kỷ")).to_have_count(0)
    page.get_by_role("link", name="Thị trấn Quán Hành").click()
    expect(page.get_by_role("heading", name="Thị trấn Quán Hành")).to_be_visible()
    expect(page.get_by_text("Huyện Nghi Lộc").first).to_be_visible()
    screenshot("unit-page")


def test_wrong_password_stays_on_login_page(tree, reporter_a, page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("reporter.a")
    page.get_by_label("Mật khẩu").fill("sai")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("mật khẩu chính xác")
