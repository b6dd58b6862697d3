"""`seed_demo` builds the whole demo (province, catalogue, six quarters, results): run it as few
times as the behaviours allow, since each run is the heaviest thing in the suite."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from attainment.models import Attainment, PeriodComputation, UnitScore
from reports.models import Period, PeriodState, Submission, SubmissionStatus
from targets.models import Target, Threshold
from targets.services import threshold_set
from units.demo import DEMO_PASSWORD, DEMO_USERS
from units.models import Kind, Level, Role, SuccessionEvent, SuccessionLink, Unit, User
from units.selectors import unit_succession_history

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_demo_and_prints_the_logins(capsys, client):
    call_command("seed_demo")
    out = capsys.readouterr().out

    # The province as it was before 2025, with its reorganisations.
    assert Unit.objects.get(code="40").name == "Tỉnh Nghệ An"
    assert Unit.objects.at_level(Level.DISTRICT).count() == 21
    communes = Unit.objects.filter(
        kind__in=[Kind.COMMUNE, Kind.WARD, Kind.TOWNSHIP], parent__kind__in=[Kind.DISTRICT, Kind.TOWN, Kind.CITY]
    )
    assert communes.count() == 460
    assert Unit.objects.filter(is_pilot=True).count() == 7
    planning = Unit.objects.get(name="Sở Kế hoạch và Đầu tư")
    assert [x.successor.name for x in unit_succession_history(planning)] == ["Sở Tài chính"]
    assert planning.valid_to == dt.date(2025, 2, 28)
    assert SuccessionEvent.objects.filter(effective_date=dt.date(2025, 7, 1)).exists()
    assert not Unit.objects.filter(path="").exists()

    # The catalogue, the quarters and their reports in every state, and computed results.
    assert Target.objects.count() == 25
    assert list(Period.objects.order_by("end").values_list("key", flat=True)) == [
        "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2",
    ]  # fmt: skip
    assert Period.objects.get(key="2025-Q2").state == PeriodState.OPEN
    statuses = set(Submission.objects.filter(period__key="2025-Q2").values_list("status", flat=True))
    assert statuses == set(SubmissionStatus.values)
    assert Submission.objects.get(period__key="2025-Q2", unit__code="429").status == SubmissionStatus.DRAFT
    assert Submission.objects.get(period__key="2025-Q2", unit__code="425").status == SubmissionStatus.SUBMITTED
    assert not PeriodComputation.objects.filter(stale=True).exists()
    assert UnitScore.objects.filter(period__key="2024-Q4", level=Level.DISTRICT).count() == 21
    assert Attainment.objects.filter(period__key="2024-Q4").exists()

    # One account per role, printed with the password, and they work.
    for username, _name, _position, roles, _staff in DEMO_USERS:
        assert username in out
        response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert {r for r, _ in roles} == {r for r, _ in User.objects.get(username=username).role_pairs}
    assert DEMO_PASSWORD in out
    assert User.objects.get(username="sonv").has_role(Role.SECRETARIAT)


def test_seed_demo_is_safe_to_run_twice_and_keeps_later_edits():
    call_command("seed_demo")
    counts = [m.objects.count() for m in (Unit, SuccessionEvent, SuccessionLink, User, Submission, Attainment)]
    target = Target.objects.get(code="TTHC-09")
    threshold_set(target=target, level="", from_year=2021, value=Decimal("95"), by=None, reason="Sửa thử")
    call_command("seed_demo")
    assert counts == [m.objects.count() for m in (Unit, SuccessionEvent, SuccessionLink, User, Submission, Attainment)]
    assert Threshold.objects.current().get(target=target, level="", from_year=2021).value == Decimal("95")
