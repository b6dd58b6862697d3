"""`seed_demo` builds the whole demo (the province as it stands on 1/12/2026 with its history, the
catalogue of both programmes, twelve quarters, results). It is the heaviest thing in the suite,
so the module seeds once and every test runs in a savepoint on top of that seeding, which is
rolled back when the module is done.

The counts of units below are read off `fixtures/demo_province.json` (units whose valid_from is
on or before the day and whose valid_to is empty or on or after it)."""

import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from attainment.models import Attainment, FlagTier, LaggardFlag, PeriodComputation, Rollup, ScopeKind, UnitScore
from dashboard.selectors import dashboard_period
from reports.demo import DEMO_QUARTERS, FEATURED_QUARTER, OPEN_QUARTER, live_deadline, older_demo
from reports.demo.story import DRAFT_UNIT, HIGHLAND, SUBMITTED_UNIT, descends_from
from reports.models import EventAction, Figure, Period, PeriodState, Submission, SubmissionEvent, SubmissionStatus
from reports.selectors import units_due
from targets.models import Target, Threshold
from targets.services import threshold_set
from units.demo import DEMO_PASSWORD, DEMO_USERS, STEERING_UNITS
from units.models import Level, Role, SuccessionEvent, SuccessionLink, Unit, User, kinds_of_level
from units.selectors import unit_succession_history

pytestmark = pytest.mark.django_db

BEFORE, AFTER = dt.date(2025, 6, 30), dt.date(2025, 7, 1)
# The old programme's story is pinned in the quarter it was drawn around; the new one's in the
# quarter the dashboard opens on.
OLD_STORY_QUARTER = "2025-Q1"
COMMUNE_KINDS = kinds_of_level(Level.COMMUNE)


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


def _in_force(day: dt.date, level: str):
    return Unit.objects.current_on(day).at_level(level)


def test_seed_demo_builds_the_province_as_it_stands_today(seeded):
    assert Unit.objects.get(code="40").name == "Tỉnh Nghệ An"
    # Before Nghị quyết 1243 (in force from 01/12/2024): 21 districts, 460 communes, and the 21
    # departments and agencies before the mergers of 1/3/2025.
    before_1243 = dt.date(2024, 11, 30)
    assert _in_force(before_1243, Level.DISTRICT).count() == 21
    assert _in_force(before_1243, Level.COMMUNE).count() == 460
    assert _in_force(before_1243, Level.DEPARTMENT).count() == 21
    # On the last day of the districts: 20 of them (Cửa Lò went into Vinh), the 412 communes of
    # Nghị quyết 1243, 15 departments and agencies after the mergers.
    assert _in_force(BEFORE, Level.DISTRICT).count() == 20
    assert _in_force(BEFORE, Level.COMMUNE).count() == 412
    assert _in_force(BEFORE, Level.DEPARTMENT).count() == 15
    assert Unit.objects.current_on(BEFORE).count() == 1 + 15 + 20 + 412
    # The next day: two tiers, 130 commune-level units directly under the province.
    assert _in_force(AFTER, Level.DISTRICT).count() == 0
    assert _in_force(AFTER, Level.COMMUNE).count() == 130
    assert Unit.objects.current_on(AFTER).count() == 1 + 15 + 130
    assert set(_in_force(AFTER, Level.COMMUNE).values_list("parent__code", flat=True)) == {"40"}
    assert not Unit.objects.at_level(Level.DISTRICT).exclude(valid_to__lte=BEFORE).exists()
    assert _in_force(timezone.localdate(), Level.COMMUNE).count() == 130
    # Every commune-level unit of 1/7/2025 was made of units in force the day before.
    new = _in_force(AFTER, Level.COMMUNE)
    assert not new.exclude(predecessor_links__predecessor__valid_to=BEFORE).exists()
    # Sở Tài chính continues and took in Sở Kế hoạch và Đầu tư on 1/3/2025.
    planning = Unit.objects.get(code="40-SKHDT")
    assert [x.successor.code for x in unit_succession_history(planning)] == ["40-STC"]
    assert planning.valid_to == dt.date(2025, 2, 28)
    assert Unit.objects.get(code="40-STC").valid_to is None
    assert not Unit.objects.filter(path="").exists()


