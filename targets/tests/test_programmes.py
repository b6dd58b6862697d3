import pytest

from attainment.models import PeriodComputation
from reports.periods import period_create
from targets.models import CatalogueChange, Programme, ScoringMethod
from targets.services import programme_save

pytestmark = pytest.mark.django_db


def test_changing_the_scoring_method_is_recorded_and_rejudges_open_periods(secretariat):
    period = period_create(key="2025-Q1")
    programme = programme_save(
        programme=Programme(code="2021-2025", name="2021-2025", first_year=2021, last_year=2025),
        by=secretariat,
        reason="Kế hoạch 41-KH/TU",
    )
    PeriodComputation.objects.filter(period=period).update(stale=False)
    programme.scoring = ScoringMethod.ALL_OR_NOTHING
    programme_save(programme=programme, by=secretariat, reason="Ban Chỉ đạo chọn cách chấm đạt / không đạt")
    change = CatalogueChange.objects.filter(programme=programme).first()
    assert change.changes == {"scoring": ["proportional", "all_or_nothing"]} and change.changed_by == secretariat
    assert PeriodComputation.objects.get(period=period).stale
    assert "không được điểm" in programme.scoring_text


def test_saving_a_programme_unchanged_records_nothing(secretariat):
    programme = programme_save(
        programme=Programme(code="2026-2030", name="2026-2030", first_year=2026, last_year=2030),
        by=secretariat,
        reason="Quyết định 282/QĐ-TTg",
    )
    programme_save(programme=programme, by=secretariat, reason="again")
    assert CatalogueChange.objects.filter(programme=programme).count() == 1  # the creation only
