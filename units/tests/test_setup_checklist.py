"""The setup checklist on the secretariat's home: each item done or not, on both sides of its rule,
and gone when everything is done."""

import datetime as dt

import pytest
from django.utils import timezone

from conftest import PASSWORD
from dashboard.setup import setup_checklist
from reports.models import PeriodState
from reports.periods import period_create
from targets.tests.factories import TargetFactory, threshold
from units.invitations import invitations_request
from units.models import Kind, Level, Role
from units.services import unit_close
from units.tests.factories import RoleAssignmentFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def done(user, **kwargs) -> dict[str, bool]:
    return {item.key: item.done for item in setup_checklist(user, **kwargs).items}


def detail(user, key: str) -> str:
    return next(item.detail for item in setup_checklist(user).items if item.key == key)


@pytest.fixture
def admin(django_user_model):
    """The first account, as `createsuperuser` makes it: no role on any unit yet."""
    return django_user_model.objects.create_superuser("quantri", "quantri@nghean.gov.vn", PASSWORD)


@pytest.fixture
def two_tier(db):
    """A province as it stands since 1/7/2025: a department and a commune right under it."""
    province = UnitFactory(code="40", name="Tỉnh Thử", kind=Kind.PROVINCE)
    return {
        "province": province,
        "department": UnitFactory(code="40-SNV", name="Sở Nội vụ", kind=Kind.DEPARTMENT, parent=province),
        "commune": UnitFactory(code="25000", name="Xã Mới", kind=Kind.COMMUNE, parent=province),
    }


@pytest.fixture
def targets_in_force(db):
    """One target for departments and communes, in force this year with a threshold."""
    target = TargetFactory(
        code="CQS-26", first_year=TODAY.year, last_year=TODAY.year + 4, for_province=False, for_district=False
    )
    threshold(target, "90", from_year=TODAY.year)
    return target


@pytest.fixture
def open_period(db):
    period = period_create(key=f"{TODAY.year}-Q4")
    period.deadline = TODAY + dt.timedelta(days=10)
    period.save()
    return period


@pytest.fixture
def ready(two_tier, targets_in_force, open_period):
    secretariat = UserFactory(username="sonv", email="sonv@nghean.gov.vn")
    RoleAssignmentFactory(user=secretariat, role=Role.SECRETARIAT, unit=two_tier["province"])
    for unit in ("department", "commune"):
        reporter = UserFactory(username=f"bc.{unit}", email=f"bc.{unit}@nghean.gov.vn")
        RoleAssignmentFactory(user=reporter, role=Role.REPORTER, unit=two_tier[unit])
    return secretariat


def test_an_empty_portal_shows_the_first_account_what_to_do(client, admin):
    client.post("/accounts/login/", {"username": "quantri", "password": PASSWORD})
    page = client.get("/")
    assert [(item.key, item.done) for item in page.context["setup"].items] == [
        ("units", False),
        ("catalogue", False),
        ("period", False),
        ("accounts", False),
        ("reminders", False),
    ]
    body = page.content.decode()
    assert 'data-testid="setup-checklist"' in body and 'href="/units/setup/"' in body
    assert 'href="/admin/reports/period/"' in body  # the superuser opens periods there
    assert "alert-warning" not in body  # not told that the account has no role


def test_the_checklist_is_gone_when_everything_is_done(client, login, ready):
    assert all(done(ready).values())
    page = login(ready).get("/")
    assert page.context["setup"] is None
    assert 'data-testid="setup-checklist"' not in page.content.decode()


def test_reporters_and_the_committee_never_see_it(client, login, reporter_a, steering):
    for user in (reporter_a, steering):
        page = login(user).get("/")
        assert page.context["setup"] is None


@pytest.mark.parametrize(
    ("units", "expected"),
    [((), False), (("department",), False), (("commune",), False), (("department", "commune"), True)],
)
def test_units_need_a_department_and_a_commune_level_unit_in_force(admin, units, expected):
    province = UnitFactory(code="40", kind=Kind.PROVINCE)
    if "department" in units:
        UnitFactory(code="40-SNV", kind=Kind.DEPARTMENT, parent=province)
    if "commune" in units:
        UnitFactory(code="25000", kind=Kind.WARD, parent=province)
    assert done(admin)["units"] is expected


