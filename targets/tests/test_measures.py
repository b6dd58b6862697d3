from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from targets.models import Direction, Measure
from targets.tests.factories import TargetFactory

pytestmark = pytest.mark.django_db


def test_ratio_is_numerator_over_denominator_in_percent():
    target = TargetFactory.build(measure=Measure.RATIO)
    assert target.value_of(1234, 2000) == Decimal("61.7")
    assert target.value_of(0, 0) is None  # nothing to handle: no rate, not 0%
    assert target.value_of(None, 10) is None


def test_district_at_79_9_percent_misses_80_and_commune_at_61_meets_60():
    target = TargetFactory.build()
    assert target.is_met(target.value_of(799, 1000), Decimal("80")) is False
    assert target.is_met(target.value_of(61, 100), Decimal("60")) is True


def test_reduction_target_is_met_by_going_down():
    """Public service units: at least 10% fewer than the 2021 baseline of 200."""
    target = TargetFactory.build(
        measure=Measure.REDUCTION, numerator_label="Số đơn vị hiện có", denominator_label="Số đơn vị năm 2021"
    )
    assert target.value_of(178, 200) == Decimal("11")
    assert target.is_met(target.value_of(178, 200), Decimal("10")) is True
    assert target.is_met(target.value_of(190, 200), Decimal("10")) is False  # 5% cut
    assert target.is_met(target.value_of(210, 200), Decimal("10")) is False  # grew by 5%
    assert target.value_of(210, 200) == Decimal("-5")


def test_lower_is_better_is_met_at_or_below_the_threshold():
    target = TargetFactory.build(measure=Measure.PERCENT, direction=Direction.LOWER)
    assert target.is_met(Decimal("2"), Decimal("2")) is True
    assert target.is_met(Decimal("2.1"), Decimal("2")) is False


def test_done_or_not_done():
    target = TargetFactory.build(measure=Measure.BOOLEAN)
    assert target.is_met(target.value_of(1), Decimal("1")) is True
    assert target.is_met(target.value_of(0), Decimal("1")) is False
    assert target.is_met(None, Decimal("1")) is None


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"measure": Measure.REDUCTION, "direction": Direction.LOWER}, "direction"),
        ({"measure": Measure.RATIO, "denominator_label": ""}, "denominator_label"),
        ({"for_province": False, "for_department": False, "for_district": False, "for_commune": False}, "for_commune"),
        ({"first_year": 2025, "last_year": 2021}, "__all__"),
    ],
)
def test_inconsistent_target_is_refused(changes, field):
    target = TargetFactory.build(**changes)
    target.area.save()
    with pytest.raises(ValidationError) as error:
        target.full_clean()
    assert field in error.value.message_dict
