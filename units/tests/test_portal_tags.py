"""How numbers read on every page: 1.234,5, halves rounded up as people round by hand."""

from decimal import Decimal

import pytest
from django.utils import translation

from units.templatetags.portal import figure_text, num


@pytest.fixture(autouse=True)
def vietnamese():
    with translation.override("vi"):
        yield


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("81.25"), 1, "81,3"),  # a half goes up, not to the even digit (81,2)
        (Decimal("81.24"), 1, "81,2"),
        (Decimal("0.125"), 2, "0,13"),
        (Decimal("1234567.8"), 2, "1.234.567,8"),
        (Decimal("-2.5"), 0, "-3"),
        (None, 2, "—"),
    ],
)
def test_num(value, places, expected):
    assert num(value, places) == expected


def test_a_rate_reads_with_one_decimal_and_a_percent_sign():
    assert figure_text(Decimal("81.25"), "ratio") == "81,3%"
    assert figure_text(Decimal("100"), "ratio") == "100%"
