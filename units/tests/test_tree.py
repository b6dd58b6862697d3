import datetime as dt

import pytest

from units.models import Level, Unit
from units.services import unit_close, unit_save, units_rebuild_derived

pytestmark = pytest.mark.django_db


def test_subtree_is_district_and_its_communes_in_one_query(
    tree, district_a, commune_a1, commune_a2, django_assert_num_queries
):
    with django_assert_num_queries(1):
        codes = list(Unit.objects.subtree(district_a).values_list("code", flat=True))
    assert codes == ["429", "17700", "17701"]


def test_subtree_of_province_reaches_every_level(tree):
    assert Unit.objects.subtree(tree).count() == 7


def test_paths_follow_codes(commune_a1):
    assert commune_a1.path == "/40/429/17700/"


def test_moving_a_district_moves_its_communes(tree, district_a, district_b, commune_a1):
    commune_a1.parent = district_b
    unit_save(unit=commune_a1)
    assert list(Unit.objects.subtree(district_b).values_list("code", flat=True)) == ["425", "17200", "17700"]
    assert Unit.objects.get(code="17700").path == "/40/425/17700/"


def test_rebuild_derived_is_idempotent(tree):
    Unit.objects.filter(code="17700").update(path="", search_name="")
    assert units_rebuild_derived() == 1
    assert units_rebuild_derived() == 0
    assert Unit.objects.get(code="17700").search_name == "xa nghi phong 17700"


def test_level_of_each_kind(tree, dept, district_a, commune_a2, province):
    assert (province.level, dept.level, district_a.level, commune_a2.level) == (
        Level.PROVINCE,
        Level.DEPARTMENT,
        Level.DISTRICT,
        Level.COMMUNE,
    )
    assert set(Unit.objects.at_level(Level.COMMUNE).values_list("code", flat=True)) == {"17700", "17701", "17200"}


def test_closed_unit_stays_but_is_not_current(tree, commune_b1):
    unit_close(unit=commune_b1, last_day=dt.date(2025, 6, 30))
    assert Unit.objects.filter(code="17200").exists()
    assert Unit.objects.current_on(dt.date(2025, 6, 30)).filter(code="17200").exists()
    assert not Unit.objects.current_on(dt.date(2025, 7, 1)).filter(code="17200").exists()
    assert not Unit.objects.open().filter(code="17200").exists()


def test_closing_before_opening_is_refused(commune_b1):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        unit_close(unit=commune_b1, last_day=dt.date(2000, 1, 1))
    commune_b1.refresh_from_db()
    assert commune_b1.valid_to is None