def test_seed_demo_creates_the_quarters_with_2026_q4_open_and_2026_q3_first_on_the_dashboard(seeded):
    assert DEMO_QUARTERS[0] == "2024-Q1" and OPEN_QUARTER == "2026-Q4" and FEATURED_QUARTER == "2026-Q3"
    assert list(Period.objects.order_by("end").values_list("key", flat=True)) == DEMO_QUARTERS
    states = dict(Period.objects.values_list("key", "state"))
    assert states == dict.fromkeys(DEMO_QUARTERS[:-1], PeriodState.CLOSED) | {OPEN_QUARTER: PeriodState.OPEN}
    # The window of Quý IV runs from 15/09 to 14/12; its deadline is the 17th, ahead of 1/12/2026.
    open_period = Period.objects.get(key=OPEN_QUARTER)
    assert (open_period.start, open_period.end) == (dt.date(2026, 9, 15), dt.date(2026, 12, 14))
    today = timezone.localdate()
    expected = dt.date(2026, 12, 17) if today <= dt.date(2026, 12, 17) else today + dt.timedelta(days=10)
    assert open_period.deadline == expected
    # The dashboard opens on the last quarter whose reporting is closed: no period is pinned.
    assert not Period.objects.filter(featured=True).exists()
    assert dashboard_period(None).key == "2026-Q3"


def test_the_open_quarter_keeps_its_deadline_until_it_has_passed():
    period = Period(deadline=dt.date(2026, 12, 17))
    assert live_deadline(period, dt.date(2026, 12, 1)) == dt.date(2026, 12, 17)
    assert live_deadline(period, dt.date(2026, 12, 17)) == dt.date(2026, 12, 17)
    # Seeded later, the demo still shows a live window: ten days ahead.
    assert live_deadline(period, dt.date(2026, 12, 18)) == dt.date(2026, 12, 28)


def test_only_the_units_due_report_each_quarter(seeded):
    for period in Period.objects.exclude(key=OPEN_QUARTER):
        # Every unit due sends its report in a closed quarter, and no other unit does.
        due = set(units_due(period).values_list("pk", flat=True))
        assert set(Submission.objects.filter(period=period).values_list("unit_id", flat=True)) == due, period
    reporting = Counter(Submission.objects.values_list("period__key", flat=True))
    # Before 1/7/2025 the departments, the districts and their communes (460, then the 412 of
    # Nghị quyết 1243 from 2024-Q4, whose window ends on 14/12/2024); after it the departments
    # and the 130 communes.
    assert reporting["2024-Q3"] == 21 + 21 + 460
    assert reporting["2024-Q4"] == 21 + 20 + 412
    assert reporting["2025-Q2"] == 15 + 20 + 412
    assert reporting["2025-Q3"] == reporting["2026-Q3"] == 15 + 130
    assert not Submission.objects.filter(period__key="2025-Q3", unit__kind__in=kinds_of_level(Level.DISTRICT))
    assert not Submission.objects.filter(period__key="2025-Q2", unit__valid_from=AFTER).exists()
    # The departments merged on 1/3/2025 reported until then.
    assert Submission.objects.filter(period__key="2024-Q4", unit__code="40-SKHDT").exists()
    assert not Submission.objects.filter(period__key="2025-Q1", unit__code="40-SKHDT").exists()


def test_the_open_quarter_has_reports_in_every_state_and_most_not_started(seeded):
    reports = Submission.objects.filter(period__key=OPEN_QUARTER)
    statuses = Counter(reports.values_list("status", flat=True))
    assert set(statuses) == set(SubmissionStatus.values)
    assert statuses[SubmissionStatus.APPROVED] < statuses[SubmissionStatus.DRAFT]
    assert reports.count() < 0.5 * units_due(Period.objects.get(key=OPEN_QUARTER)).count()
    # The demo accounts' work: a draft for the commune's reporter, a report for the secretariat.
    assert reports.get(unit__code=DRAFT_UNIT).status == SubmissionStatus.DRAFT
    assert reports.get(unit__code=SUBMITTED_UNIT).status == SubmissionStatus.SUBMITTED


def test_results_are_computed_for_every_closed_quarter(seeded):
    assert not PeriodComputation.objects.filter(stale=True).exists()
    for key in DEMO_QUARTERS[:-1]:
        assert PeriodComputation.objects.get(period__key=key).computed_at is not None, key
        assert UnitScore.objects.filter(period__key=key).exists(), key
        assert Rollup.objects.filter(period__key=key, scope=ScopeKind.PROVINCE).exists(), key
    # Every unit due is scored in 2024-Q4 (the 20 districts too) and in 2026-Q3 (no district).
    assert UnitScore.objects.filter(period__key="2024-Q4", level=Level.DISTRICT).count() == 20
    # (a unit whose report is still returned to it has no approved figure: no score)
    unapproved = Submission.objects.filter(period__key="2026-Q3", unit__kind__in=COMMUNE_KINDS).exclude(
        status=SubmissionStatus.APPROVED
    )
    assert UnitScore.objects.filter(period__key="2026-Q3", level=Level.COMMUNE).count() == 130 - unapproved.count()
    assert not UnitScore.objects.filter(period__key="2026-Q3", level=Level.DISTRICT).exists()
    # The targets of each programme in its own years.
    assert set(Attainment.objects.filter(period__key="2025-Q4").values_list("target__programme__code", flat=True)) == {
        "2021-2025"
    }
    assert set(Attainment.objects.filter(period__key="2026-Q1").values_list("target__programme__code", flat=True)) == {
        "2026-2030"
    }