def test_a_closed_commune_does_not_count(admin, two_tier):
    assert done(admin)["units"]
    unit_close(unit=two_tier["commune"], last_day=TODAY - dt.timedelta(days=1))
    assert not done(admin)["units"]


def test_the_catalogue_needs_targets_with_a_threshold_for_each_level_with_units(admin, two_tier, targets_in_force):
    assert done(admin)["catalogue"]
    only_communes = TargetFactory(
        code="CQS-27", first_year=TODAY.year, last_year=TODAY.year + 4, for_department=False, for_province=False
    )
    assert not done(admin)["catalogue"]
    assert "CQS-27" in detail(admin, "catalogue")  # the target without a threshold is named
    threshold(only_communes, "60", level="commune", from_year=TODAY.year)
    assert done(admin)["catalogue"]


def test_a_level_with_units_but_no_target_in_force_is_named(admin, two_tier, targets_in_force):
    UnitFactory(code="429", kind=Kind.DISTRICT, parent=two_tier["province"])  # a level no target applies to
    assert not done(admin)["catalogue"]
    assert str(Level.DISTRICT.label) in detail(admin, "catalogue")


def test_targets_of_another_year_do_not_count(admin, two_tier):
    old = TargetFactory(code="CQS-05", first_year=2021, last_year=TODAY.year - 1, for_province=False)
    threshold(old, "80")
    assert not done(admin)["catalogue"]


@pytest.mark.parametrize(
    ("days", "state", "expected"),
    [(0, PeriodState.OPEN, True), (-1, PeriodState.OPEN, False), (5, PeriodState.CLOSED, False)],
)
def test_a_period_must_be_open_with_its_deadline_ahead(admin, days, state, expected):
    period = period_create(key=f"{TODAY.year}-Q4")
    period.deadline, period.state = TODAY + dt.timedelta(days=days), state
    period.save()
    assert done(admin)["period"] is expected


def test_every_unit_that_reports_needs_a_reporter(admin, two_tier):
    RoleAssignmentFactory(user=UserFactory(email="a@x.vn"), role=Role.REPORTER, unit=two_tier["department"])
    RoleAssignmentFactory(user=UserFactory(email="b@x.vn"), role=Role.UNIT_HEAD, unit=two_tier["commune"])
    assert not done(admin)["accounts"]
    assert "1" in detail(admin, "accounts")
    gone = UserFactory(email="c@x.vn", is_active=False)
    RoleAssignmentFactory(user=gone, role=Role.REPORTER, unit=two_tier["commune"])
    assert not done(admin)["accounts"]  # a disabled account reports for nobody
    RoleAssignmentFactory(user=UserFactory(email="d@x.vn"), role=Role.REPORTER, unit=two_tier["commune"])
    assert done(admin)["accounts"]


def test_the_accounts_item_counts_invited_people_who_have_not_set_a_password(admin, two_tier):
    invited = UserFactory(username="moi@x.vn", email="moi@x.vn")
    invited.set_unusable_password()
    invited.save()
    RoleAssignmentFactory(user=invited, role=Role.REPORTER, unit=two_tier["commune"])
    invitations_request(users=[invited], by=admin)
    item = next(i for i in setup_checklist(admin).items if i.key == "accounts")
    assert "1" in item.detail and item.url == "/units/setup/people/?pending=on"


def test_reminders_are_dated_from_the_deadline_and_need_addresses(admin, ready, open_period, settings):
    first = open_period.deadline - dt.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    assert first.strftime("%d/%m/%Y") in detail(ready, "reminders")
    assert done(ready)["reminders"]
    reporter = ready.__class__.objects.get(username="bc.commune")
    reporter.email = ""
    reporter.save()
    assert not done(ready)["reminders"]  # the commune's only reporter has no address
    assert done(ready)["accounts"]


def test_the_checklist_reads_a_few_queries_whatever_the_size(admin, two_tier, django_assert_max_num_queries):
    for i in range(60):
        unit = UnitFactory(code=f"3{i:04d}", kind=Kind.COMMUNE, parent=two_tier["province"])
        RoleAssignmentFactory(user=UserFactory(email=f"r{i}@x.vn"), role=Role.REPORTER, unit=unit)
    with django_assert_max_num_queries(12):
        setup_checklist(admin)
