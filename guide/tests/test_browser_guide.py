"""The guide's pictures, and the README's, taken in a real browser on the demo province.

Each role signs in on the demo (`seed_demo`: Nghệ An on 1/12/2026) and goes through the pages its
guide describes, doing what the guide says (a figure refused, a workbook with errors, a document
attached, a report sent, one returned), and a picture of each step is saved. With
UPDATE_SCREENSHOTS=1 (`make screenshots`) the pictures go where the guide (static/guide/) and the
README (docs/screenshots/) show them; otherwise under test-artifacts/, so that a test run leaves
the work tree as it was.

The demo is seeded once for the module and the tests run on it through one live server. On the
embedded SQLite database the server shares the tests' connection: the seeding is one transaction
rolled back when the module ends, and what each test does is rolled back after it. On another
database the server has connections of its own, which see only committed rows: the seeding is
committed and the database emptied when the module ends, as Django's transactional tests do.

The pictures and the guide cannot drift apart: the guide's templates must show exactly the
pictures of GUIDE_PICTURES, each must exist in static/guide/, and a full run must take them all.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from openpyxl import load_workbook
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from conftest import CHROMIUM
from guide.tests.pictures import to_palette
from reports.models import Period, PeriodState, Submission, SubmissionStatus
from units.demo import DEMO_PASSWORD
from units.models import Role, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ROOT = Path(settings.BASE_DIR)
UPDATE = bool(os.environ.get("UPDATE_SCREENSHOTS"))
ARTIFACTS = ROOT / "test-artifacts"
GUIDE_DIR = ROOT / "static" / "guide"
DOCS_DIR = ROOT / "docs" / "screenshots"
WIDTH = 1280  # every picture: what a 1280 px wide window shows, cut to the part the text is about
HEIGHT = 800

# The pictures of the guide (static/guide/<name>.png), by the page that shows them.
GUIDE_PICTURES = {
    "index": {"danh-ba-don-vi", "danh-muc-chi-tieu"},
    "reporter": {
        "dang-nhap",
        "trang-chu-can-bo-bao-cao",
        "bao-cao-nhap-so-lieu",
        "bao-cao-loi",
        "nhap-excel-loi",
        "tai-lieu-kiem-chung",
        "bao-cao-da-gui",
        "bao-cao-tra-lai",
    },
    "secretariat": {"trang-chu-so-noi-vu", "nhap-don-vi", "duyet-hang-doi", "duyet-bao-cao", "quan-tri-ky-bao-cao"},
    "unit_head": {"trang-chu-lanh-dao-don-vi", "ket-qua-don-vi"},
    "steering": {"trang-chu-ban-chi-dao", "tong-quan", "ban-do-nhiet", "xep-hang", "don-vi-cham-tien-do", "chi-tieu"},
}
ALL_GUIDE_PICTURES = set().union(*GUIDE_PICTURES.values())
# The README's pictures (docs/screenshots/<name>.png), under the names the README uses.
README_PICTURES = {"home-reporter", "home-unit-head", "home-steering", "home-secretariat", "overview"}
TAKEN: set[str] = set()

TEMPLATES = ROOT / "templates" / "guide"
SHOWN = re.compile(r'\{% picture "([\w-]+)"')


# --- The demo, one live server, and how pictures are taken ---


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo province, seeded once for the module (with the suite's fast password hasher, so that
    the demo accounts sign in quickly), and a live server reading it; returns the server's URL."""
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_hasher:
        shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
        if shared:
            atomic = transaction.atomic()
            atomic.__enter__()
        started = time.monotonic()
        call_command("seed_demo", stdout=io.StringIO())
        print(f"\nseed_demo: {time.monotonic() - started:.1f} s on {connection.vendor}")  # noqa: T201
        if not shared:
            # Nothing uses the seeding's connection again (the tests' database calls come from another
            # context): left open, it would keep the test database from being dropped at the end.
            connections.close_all()
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            yield server.url
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            if shared:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
            else:
                call_command("flush", interactive=False, verbosity=0)
                connections.close_all()


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": WIDTH, "height": HEIGHT}, "device_scale_factor": 1}


def _people(role: str) -> list[User]:
    return list(User.objects.filter(role_assignments__role=role, is_active=True).distinct().order_by("pk"))


def open_quarter() -> Period:
    return Period.objects.filter(state=PeriodState.OPEN, kind="quarter").order_by("-end").first()


def reporter_with(status: str) -> tuple[User, Submission]:
    """A demo reporter whose unit's report for the open quarter is in `status`, with that report.
    The demo's accounts are found by what they hold, not by their user names."""
    reports = Submission.objects.filter(period=open_quarter(), status=status).select_related("unit", "period")
    for user in _people(Role.REPORTER):
        units = user.unit_ids_for(Role.REPORTER)
        for report in reports:
            if report.unit_id in units:
                return user, report
    raise AssertionError(f"the demo has no reporter whose report for the open quarter is {status}")