def test_sở_tài_chính_has_its_series_from_2024(seeded):
    finance = Unit.objects.get(code="40-STC")
    quarters = Attainment.objects.filter(unit=finance, derived=False, provisional=False, value__isnull=False)
    assert set(quarters.values_list("period__key", flat=True)) == set(DEMO_QUARTERS[:-1])
    # The unit it absorbed reported on its own until the merger.
    planning = Attainment.objects.filter(unit__code="40-SKHDT", derived=False, value__isnull=False)
    assert set(planning.values_list("period__key", flat=True)) == {"2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"}


def test_a_new_commune_has_results_from_its_predecessors_before_it_existed(seeded):
    commune = Unit.objects.get(code=DRAFT_UNIT)
    assert commune.valid_from == AFTER
    target = Target.objects.get(code="TTHC-08")  # dossiers handled online: counts that add up
    derived = Attainment.objects.get(period__key="2025-Q1", unit=commune, target=target)
    assert derived.derived
    # Its counts are its predecessors' (in force at the end of 2025-Q1), added by share.
    shares = dict(SuccessionLink.objects.filter(successor=commune).values_list("predecessor_id", "weight"))
    figures = Figure.objects.filter(
        submission__period__key="2025-Q1", submission__unit_id__in=shares, target=target
    ).values_list("submission__unit_id", "numerator", "denominator")
    assert len(figures) == len(shares) > 1
    assert derived.numerator == sum(n * shares[u] for u, n, _d in figures)
    assert derived.denominator == sum(d * shares[u] for u, _n, d in figures)
    # Its own series starts in 2025-Q3 and carries on: no jump from what its predecessors stood at.
    own = Attainment.objects.get(period__key="2025-Q3", unit=commune, target=target)
    before = Attainment.objects.get(period__key="2025-Q2", unit=commune, target=target)
    assert not own.derived and before.derived
    assert abs(own.value - before.value) < 5


def test_the_western_highlands_stay_weaker_after_the_reorganisation(seeded):
    units = Unit.objects.in_bulk()
    links = defaultdict(list)
    for predecessor, successor in SuccessionLink.objects.values_list("predecessor_id", "successor_id"):
        links[successor].append(predecessor)
    # What the ranking shows beside the score: the share of its targets each commune meets.
    met = {
        unit_id: met / total
        for unit_id, met, total in UnitScore.objects.filter(
            period__key=FEATURED_QUARTER, level=Level.COMMUNE
        ).values_list("unit_id", "targets_met", "targets_total")
    }
    west = {pk for pk in met if descends_from(units[pk], HIGHLAND, links, units)}
    assert 20 <= len(west) <= 50
    assert statistics.mean(met[pk] for pk in west) < statistics.mean(met[pk] for pk in met if pk not in west)
    laggards = set(
        LaggardFlag.objects.filter(period__key=FEATURED_QUARTER, tier=FlagTier.LAGGARD).values_list(
            "unit_id", flat=True
        )
    )
    share_west = len(laggards & west) / len(west)
    share_rest = len(laggards & (set(met) - west)) / (len(met) - len(west))
    assert share_west > share_rest


def _behind(period_key: str) -> tuple[int, int, int]:
    """Units judged, how many miss 3 or more thresholds, how many miss at most one in five."""
    results = Attainment.objects.filter(period__key=period_key, derived=False, provisional=False, met__isnull=False)
    judged, missed = Counter(), Counter()
    for unit_id, met in results.values_list("unit_id", "met"):
        judged[unit_id] += 1
        missed[unit_id] += not met
    behind = sum(1 for unit_id in judged if missed[unit_id] >= 3)
    mostly = sum(1 for unit_id in judged if missed[unit_id] <= 0.2 * judged[unit_id])
    return len(judged), behind, mostly


