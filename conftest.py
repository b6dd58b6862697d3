"""Shared fixtures: a small province and the standard users of every view test.

Tỉnh Thử (P)
├── Sở Nội vụ (dept)
├── Huyện Nghi Lộc (district_a) ── Xã Nghi Phong (commune_a1), Thị trấn Quán Hành (commune_a2)
└── Huyện Diễn Châu (district_b) ── Xã Diễn Kỷ (commune_b1)
"""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from reports.periods import period_create
from reports.services import FigureInput, submission_for, submission_save_figures, submission_submit
from targets.models import Measure
from targets.tests.factories import AreaFactory, TargetFactory, threshold
from units.models import Kind, Role
from units.tests.factories import RoleAssignmentFactory, UnitFactory, UserFactory

PASSWORD = "Mat-khau-thu-2025"


@pytest.fixture
def province(db):
    return UnitFactory(code="40", name="Tỉnh Thử", kind=Kind.PROVINCE)


@pytest.fixture
def dept(province):
    return UnitFactory(code="40-SNV", name="Sở Nội vụ", kind=Kind.DEPARTMENT, parent=province)


@pytest.fixture
def district_a(province):
    return UnitFactory(code="429", name="Huyện Nghi Lộc", kind=Kind.DISTRICT, parent=province, is_pilot=True)


@pytest.fixture
def district_b(province):
    return UnitFactory(code="425", name="Huyện Diễn Châu", kind=Kind.DISTRICT, parent=province)


@pytest.fixture
def commune_a1(district_a):
    return UnitFactory(code="17700", name="Xã Nghi Phong", kind=Kind.COMMUNE, parent=district_a)


@pytest.fixture
def commune_a2(district_a):
    return UnitFactory(code="17701", name="Thị trấn Quán Hành", kind=Kind.TOWNSHIP, parent=district_a)


@pytest.fixture
def commune_b1(district_b):
    return UnitFactory(code="17200", name="Xã Diễn Kỷ", kind=Kind.COMMUNE, parent=district_b)


@pytest.fixture
def tree(province, dept, district_a, district_b, commune_a1, commune_a2, commune_b1):
    return province


def _user(username, role, unit):
    user = UserFactory(username=username, full_name=username.replace(".", " ").title())
    RoleAssignmentFactory(user=user, role=role, unit=unit)
    return user


@pytest.fixture
def secretariat(tree):
    return _user("sonv", Role.SECRETARIAT, tree)


@pytest.fixture
def reporter_a(district_a):
    return _user("reporter.a", Role.REPORTER, district_a)


@pytest.fixture
def reporter_b(district_b):
    return _user("reporter.b", Role.REPORTER, district_b)


@pytest.fixture
def unit_head_a(district_a):
    return _user("head.a", Role.UNIT_HEAD, district_a)


@pytest.fixture
def steering(district_a, district_b):
    user = _user("steering", Role.STEERING, district_a)
    RoleAssignmentFactory(user=user, role=Role.STEERING, unit=district_b)
    return user


@pytest.fixture
def login(client):
    """Sign `user` in through the real login form, as a person would."""

    def do_login(user):
        client.post("/accounts/logout/")
        response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content
        return client

    return do_login


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # Hashing strength is not what these tests check; PBKDF2 would make every login take 0.5 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Browser tests: Playwright drives Debian's Chromium; no browser is downloaded.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"
# Playwright's sync API runs an event loop in the test thread; the ORM calls there are still sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run must install it")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/ (kept by CI) and return its path."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def page(page):
    """Playwright's page, failing the test if the browser blocked anything under the portal's
    Content-Security-Policy (an inline script, a foreign source)."""
    blocked = []
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    yield page
    assert not blocked, blocked


@pytest.fixture
def browser_login(page, live_server):
    """Sign in through the login page in the browser."""

    def do_login(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Tên đăng nhập").fill(user.username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return do_login


# --- Reporting: a small catalogue, an open quarter, Nghi Lộc's report ---


@pytest.fixture(autouse=True)
def private_media(tmp_path, settings):
    """Evidence files of a test go to its own temporary folder."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def catalogue(db):
    """Three targets every level reports: a ratio (80%), a satisfaction percent (90%), a reduction (10%), in
    the 2021-2025 programme (open, as the factory makes it)."""
    area = AreaFactory(code="TTHC", name="Cải cách thủ tục hành chính", order=2)
    online = TargetFactory(code="TTHC-08", area=area, title="Hồ sơ giải quyết trực tuyến", order=1)
    threshold(online, "80")
    satisfaction = TargetFactory(code="TTHC-09", area=area, title="Mức độ hài lòng", measure=Measure.PERCENT, order=2)
    threshold(satisfaction, "90")
    units = TargetFactory(
        code="TCBM-02",
        area=AreaFactory(code="TCBM", name="Cải cách tổ chức bộ máy", order=3),
        title="Giảm số đơn vị sự nghiệp",
        measure=Measure.REDUCTION,
        numerator_label="Số đơn vị hiện có",
        denominator_label="Số đơn vị năm 2021",
        for_commune=False,
    )
    threshold(units, "10")
    return {"online": online, "satisfaction": satisfaction, "reduction": units}


@pytest.fixture
def period(db):
    period = period_create(key="2025-Q1")
    period.deadline = timezone.localdate() + dt.timedelta(days=5)
    period.save()
    return period


COMPLETE = {
    "TTHC-08": FigureInput(numerator=1234, denominator=2000),
    "TTHC-09": FigureInput(value=Decimal("92.5")),
    "TCBM-02": FigureInput(numerator=90, denominator=100),
}


@pytest.fixture
def draft_a(catalogue, period, district_a, reporter_a):
    return submission_for(unit=district_a, period=period, by=reporter_a)


@pytest.fixture
def submitted_a(draft_a, reporter_a):
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    return submission_submit(submission=draft_a, by=reporter_a)