def steering_member() -> User:
    """The steering member responsible for the most units."""
    return max(_people(Role.STEERING), key=lambda user: len(user.unit_ids_for(Role.STEERING)))


def sign_in(page, url: str, user: User):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{url}/")
    return page


def sign_out(page):
    page.get_by_role("button", name="Đăng xuất").click()


def shoot(page, name: str, *, top=None, height: int = 900, readme: str | None = None) -> Path:
    """Save the guide's picture `name`: 1280 px wide, from the top of the page (or a little above
    the element `top`) down `height` px at most; also as the README's picture `readme`."""
    assert name in ALL_GUIDE_PICTURES, f"{name}: add it to GUIDE_PICTURES and show it in the guide"
    page.wait_for_load_state("networkidle")
    y = 0
    if top is not None:
        y = max(0, int(top.evaluate("e => e.getBoundingClientRect().top + window.scrollY")) - 16)
    full = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": y, "width": WIDTH, "height": max(200, min(height, full - y))}
    folder = GUIDE_DIR if UPDATE else ARTIFACTS / "guide"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, clip=clip, animations="disabled", caret="hide")
    if UPDATE:  # the committed pictures: a palette, a third of the bytes (the artifacts stay as taken)
        to_palette(path)
    TAKEN.add(name)
    if readme:
        assert readme in README_PICTURES
        docs = DOCS_DIR if UPDATE else ARTIFACTS / "docs"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, docs / f"{readme}.png")
        TAKEN.add(f"readme:{readme}")
    return path


def charts_drawn(page):
    """Wait for the charts to be drawn (ECharts animates its bars for about a second)."""
    expect(page.locator("[data-chart] svg").first).to_be_attached()
    page.wait_for_timeout(1200)


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# --- Each role, as its guide tells it ---


def test_signing_in(demo, page):
    page.goto(f"{demo}/accounts/login/")
    expect(page.get_by_role("button", name="Đăng nhập")).to_be_visible()
    shoot(page, "dang-nhap", height=620)
    # The guide is readable before signing in.
    page.goto(f"{demo}/huong-dan/can-bo-bao-cao/#dang-nhap")
    expect(page.get_by_role("heading", name="Đăng nhập, lời mời và quên mật khẩu")).to_be_in_viewport()


