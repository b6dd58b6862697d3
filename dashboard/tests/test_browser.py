"""The Steering Committee's pages and each role's home in a real browser."""

import pytest
from playwright.sync_api import expect

from attainment.engine import period_recompute
from reports.services import submission_approve
from units.models import Role
from units.tests.factories import RoleAssignmentFactory, UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The README's pictures are taken on the demo province, with the guide's (guide/tests/test_browser_guide.py);
# these tests keep theirs with the other artifacts, under test-artifacts/.
A4_LANDSCAPE_PX = 1032  # 297 mm less 2 x 12 mm of margin, at 96 px an inch


@pytest.fixture
def behind(catalogue, period, submitted_a, secretariat, steering, district_a, tree):
    """Nghi Lộc approved, and twelve of its communes that sent nothing: laggards the member answers
    for (responsible for the whole province, so every unit behind has a member)."""
    RoleAssignmentFactory(user=steering, role=Role.STEERING, unit=tree)
    for i in range(12):
        UnitFactory(code=f"B{i:02d}", name=f"Xã Chậm {i:02d}", parent=district_a)
    submission_approve(submission=submitted_a, by=secretariat)
    period_recompute(period)
    return period


def test_the_first_screen_of_the_overview_shows_the_ten_units_most_behind(
    behind, steering, browser_login, page, screenshot
):
    page.set_viewport_size({"width": 1440, "height": 900})
    page = browser_login(steering)
    screenshot("home-steering")
    page.get_by_role("link", name="Bảng điều hành").click()
    rows = page.get_by_test_id("behind-row")
    expect(rows).to_have_count(10)
    for index in range(10):
        expect(rows.nth(index)).to_contain_text("chưa gửi báo cáo")
        expect(rows.nth(index)).to_contain_text("Steering")
    box = page.get_by_test_id("most-behind").bounding_box()
    assert box["y"] + box["height"] <= 900, box  # on the first screen, without scrolling
    expect(page.get_by_test_id("headline")).to_be_in_viewport()
    expect(page.get_by_test_id("completeness")).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("overview")
    page.set_viewport_size({"width": 390, "height": 844})  # and on a phone: no sideways scrolling
    page.reload()
    expect(page.get_by_test_id("behind-row").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_unit_head_reaches_the_units_results_from_home(behind, unit_head_a, browser_login, page, screenshot):
    page = browser_login(unit_head_a)
    summary = page.get_by_test_id("unit-summary")
    expect(summary).to_contain_text("Huyện Nghi Lộc")
    expect(summary).to_contain_text("TTHC-08")  # a target it misses, with how far
    screenshot("home-unit-head")
    summary.get_by_test_id("unit-results-link").click()
    expect(page.get_by_role("heading", name="Kết quả của Huyện Nghi Lộc")).to_be_visible()


def test_the_reporters_form_works_on_a_phone_without_sideways_scrolling(
    catalogue, period, reporter_a, browser_login, page, screenshot
):
    page.set_viewport_size({"width": 390, "height": 844})
    page = browser_login(reporter_a)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("home-reporter")
    page.get_by_role("link", name="Mở báo cáo").click()
    page.locator("#id_TTHC-08__numerator").fill("1.234")
    page.locator("#id_TTHC-08__denominator").fill("2.000")
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu nháp.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("reporter-phone")


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/heatmap/", "/dashboard/ranking/"])
def test_a_dashboard_page_prints_on_a4_landscape(behind, secretariat, browser_login, page, live_server, path):
    page = browser_login(secretariat)
    page.set_viewport_size({"width": A4_LANDSCAPE_PX, "height": 730})
    page.emulate_media(media="print")
    page.goto(f"{live_server.url}{path}?period=2025-Q1")
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_LANDSCAPE_PX
    expect(page.locator("nav.navbar")).to_be_hidden()
