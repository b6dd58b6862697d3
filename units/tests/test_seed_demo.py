import pytest
from django.core.management import call_command

from units.demo import DEMO_PASSWORD, DEMO_USERS
from units.models import Kind, Level, Role, SuccessionEvent, SuccessionLink, Unit, User
from units.selectors import unit_current_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(capsys):
    call_command("seed_demo")
    return capsys.readouterr().out


def test_seed_demo_loads_nghe_an_and_prints_logins(seeded):
    assert Unit.objects.get(code="40").name == "Tỉnh Nghệ An"
    assert Unit.objects.at_level(Level.DISTRICT).count() == 21
    assert (
        Unit.objects.filter(
            kind__in=[Kind.COMMUNE, Kind.WARD, Kind.TOWNSHIP], parent__kind__in=[Kind.DISTRICT, Kind.TOWN, Kind.CITY]
        ).count()
        >= 21 * 5
    )
    assert Unit.objects.filter(is_pilot=True).count() == 7
    for username, *_ in DEMO_USERS:
        assert username in seeded
    assert DEMO_PASSWORD in seeded


def test_seed_demo_is_safe_to_run_twice(seeded):
    counts = (
        Unit.objects.count(),
        SuccessionEvent.objects.count(),
        SuccessionLink.objects.count(),
        User.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        Unit.objects.count(),
        SuccessionEvent.objects.count(),
        SuccessionLink.objects.count(),
        User.objects.count(),
    )
    assert not Unit.objects.filter(path="").exists()


def test_demo_department_merger_of_march_2025(seeded):
    import datetime as dt

    planning = Unit.objects.get(name="Sở Kế hoạch và Đầu tư")
    assert [u.name for u in unit_current_on(planning, dt.date(2025, 3, 1))] == ["Sở Tài chính"]
    assert SuccessionEvent.objects.filter(effective_date=dt.date(2025, 7, 1)).exists()


def test_demo_logins_work(seeded, client):
    for username, _name, _position, roles, _staff in DEMO_USERS:
        assert client.login(username=username, password=DEMO_PASSWORD)
        user = User.objects.get(username=username)
        assert {r for r, _ in roles} == {r for r, _ in user.role_pairs}
    assert User.objects.get(username="sonv").has_role(Role.SECRETARIAT)


def test_seed_demo_loads_the_catalogue_once_and_keeps_later_edits(seeded):
    from decimal import Decimal

    from targets.models import Target, Threshold
    from targets.services import threshold_set

    assert Target.objects.count() == 25
    target = Target.objects.get(code="TTHC-09")
    threshold_set(target=target, level="", from_year=2021, value=Decimal("95"), by=None, reason="Sửa thử")
    call_command("seed_demo")
    assert Target.objects.count() == 25
    assert Threshold.objects.current().get(target=target).value == Decimal("95")