@pytest.mark.parametrize("key", [OLD_STORY_QUARTER, FEATURED_QUARTER])
def test_demo_province_mostly_meets_its_targets_with_a_minority_behind(seeded, key):
    units, behind, mostly = _behind(key)
    assert 0.05 * units <= behind <= 0.25 * units
    assert mostly >= 0.7 * units
    # Rates creep up: most results are better than the quarter before, a few are worse.
    changes = Attainment.objects.filter(period__key=key, derived=False).exclude(change=None)
    better, worse = changes.filter(change__gt=0).count(), changes.filter(change__lt=0).count()
    assert better > 2 * worse > 0


def test_the_province_misses_what_real_provinces_struggle_with(seeded):
    rollups = Rollup.objects.filter(period__key=OLD_STORY_QUARTER, scope=ScopeKind.PROVINCE, target__isnull=False)
    assert rollups.count() == 25
    assert rollups.filter(met=True).count() >= 15
    assert {"TTHC-05", "TTHC-08"} <= set(rollups.filter(met=False).values_list("target__code", flat=True))
    # In 2026 the bar rises: online payment (TTHC-26-06, from 30% to 50%) stays out of reach.
    rollups = Rollup.objects.filter(period__key=FEATURED_QUARTER, scope=ScopeKind.PROVINCE, target__isnull=False)
    assert rollups.filter(met=True).count() >= 0.6 * rollups.count()
    assert rollups.get(target__code="TTHC-26-06").met is False


def test_units_start_2026_behind_the_new_100_percent_targets_and_catch_up(seeded):
    def met_share(key, code):
        results = Attainment.objects.filter(period__key=key, target__code=code, derived=False, met__isnull=False)
        return results.filter(met=True).count() / results.count()

    for code in ("TTHC-26-08", "CQS-26-01"):
        assert met_share("2026-Q1", code) < 0.5 < met_share("2026-Q3", code), code


def test_a_continued_target_carries_on_the_2025_level(seeded):
    # Online dossiers (TTHC-08, 2021-2025) carry on as TTHC-26-02: the province's 2026-Q1 rate
    # is within a few points of its 2025-Q4 rate, and each unit's result reads the change from it.
    def province(key, code):
        return Rollup.objects.get(period__key=key, scope=ScopeKind.PROVINCE, target__code=code).value

    assert abs(province("2026-Q1", "TTHC-26-02") - province("2025-Q4", "TTHC-08")) < 3
    changes = Attainment.objects.filter(period__key="2026-Q1", target__code="TTHC-26-02", derived=False)
    assert changes.exclude(change=None).count() == changes.count()
    assert statistics.mean(abs(c) for c in changes.values_list("change", flat=True)) < 3


def test_demo_counts_are_in_the_plausible_range_of_each_level(seeded):
    # Dossiers a quarter on the map before Nghị quyết 1243 (units merged later add up).
    dossiers = Figure.objects.filter(target__code="TTHC-08", submission__period__end__lt=dt.date(2024, 12, 1))
    ranges = {Level.COMMUNE: (50, 600), Level.DISTRICT: (800, 5000), Level.DEPARTMENT: (300, 8000)}
    for level, (low, high) in ranges.items():
        counts = dossiers.filter(submission__unit__kind__in=kinds_of_level(level)).values_list("denominator", flat=True)
        assert counts and all(low <= count <= high for count in counts), level
    # A commune of 1/7/2025 is the size of the communes it was made of put together.
    merged = Figure.objects.filter(
        target__code="TTHC-26-02", submission__period__key=FEATURED_QUARTER, submission__unit__kind__in=COMMUNE_KINDS
    ).values_list("denominator", flat=True)
    assert merged and statistics.median(merged) > 2 * 210 and max(merged) <= 600 * 12
    # Communes share the commune-level procedure lists.
    for key in (OLD_STORY_QUARTER, FEATURED_QUARTER):
        communes = Figure.objects.filter(
            target__code__in=["TTHC-06", "TTHC-26-01"],
            submission__period__key=key,
            submission__unit__kind__in=COMMUNE_KINDS,
        )
        assert communes.values("denominator").distinct().count() == 1, key


