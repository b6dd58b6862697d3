"""The status rule on both sides of each of its limits, with the shipped at-risk margin (2 points)."""

from decimal import Decimal

import pytest

from attainment.models import Status
from attainment.rules import status_of
from targets.models import Direction, Measure, Target

HIGHER = Target(code="TTHC-08", measure=Measure.RATIO, direction=Direction.HIGHER)
LOWER = Target(code="TTHC-99", measure=Measure.COUNT, direction=Direction.LOWER)
DONE = Target(code="CCTC-01", measure=Measure.BOOLEAN)


def status(target, value, threshold, off_track=False):
    value, threshold = Decimal(value), Decimal(threshold)
    return status_of(target, value, threshold, target.is_met(value, threshold), off_track)


@pytest.mark.parametrize(
    ("target", "value", "threshold", "expected"),
    [
        (HIGHER, "79.99", "80", Status.BEHIND),
        (HIGHER, "80", "80", Status.AT_RISK),  # met on the line
        (HIGHER, "81.99", "80", Status.AT_RISK),  # still within 2 points
        (HIGHER, "82", "80", Status.MET),  # 2 points clear
        (LOWER, "11", "10", Status.BEHIND),
        (LOWER, "9", "10", Status.AT_RISK),
        (LOWER, "8", "10", Status.MET),
        (HIGHER, "100", "100", Status.MET),  # a rate at 100%: nothing left to lose to the margin
        (HIGHER, "99.99", "100", Status.BEHIND),
        (HIGHER, "99", "98", Status.AT_RISK),  # below 100, within 2 points
        (DONE, "1", "1", Status.MET),  # done is done: no margin
        (DONE, "0", "1", Status.BEHIND),
    ],
)
def test_status_on_both_sides_of_each_limit(settings, target, value, threshold, expected):
    assert settings.AT_RISK_MARGIN == 2.0
    assert status(target, value, threshold) == expected


def test_met_but_off_track_is_at_risk():
    assert status(HIGHER, "95", "80", off_track=True) == Status.AT_RISK
    assert status(HIGHER, "95", "80", off_track=False) == Status.MET


def test_no_figure_is_no_data():
    assert status_of(HIGHER, None, Decimal(80), None) == Status.NO_DATA
    assert status_of(HIGHER, Decimal(90), None, None) == Status.NO_DATA
