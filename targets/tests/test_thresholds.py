import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from targets.models import CatalogueChange, ChangeAction, Threshold
from targets.selectors import ThresholdResolver
from targets.services import threshold_remove, threshold_set
from targets.tests.factories import TargetFactory, threshold


def threshold_for(*, target, unit, year, as_of=None):
    """The threshold `unit` must reach on `target` in `year`, as the engine and the pages ask it."""
    return ThresholdResolver.load(as_of=as_of).resolve(target.pk, unit.level, year)


pytestmark = pytest.mark.django_db


@pytest.fixture
def work_records():
    """Hồ sơ công việc xử lý trên môi trường mạng: 90% province bodies, 80% districts, 60% communes."""
    target = TargetFactory(code="CQS-07")
    threshold(target, "90", level="department")
    threshold(target, "90", level="province")
    threshold(target, "80", level="district")
    threshold(target, "60", level="commune")
    return target


@pytest.fixture
def online_dossiers():
    """A roadmap for every level: 50% in 2021, 60% from 2022, 80% from 2025; communes 40% from 2023."""
    target = TargetFactory(code="TTHC-07")
    threshold(target, "50", from_year=2021)
    threshold(target, "60", from_year=2022)
    threshold(target, "80", from_year=2025)
    threshold(target, "40", level="commune", from_year=2023)
    return target


def test_threshold_depends_on_the_units_level(work_records, dept, district_a, commune_a1):
    assert threshold_for(target=work_records, unit=dept, year=2025) == Decimal("90")
    assert threshold_for(target=work_records, unit=district_a, year=2025) == Decimal("80")
    assert threshold_for(target=work_records, unit=commune_a1, year=2025) == Decimal("60")


@pytest.mark.parametrize(
    "year, expected",
    [(2020, None), (2021, "50"), (2022, "60"), (2023, "60"), (2024, "60"), (2025, "80"), (2026, "80")],
)
def test_roadmap_takes_the_latest_year_not_after_the_period(online_dossiers, district_a, year, expected):
    value = threshold_for(target=online_dossiers, unit=district_a, year=year)
    assert value == (Decimal(expected) if expected else None)


@pytest.mark.parametrize("year, expected", [(2021, "50"), (2022, "60"), (2023, "40"), (2025, "40")])
def test_level_rule_beats_the_general_rule_once_it_starts(online_dossiers, commune_a1, year, expected):
    assert threshold_for(target=online_dossiers, unit=commune_a1, year=year) == Decimal(expected)


def test_no_rule_for_the_level_and_no_general_rule_means_no_threshold(district_a):
    target = TargetFactory()
    threshold(target, "100", level="commune")
    assert threshold_for(target=target, unit=district_a, year=2025) is None


def test_resolution_is_one_query(online_dossiers, commune_a1, django_assert_num_queries):
    with django_assert_num_queries(1):
        threshold_for(target=online_dossiers, unit=commune_a1, year=2024)


def test_changed_threshold_keeps_the_old_one_for_periods_reported_before(secretariat, district_a):
    target = TargetFactory()
    t0 = timezone.make_aware(dt.datetime(2024, 1, 10, 9, 0))
    t1 = timezone.make_aware(dt.datetime(2025, 2, 1, 9, 0))
    threshold_set(
        target=target, level="", from_year=2021, value=Decimal("80"), by=secretariat, reason="Kế hoạch 41", at=t0
    )
    threshold_set(
        target=target, level="", from_year=2021, value=Decimal("85"), by=secretariat, reason="Nâng mục tiêu", at=t1
    )
    between = timezone.make_aware(dt.datetime(2024, 12, 20))
    assert threshold_for(target=target, unit=district_a, year=2024, as_of=between) == Decimal("80")
    assert threshold_for(target=target, unit=district_a, year=2024) == Decimal("85")
    assert threshold_for(target=target, unit=district_a, year=2024, as_of=t0 - dt.timedelta(days=1)) is None
    assert Threshold.objects.filter(target=target).count() == 2
    assert Threshold.objects.current().get(target=target).value == Decimal("85")


def test_threshold_change_is_recorded_with_who_when_why(secretariat):
    target = TargetFactory()
    threshold_set(
        target=target, level="district", from_year=2024, value=Decimal("75"), by=secretariat, reason="Lần đầu"
    )
    threshold_set(
        target=target, level="district", from_year=2024, value=Decimal("80"), by=secretariat, reason="Theo QĐ 942"
    )
    change = CatalogueChange.objects.filter(target=target).first()
    assert change.action == ChangeAction.THRESHOLD_SET
    assert change.changed_by == secretariat and change.reason == "Theo QĐ 942"
    assert change.changes == {"threshold": ["75.00", "80.00"], "level": "district", "from_year": 2024}


def test_setting_the_same_value_changes_nothing(secretariat):
    target = TargetFactory()
    first = threshold_set(target=target, level="", from_year=2021, value=Decimal("80"), by=secretariat, reason="x")
    again = threshold_set(target=target, level="", from_year=2021, value=Decimal("80.00"), by=secretariat, reason="x")
    assert first.pk == again.pk
    assert CatalogueChange.objects.filter(target=target).count() == 1


def test_a_change_without_reason_is_refused_and_nothing_saved(secretariat):
    target = TargetFactory()
    with pytest.raises(ValidationError):
        threshold_set(target=target, level="", from_year=2021, value=Decimal("80"), by=secretariat, reason="  ")
    assert not Threshold.objects.filter(target=target).exists()


def test_removed_threshold_stays_for_history(secretariat, district_a):
    target = TargetFactory()
    row = threshold(target, "70")
    threshold_remove(threshold=row, by=secretariat, reason="Bỏ chỉ tiêu")
    assert threshold_for(target=target, unit=district_a, year=2025) is None
    assert Threshold.objects.filter(pk=row.pk).exists()


def test_resolver_over_many_targets_is_still_one_query(work_records, online_dossiers, django_assert_num_queries):
    with django_assert_num_queries(1):
        resolver = ThresholdResolver.load()
    assert resolver.resolve(work_records.pk, "district", 2025) == Decimal("80")
    assert resolver.resolve(online_dossiers.pk, "district", 2025) == Decimal("80")
