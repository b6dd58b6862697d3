import datetime as dt

import pytest

from units.models import Kind, SuccessionKind
from units.selectors import unit_current_on, unit_predecessors, unit_succession_history, unit_successors
from units.services import unit_close
from units.tests.factories import SuccessionEventFactory, UnitFactory, link

pytestmark = pytest.mark.django_db

BEFORE, MERGER, AFTER = dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2025, 7, 2)


@pytest.fixture
def merger(tree, commune_a1, commune_a2):
    """Xã Nghi Phong + Thị trấn Quán Hành -> Xã Nghi Lộc from 1/7/2025."""
    new = UnitFactory(code="N-NGHILOC", name="Xã Nghi Lộc", kind=Kind.COMMUNE, parent=tree, valid_from=MERGER)
    event = SuccessionEventFactory(effective_date=MERGER)
    for old in (commune_a1, commune_a2):
        unit_close(unit=old, last_day=BEFORE)
        link(event, old, new)
    return new


def codes(units):
    return sorted(u.code for u in units)


def test_old_commune_is_itself_before_the_merger(merger, commune_a1):
    assert codes(unit_current_on(commune_a1, BEFORE)) == ["17700"]


def test_old_commune_is_the_new_one_after_the_merger(merger, commune_a1):
    assert codes(unit_current_on(commune_a1, MERGER)) == ["N-NGHILOC"]


def test_new_commune_is_its_predecessors_before_the_merger(merger):
    assert codes(unit_current_on(merger, BEFORE)) == ["17700", "17701"]
    assert codes(unit_current_on(merger, AFTER)) == ["N-NGHILOC"]


def test_predecessors_are_found_across_several_events_in_one_query(merger, commune_a1, django_assert_num_queries):
    older = UnitFactory(
        code="OLD", name="Xã Nghi Phong cũ", valid_from=dt.date(2000, 1, 1), valid_to=dt.date(2019, 12, 31)
    )
    link(SuccessionEventFactory(effective_date=dt.date(2020, 1, 1), kind=SuccessionKind.RENAME), older, commune_a1)
    with django_assert_num_queries(1):
        found = codes(unit_predecessors(merger))
    assert found == ["17700", "17701", "OLD"]
    assert codes(unit_successors(older)) == ["17700", "N-NGHILOC"]
    assert codes(unit_current_on(older, dt.date(2022, 5, 1))) == ["17700"]
    assert codes(unit_current_on(older, AFTER)) == ["N-NGHILOC"]


def test_continuing_department_absorbs_another(tree, dept):
    absorbed = UnitFactory(
        code="40-SLDTBXH", name="Sở Lao động - Thương binh và Xã hội", kind=Kind.DEPARTMENT, parent=tree
    )
    unit_close(unit=absorbed, last_day=dt.date(2025, 2, 28))
    link(SuccessionEventFactory(effective_date=dt.date(2025, 3, 1)), absorbed, dept)
    assert codes(unit_current_on(absorbed, dt.date(2025, 3, 1))) == ["40-SNV"]
    assert codes(unit_current_on(dept, dt.date(2024, 1, 1))) == ["40-SNV"]
    assert codes(unit_predecessors(dept)) == ["40-SLDTBXH"]


def test_split_sends_shares_to_several_successors(tree):
    old = UnitFactory(code="OLD", name="Xã Cũ", valid_to=BEFORE)
    left = UnitFactory(code="L", name="Xã Trái", valid_from=MERGER)
    right = UnitFactory(code="R", name="Xã Phải", valid_from=MERGER)
    event = SuccessionEventFactory(kind=SuccessionKind.SPLIT)
    link(event, old, left, "0.6")
    link(event, old, right, "0.4")
    assert codes(unit_current_on(old, AFTER)) == ["L", "R"]
    assert [str(x.weight) for x in unit_succession_history(old).order_by("successor__code")] == ["0.6000", "0.4000"]


def test_cycle_in_links_does_not_loop(tree, commune_a1, commune_b1):
    event = SuccessionEventFactory()
    link(event, commune_a1, commune_b1)
    link(event, commune_b1, commune_a1)
    assert codes(unit_predecessors(commune_a1)) == ["17200", "17700"]
