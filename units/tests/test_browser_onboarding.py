"""Done when: from an empty portal with only the real catalogue, a province is set up from one
workbook, a commune's reporter accepts the invitation and reports for 2026-Q4, and the
secretariat approves it, all in a real browser."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from conftest import PASSWORD
from reports.models import Period, Submission, SubmissionStatus
from reports.periods import period_set_deadline
from units.models import Kind, Role, Unit, User
from units.workbook import PEOPLE_SHEET, UNIT_SHEET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Cchc#Xa-Nghi-Phong-2026"
JULY = "01/07/2025"
DEPARTMENTS = [
    "Văn phòng UBND tỉnh",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường",
    "Sở Xây dựng",
    "Sở Khoa học và Công nghệ",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Dân tộc và Tôn giáo",
    "Thanh tra tỉnh",
    "Ban Quản lý Khu kinh tế Đông Nam",
    "Sở Ngoại vụ",
    "Văn phòng Đoàn ĐBQH và HĐND tỉnh",
    "Ban Dân tộc",
    "Sở Du lịch",
    "Sở Lao động",
    "Đài Phát thanh và Truyền hình tỉnh",
]
COMMUNES = 129  # with the province and the 20 departments: 150 units


def province_workbook(path, secretariat_email: str) -> dict:
    """Fill the downloaded template as the secretariat would: 150 units, 300 rows of people."""
    labels = {code: str(label) for code, label in Kind.choices}
    roles = {code: str(label) for code, label in Role.choices}
    book = load_workbook(path)
    units, people = book[str(UNIT_SHEET.title)], book[str(PEOPLE_SHEET.title)]
    units.append(["40", "Tỉnh Nghệ An", labels[Kind.PROVINCE], None, "01/01/2008", None, "Không"])
    codes = []
    for number, name in enumerate(DEPARTMENTS, start=1):
        code = f"40-S{number:02d}"
        units.append(
            [
                code,
                name,
                labels[Kind.AGENCY if name.startswith(("Ban", "Đài", "Văn", "Thanh")) else Kind.DEPARTMENT],
                "40",
                "01/03/2025",
                None,
                None,
            ]
        )
        codes.append(code)
    for number in range(1, COMMUNES + 1):
        kind = Kind.WARD if number % 9 == 0 else Kind.COMMUNE
        name = f"{'Phường' if kind == Kind.WARD else 'Xã'} Nghệ An {number:03d}"
        code = f"{16600 + number * 3}"
        units.append([code, name, labels[kind], "40", JULY, None, "Có" if number % 25 == 0 else None])
        codes.append(code)
    people.append(
        ["Phòng CCHC Sở Nội vụ", secretariat_email, "0238 3844 123", "Trưởng phòng CCHC", "40", roles[Role.SECRETARIAT]]
    )
    rows = 1
    for index, code in enumerate(codes):  # a reporter on every unit: 149 rows
        people.append(
            [
                f"Cán bộ báo cáo {code}",
                f"baocao.{code.lower()}@nghean.gov.vn",
                None,
                "Chuyên viên",
                code,
                roles[Role.REPORTER],
            ]
        )
        rows += 1
        if index % 3 != 2:  # a head on two units in three: 100 rows
            people.append(
                [
                    f"Lãnh đạo {code}",
                    f"lanhdao.{code.lower()}@nghean.gov.vn",
                    None,
                    "Chủ tịch",
                    code,
                    roles[Role.UNIT_HEAD],
                ]
            )
            rows += 1
    for index, code in enumerate(codes[:50]):  # ten members, five units each: 50 rows
        people.append(
            [
                f"Thành viên BCĐ {index % 10 + 1}",
                f"bcd{index % 10 + 1}@nghean.gov.vn",
                None,
                None,
                code,
                roles[Role.STEERING],
            ]
        )
        rows += 1
    book.save(path)
    return {"units": 1 + len(codes), "people_rows": rows, "commune": codes[len(DEPARTMENTS)]}


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r".*/accounts/login/"))


def test_a_province_is_set_up_from_an_empty_portal_and_reports(
    page, live_server, settings, monkeypatch, screenshot, tmp_path
):
    settings.PORTAL_URL = live_server.url
    call_command("loaddata", "catalogue", verbosity=0)  # the real catalogue, and nothing else
    assert not Unit.objects.exists() and not User.objects.exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, username="sonv", email="sonv@nghean.gov.vn", verbosity=0)

    # The secretariat signs in: the checklist says what is left, and leads to the workbook.
    sign_in(page, live_server, "sonv", PASSWORD)
    checklist = page.get_by_test_id("setup-checklist")
    expect(checklist).to_be_visible()
    expect(page.get_by_test_id("setup-units")).to_have_attribute("data-done", "no")
    screenshot("onboarding-checklist")
    page.get_by_test_id("setup-units").get_by_role("link").click()
    with page.expect_download() as download:
        page.get_by_test_id("template-empty").click()
    assert download.value.suggested_filename.startswith("don-vi-va-nguoi-dung-")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    filled = province_workbook(path, "SoNV@NgheAn.gov.vn")
    page.set_input_files("input[type=file]", str(path))
    page.get_by_test_id("setup-import").click()
    result = page.get_by_role("alert")
    expect(result).to_contain_text(str(filled["units"]))  # 150 units created
    screenshot("onboarding-import")
    assert Unit.objects.count() == 150 and Unit.objects.get(code=filled["commune"]).path == f"/40/{filled['commune']}/"
    assert User.objects.get(username="sonv").is_secretariat  # the workbook gave the first account its role
    reporter_email = f"baocao.{filled['commune']}@nghean.gov.vn"
    invitations = [m for m in mail.outbox if m.to == [reporter_email]]
    assert len(invitations) == 1
    assert len(mail.outbox) == User.objects.count() - 1  # every new account invited, the first one not

    # The secretariat opens 2026-Q4 (manage.py period), as the scheduled job would for the quarter under way.
    call_command("period", "2026-Q4", verbosity=0)
    period = Period.objects.get(key="2026-Q4")
    if period.deadline < timezone.localdate():  # a run after December 2026 still has a window to report in
        period_set_deadline(period=period, deadline=timezone.localdate() + dt.timedelta(days=10))
    page.goto(f"{live_server.url}/")
    # Units, the catalogue's 2026 targets, the period, a reporter with an address on every unit: all done.
    expect(page.get_by_test_id("setup-checklist")).to_have_count(0)
    sign_out(page)

    # The commune's reporter follows the invitation, chooses a password and signs in.
    link = re.search(r"https?://\S+", invitations[0].body).group(0)
    assert urlsplit(link).path.startswith("/accounts/invitation/")
    page.goto(link)
    expect(page.get_by_test_id("set-password-form")).to_be_visible()
    screenshot("onboarding-invitation")
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.get_by_test_id("set-password").click()
    expect(page.get_by_test_id("password-set")).to_be_visible()
    page.goto(link)  # the link is dead once used
    expect(page.get_by_test_id("invalid-link")).to_be_visible()
    sign_in(page, live_server, reporter_email, NEW_PASSWORD)

    # ... fills every figure of the 2026-Q4 report and sends it.
    page.get_by_role("link", name="Mở báo cáo").first.click()
    rows = page.locator('[data-testid="figures-form"] tbody tr')
    expect(rows.first).to_be_visible()  # the 2026-2030 targets of a commune
    assert rows.count() >= 1
    for field in page.locator('input[name$="__numerator"]').all():
        field.fill("90")
    for field in page.locator('input[name$="__denominator"]').all():
        field.fill("100")
    for field in page.locator('input[name$="__value"]').all():
        field.fill("95")
    for field in page.locator('select[name$="__value"]').all():
        field.select_option("1")
    page.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_role("alert").first).to_contain_text("Đã gửi báo cáo")
    submission = Submission.objects.get(unit__code=filled["commune"], period=period)
    assert submission.status == SubmissionStatus.SUBMITTED
    sign_out(page)

    # The secretariat approves it.
    sign_in(page, live_server, "sonv", PASSWORD)
    page.goto(f"{live_server.url}/reports/2026-Q4/{filled['commune']}/")
    page.get_by_role("button", name="Duyệt", exact=True).click()
    page.wait_for_load_state()
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
