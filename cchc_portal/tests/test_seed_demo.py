"""`seed_demo` builds the whole demo (province, catalogue, six quarters, results). It is the
heaviest thing in the suite, so the module seeds once and every test runs in a savepoint on top
of that seeding, which is rolled back when the module is done."""

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from attainment.models import Attainment, PeriodComputation, Rollup, ScopeKind, UnitScore
from reports.demo import DEMO_QUARTERS, OPEN_QUARTER
from reports.models import EventAction, Figure, Period, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from targets.models import Target, Threshold
from targets.services import threshold_set
from units.demo import DEMO_PASSWORD, DEMO_USERS
from units.models import Kind, Level, Role, SuccessionEvent, SuccessionLink, Unit, User, kinds_of_level
from units.selectors import unit_succession_history

pytestmark = pytest.mark.django_db

# The quarter before the open one, all sent and reviewed: where the story's shape is pinned.
STORY_QUARTER = "2025-Q1"
DOSSIERS_A_QUARTER = {Level.COMMUNE: (50, 600), Level.DISTRICT: (800, 5000), Level.DEPARTMENT: (300, 8000)}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (with the suite's fast password hasher, so that the demo accounts
    log in); returns what the command printed."""
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), transaction.atomic(), fast_hasher:
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def test_seed_demo_builds_the_demo_and_prints_the_logins(seeded, client):
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
    assert list(Period.objects.order_by("end").values_list("key", flat=True)) == DEMO_QUARTERS
    assert Period.objects.get(key=OPEN_QUARTER).state == PeriodState.OPEN
    statuses = set(Submission.objects.filter(period__key=OPEN_QUARTER).values_list("status", flat=True))
    assert statuses == set(SubmissionStatus.values)
    assert Submission.objects.get(period__key=OPEN_QUARTER, unit__code="429").status == SubmissionStatus.DRAFT
    assert Submission.objects.get(period__key=OPEN_QUARTER, unit__code="425").status == SubmissionStatus.SUBMITTED
    # The open quarter's deadline is ahead of the seeding: the demo shows a live window.
    assert Period.objects.get(key=OPEN_QUARTER).deadline > timezone.localdate()
    # Every unit due reports every closed quarter, the departments merged in 2025 included.
    assert Submission.objects.filter(period__key="2024-Q4", unit__code="40-SKHDT").exists()
    assert 2800 <= Submission.objects.count() <= 3000
    assert not PeriodComputation.objects.filter(stale=True).exists()
    assert UnitScore.objects.filter(period__key="2024-Q4", level=Level.DISTRICT).count() == 21
    assert Attainment.objects.filter(period__key="2024-Q4").exists()

    # One account per role, printed with the password, and they work.
    for username, _name, _position, roles, _staff in DEMO_USERS:
        assert username in seeded
        response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert {r for r, _ in roles} == {r for r, _ in User.objects.get(username=username).role_pairs}
    assert DEMO_PASSWORD in seeded
    assert User.objects.get(username="sonv").has_role(Role.SECRETARIAT)


def test_seed_demo_is_safe_to_run_twice_and_keeps_later_edits(seeded):
    models = (Unit, SuccessionEvent, SuccessionLink, User, Submission, Figure, SubmissionEvent, Attainment)
    counts = [m.objects.count() for m in models]
    sent = list(Submission.objects.order_by("pk").values_list("submitted_at", "reviewed_at"))
    target = Target.objects.get(code="TTHC-09")
    threshold_set(target=target, level="", from_year=2021, value=Decimal("95"), by=None, reason="Sửa thử")
    call_command("seed_demo", stdout=io.StringIO())
    assert counts == [m.objects.count() for m in models]
    assert sent == list(Submission.objects.order_by("pk").values_list("submitted_at", "reviewed_at"))
    assert Threshold.objects.current().get(target=target, level="", from_year=2021).value == Decimal("95")


def test_demo_province_mostly_meets_its_targets_with_a_minority_behind(seeded):
    results = Attainment.objects.filter(period__key=STORY_QUARTER, derived=False, provisional=False, met__isnull=False)
    judged, missed = Counter(), Counter()
    for unit_id, met in results.values_list("unit_id", "met"):
        judged[unit_id] += 1
        missed[unit_id] += not met
    units = UnitScore.objects.filter(period__key=STORY_QUARTER).count()
    behind = sum(1 for unit_id in judged if missed[unit_id] >= 3)
    assert 0.05 * units <= behind <= 0.25 * units
    # Most units meet most of their targets (four in five of them at least).
    assert sum(1 for unit_id in judged if missed[unit_id] <= 0.2 * judged[unit_id]) >= 0.7 * units

    # The province meets most targets, and misses those real provinces struggle with.
    rollups = Rollup.objects.filter(period__key=STORY_QUARTER, scope=ScopeKind.PROVINCE, target__isnull=False)
    assert rollups.count() == 25
    assert rollups.filter(met=True).count() >= 15
    assert {"TTHC-05", "TTHC-08"} <= set(rollups.filter(met=False).values_list("target__code", flat=True))

    # Rates creep up: most results are better than the quarter before, a few are worse.
    changes = Attainment.objects.filter(period__key=STORY_QUARTER, derived=False).exclude(change=None)
    better, worse = changes.filter(change__gt=0).count(), changes.filter(change__lt=0).count()
    assert better > 2 * worse > 0


def test_demo_counts_are_in_the_plausible_range_of_each_level(seeded):
    dossiers = Figure.objects.filter(target__code="TTHC-08").exclude(denominator=None)
    for level, (low, high) in DOSSIERS_A_QUARTER.items():
        counts = dossiers.filter(submission__unit__kind__in=kinds_of_level(level)).values_list("denominator", flat=True)
        assert counts and all(low <= count <= high for count in counts), level
    # Communes share the commune-level procedure list.
    communes = Figure.objects.filter(
        target__code="TTHC-06",
        submission__period__key=STORY_QUARTER,
        submission__unit__kind__in=kinds_of_level(Level.COMMUNE),
    )
    assert communes.values("denominator").distinct().count() == 1


def test_demo_reports_are_sent_and_reviewed_on_the_demo_clock(seeded):
    now = timezone.now()
    moments = ("submitted_at", "first_submitted_at", "reviewed_at", "created_at")
    for name in moments:
        assert not Submission.objects.filter(**{f"{name}__gt": now}).exists(), name
    assert not SubmissionEvent.objects.filter(at__gt=now).exists()

    sent = Submission.objects.exclude(first_submitted_at=None).select_related("period")
    for submission in sent:
        period, first = submission.period, timezone.localdate(submission.first_submitted_at)
        assert first > period.end, submission  # after the data window closes
        assert submission.is_late == (first > period.deadline), submission
        if submission.reviewed_at:
            assert submission.reviewed_at > submission.first_submitted_at, submission
    late = sent.filter(is_late=True).exclude(period__key=OPEN_QUARTER).count()
    assert 0 < late < 0.1 * sent.exclude(period__key=OPEN_QUARTER).count()  # a few late ones
    assert not sent.filter(period__key=OPEN_QUARTER, is_late=True).exists()  # its deadline is ahead

    # The timeline tells the same story as the report: the same moments, one return per return.
    events = SubmissionEvent.objects.filter(submission__in=sent)
    first_sent = dict(
        events.filter(action=EventAction.SUBMITTED).order_by("-at").values_list("submission_id", "at")
    )  # the earliest last
    returns = Counter(events.filter(action=EventAction.RETURNED).values_list("submission_id", flat=True))
    for submission in sent:
        assert first_sent[submission.pk] == submission.first_submitted_at, submission
        assert returns[submission.pk] == submission.times_returned, submission