def test_seed_demo_prints_the_logins_and_each_account_lands_on_its_home(seeded, client):
    assert DEMO_PASSWORD in seeded
    for username, _name, _position, roles, _staff in DEMO_USERS:
        assert username in seeded
        response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302 and response.url == "/", username
        user = User.objects.get(username=username)
        assert {r for r, _ in roles} == {r for r, _ in user.role_pairs}
        assert all(Unit.objects.get(code=code).is_current_on(timezone.localdate()) for _r, code in roles)
        home = client.get("/")
        assert home.status_code == 200, username
        context = home.context
        if user.has_role(Role.SECRETARIAT):
            assert [row["period"].key for row in context["summary"]] == [OPEN_QUARTER]
        if user.has_role(Role.REPORTER):
            (row,) = context["rows"]
            assert row["access"].period.key == OPEN_QUARTER and row["access"].fills
        if user.has_role(Role.UNIT_HEAD):
            (item,) = context["headed"]
            assert item["unit"].code == DRAFT_UNIT and item["score"] is not None
        if user.has_role(Role.STEERING):
            assert context["member"]["units"] == len(STEERING_UNITS)
            assert context["results_period"].key == FEATURED_QUARTER
        client.logout()
    reporters = {
        code: username for username, *_rest, roles, _s in DEMO_USERS for r, code in roles if r == Role.REPORTER
    }
    assert set(reporters) == {DRAFT_UNIT, SUBMITTED_UNIT}
    assert Unit.objects.get(code=DRAFT_UNIT).is_pilot


def test_seed_demo_is_safe_to_run_twice_and_keeps_later_edits(seeded):
    models = (Unit, SuccessionEvent, SuccessionLink, User, Submission, Figure, SubmissionEvent, Attainment)
    counts = [m.objects.count() for m in models]
    sent = list(Submission.objects.order_by("pk").values_list("submitted_at", "reviewed_at"))
    target = Target.objects.get(code="TTHC-26-03")
    threshold_set(target=target, level="", from_year=2026, value=Decimal("97"), by=None, reason="Sửa thử")
    call_command("seed_demo", stdout=io.StringIO())
    assert counts == [m.objects.count() for m in models]
    assert sent == list(Submission.objects.order_by("pk").values_list("submitted_at", "reviewed_at"))
    assert Threshold.objects.current().get(target=target, level="", from_year=2026).value == Decimal("97")


def test_seed_demo_says_when_the_database_holds_an_older_demo(seeded):
    assert not older_demo()
    Submission.objects.filter(period__key=OPEN_QUARTER).delete()
    assert older_demo()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "seed_demo" in out.getvalue() and OPEN_QUARTER in out.getvalue()
    assert not Submission.objects.filter(period__key=OPEN_QUARTER).exists()


def test_demo_reports_are_sent_and_reviewed_on_the_demo_clock(seeded):
    now = timezone.now()
    moments = ("submitted_at", "first_submitted_at", "reviewed_at", "created_at")
    for name in moments:
        assert not Submission.objects.filter(**{f"{name}__gt": now}).exists(), name
    assert not SubmissionEvent.objects.filter(at__gt=now).exists()

    sent = Submission.objects.exclude(first_submitted_at=None).select_related("period")
    for submission in sent:
        period, first = submission.period, timezone.localdate(submission.first_submitted_at)
        if period.key == OPEN_QUARTER:
            assert period.start < first <= timezone.localdate(), submission  # the early ones
        else:
            assert first > period.end, submission  # after the data window closes
        assert submission.is_late == (first > period.deadline), submission
        if submission.reviewed_at:
            assert submission.reviewed_at > submission.first_submitted_at, submission
    closed = sent.exclude(period__key=OPEN_QUARTER)
    late = closed.filter(is_late=True).count()
    assert 0 < late < 0.1 * closed.count()  # a few late ones
    assert not sent.filter(period__key=OPEN_QUARTER, is_late=True).exists()  # its deadline is ahead
    # Most reports were approved at once; a few were returned and fixed; a few of the last closed
    # quarter's wait for their unit still.
    assert closed.filter(times_returned__gt=0, status=SubmissionStatus.APPROVED).exists()
    assert 0 < closed.filter(status=SubmissionStatus.RETURNED).count() < 0.05 * closed.count()
    assert set(closed.filter(status=SubmissionStatus.RETURNED).values_list("period__key", flat=True)) == {
        FEATURED_QUARTER
    }

    # The timeline tells the same story as the report: the same moments, one return per return.
    events = SubmissionEvent.objects.filter(submission__in=sent)
    first_sent = dict(
        events.filter(action=EventAction.SUBMITTED).order_by("-at").values_list("submission_id", "at")
    )  # the earliest last
    returns = Counter(events.filter(action=EventAction.RETURNED).values_list("submission_id", flat=True))
    for submission in sent:
        assert first_sent[submission.pk] == submission.first_submitted_at, submission
        assert returns[submission.pk] == submission.times_returned, submission