def test_the_reporter_fills_imports_attaches_and_sends(demo, page):
    user, report = reporter_with(SubmissionStatus.DRAFT)
    page = sign_in(page, demo, user)
    mine = page.get_by_test_id("my-reports")
    expect(mine).to_contain_text(report.unit.name)
    shoot(page, "trang-chu-can-bo-bao-cao", height=700, readme="home-reporter")

    # The report: a figure refused on its field.
    mine.get_by_role("row").filter(has_text=report.unit.name).get_by_role("link", name="Mở báo cáo").click()
    expect(page.get_by_test_id("status")).to_have_text("Nháp")
    shoot(page, "bao-cao-nhap-so-lieu")
    form = page.get_by_test_id("figures-form")
    numerator = form.locator("input[name$='__numerator']").first
    denominator = form.locator("input[name$='__denominator']").first
    numerator.fill("1.500")
    denominator.fill("1.200")
    form.get_by_role("button", name="Lưu nháp").click()
    expect(form.get_by_role("alert")).to_contain_text("Một số số liệu không hợp lệ")
    expect(form.locator(".invalid-feedback").first).to_have_text("Tử số không được lớn hơn mẫu số.")
    shoot(page, "bao-cao-loi", top=form, height=560)

    # The help link opens the guide at the section about this page.
    page.get_by_test_id("help-link").click()
    expect(page).to_have_url(re.compile(r"/huong-dan/can-bo-bao-cao/#bao-cao$"))
    expect(page.get_by_role("heading", name="Nhập số liệu trên trang")).to_be_in_viewport()
    page.go_back()

    # The Excel template, filled with two mistakes and uploaded: every error named, nothing saved.
    page.goto(f"{demo}/")
    with page.expect_download() as download:
        page.get_by_test_id("my-reports").get_by_role("link", name="Biểu mẫu Excel").first.click()
    workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = workbook["Số liệu"]
    header = [cell.value for cell in sheet[1]]
    how, num, den, value = (header.index(h) for h in ("Cách nhập", "Tử số", "Mẫu số", "Giá trị"))
    counts = [row for row in sheet.iter_rows(min_row=2) if str(row[how].value).startswith("Tử số")]
    values = [row for row in sheet.iter_rows(min_row=2) if not str(row[how].value).startswith("Tử số")]
    counts[0][num].value, counts[0][den].value = 2400, 2000
    values[0][value].value = "=90+5"
    filled = io.BytesIO()
    workbook.save(filled)
    page.get_by_role("link", name=re.compile("^Nhập tệp Excel đã điền cho")).first.click()
    page.get_by_label("Tệp số liệu đã điền (.xlsx)").set_input_files(
        files=[{"name": "bao-cao.xlsx", "mimeType": "application/octet-stream", "buffer": filled.getvalue()}]
    )
    page.get_by_role("button", name="Nhập", exact=True).click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("Tử số không được lớn hơn mẫu số.")
    expect(errors).to_contain_text("Không chấp nhận công thức")
    shoot(page, "nhap-excel-loi", height=620)

    # A document attached, every figure filled, and the report sent.
    page.goto(f"{demo}/reports/{report.period.key}/{report.unit.code}/")
    page.get_by_label("Tài liệu kiểm chứng", exact=True).set_input_files(
        files=[{"name": "bien-ban-kiem-tra-mot-cua.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Đính kèm").click()
    expect(page.get_by_role("link", name="bien-ban-kiem-tra-mot-cua.pdf")).to_be_visible()
    evidence = page.locator("section").filter(has=page.get_by_role("heading", name="Tài liệu kiểm chứng"))
    shoot(page, "tai-lieu-kiem-chung", top=evidence, height=460)
    form = page.get_by_test_id("figures-form")
    for name, text in (("numerator", "90"), ("denominator", "100"), ("value", "95")):  # what the draft lacks
        for field in form.locator(f"input[name$='__{name}']").all():
            if not field.input_value().strip():
                field.fill(text)
    for choice in form.locator("select[name$='__value']").all():
        if not choice.input_value():
            choice.select_option("1")
    form.get_by_role("button", name="Gửi báo cáo").click()
    expect(page.get_by_role("alert").first).to_contain_text("Đã gửi báo cáo để Sở Nội vụ duyệt.")
    expect(page.get_by_test_id("status").first).to_have_text("Đã gửi")
    shoot(page, "bao-cao-da-gui", height=720)


def test_the_secretariat_reviews_and_returns_a_report(demo, page):
    reporter, report = reporter_with(SubmissionStatus.SUBMITTED)
    secretariat = _people(Role.SECRETARIAT)[0]
    page = sign_in(page, demo, secretariat)
    page.get_by_role("link", name="Duyệt báo cáo").first.click()
    page.get_by_label("Trạng thái").select_option("submitted")
    page.get_by_role("button", name="Lọc").click()
    queue = page.get_by_test_id("review-queue")
    expect(queue).to_contain_text(report.unit.name)
    shoot(page, "duyet-hang-doi")

    queue.get_by_role("link", name=report.unit.name, exact=True).click()
    expect(page.get_by_role("button", name="Duyệt", exact=True)).to_be_visible()
    shoot(page, "duyet-bao-cao")
    reason = "Mẫu số chỉ tiêu hồ sơ trực tuyến chưa khớp sổ theo dõi một cửa; đề nghị kiểm tra và gửi lại."
    page.get_by_placeholder("Lý do trả lại").fill(reason)
    page.get_by_role("button", name="Trả lại", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("Trả lại")

    sign_out(page)
    page = sign_in(page, demo, reporter)
    page.goto(f"{demo}/reports/{report.period.key}/{report.unit.code}/")
    expect(page.get_by_test_id("return-reason")).to_contain_text(reason)
    shoot(page, "bao-cao-tra-lai", height=720)


def test_the_secretariat_sets_up_and_keeps_the_portal(demo, page):
    secretariat = next(user for user in _people(Role.SECRETARIAT) if user.is_staff)
    page = sign_in(page, demo, secretariat)
    expect(page.get_by_role("heading", name="Tiến độ báo cáo")).to_be_visible()
    shoot(page, "trang-chu-so-noi-vu", height=640, readme="home-secretariat")

    page.goto(f"{demo}/units/setup/")
    expect(page.get_by_test_id("setup-form")).to_be_visible()
    shoot(page, "nhap-don-vi", height=640)

    page.get_by_role("link", name="Quản trị").click()
    page.goto(f"{demo}/admin/reports/period/")
    expect(page.locator("#result_list")).to_contain_text(open_quarter().key)
    shoot(page, "quan-tri-ky-bao-cao", height=720)

    page.goto(f"{demo}/units/")
    expect(page.get_by_role("heading", name="Danh bạ đơn vị")).to_be_visible()
    shoot(page, "danh-ba-don-vi")

    page.get_by_role("link", name="Danh mục chỉ tiêu").first.click()
    expect(page.get_by_role("heading", name="Danh mục chỉ tiêu")).to_be_visible()
    shoot(page, "danh-muc-chi-tieu", height=1000)


def test_the_unit_head_reads_the_units_results(demo, page):
    head = _people(Role.UNIT_HEAD)[0]
    page = sign_in(page, demo, head)
    summary = page.get_by_test_id("unit-summary").first
    expect(summary).to_contain_text("Chỉ tiêu chưa đạt")
    shoot(page, "trang-chu-lanh-dao-don-vi", readme="home-unit-head")
    summary.get_by_test_id("unit-results-link").click()
    expect(page.get_by_test_id("unit-trend")).to_be_visible()
    charts_drawn(page)
    shoot(page, "ket-qua-don-vi", height=1100)


def test_the_steering_member_reads_the_dashboard(demo, page):
    member = steering_member()
    page = sign_in(page, demo, member)
    expect(page.get_by_test_id("member-summary")).to_be_visible()
    shoot(page, "trang-chu-ban-chi-dao", height=640, readme="home-steering")

    page.get_by_role("link", name="Bảng điều hành").click()
    expect(page.get_by_test_id("behind-row").first).to_be_visible()
    charts_drawn(page)
    shoot(page, "tong-quan", height=HEIGHT, readme="overview")

    page.get_by_role("link", name="Bản đồ nhiệt").click()
    page.get_by_label("Đơn vị tôi phụ trách").check()
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_test_id("heatmap")).to_be_visible()
    shoot(page, "ban-do-nhiet", height=700)

    page.get_by_role("link", name="Xếp hạng").click()
    expect(page.get_by_test_id("scoring-method")).to_be_visible()
    shoot(page, "xep-hang", height=1000)

    page.get_by_role("link", name="Đơn vị chậm tiến độ").first.click()
    expect(page.get_by_role("link", name=re.compile("^Cần theo dõi"))).to_be_visible()
    shoot(page, "don-vi-cham-tien-do", height=1000)

    page.get_by_role("link", name="Tổng quan").click()
    # A target many units miss: its page has something to show.
    rows = page.get_by_test_id("overview-table").get_by_role("row")
    behind = rows.filter(has_text="Không đạt")
    (behind if behind.count() else rows.filter(has=page.get_by_role("link"))).first.get_by_role("link").first.click()
    expect(page.get_by_test_id("missing")).to_be_attached()
    charts_drawn(page)
    shoot(page, "chi-tieu", height=1000)


# --- The guide and its pictures (after the browser tests, which refresh them with UPDATE_SCREENSHOTS=1) ---


def test_the_guide_shows_exactly_its_pictures_and_each_exists():
    for page, pictures in GUIDE_PICTURES.items():
        shown = set(SHOWN.findall((TEMPLATES / f"{page}.html").read_text(encoding="utf-8")))
        assert shown == pictures, f"{page}.html shows {sorted(shown - pictures)}, not {sorted(pictures - shown)}"
    for template in TEMPLATES.glob("*.html"):
        if template.stem not in GUIDE_PICTURES:
            assert not SHOWN.findall(template.read_text(encoding="utf-8")), template.name
    committed = {path.stem for path in GUIDE_DIR.glob("*.png")}
    assert committed == ALL_GUIDE_PICTURES, (
        f"missing in static/guide: {sorted(ALL_GUIDE_PICTURES - committed)}; "
        f"shown nowhere: {sorted(committed - ALL_GUIDE_PICTURES)} (run `make screenshots`)"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert set(re.findall(r"docs/screenshots/([\w-]+)\.png", readme)) == README_PICTURES
    assert {path.stem for path in DOCS_DIR.glob("*.png")} == README_PICTURES


def test_the_pictures_are_1280_px_wide_pngs_of_a_reasonable_size():
    sizes = 0
    for path in [*GUIDE_DIR.glob("*.png"), *DOCS_DIR.glob("*.png")]:
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", path.name
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert width == WIDTH and 200 <= height <= 1400, (path.name, width, height)
        sizes += path.stat().st_size
    assert sizes < 3_000_000, f"{sizes} bytes of pictures"


def test_a_full_run_takes_every_picture(request):
    """Last in the module: every picture the guide and the README show was taken by this run."""
    ours = [item for item in request.session.items if item.module is request.module]
    everything = [name for name in dir(request.module) if name.startswith("test_")]
    if len({item.originalname for item in ours}) < len(everything):
        pytest.skip("only part of the module was selected")
    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
        pytest.skip(f"Chromium not found at {CHROMIUM}: no picture was taken")
    expected = ALL_GUIDE_PICTURES | {f"readme:{name}" for name in README_PICTURES}
    assert expected - TAKEN == set(), "pictures not taken (a test before this one failed?)"
