import datetime as dt

import pytest

from units.models import Kind, SuccessionKind, SuccessionLink, Unit
from units.selectors import predecessors_in_force, unit_succession_history
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


def carried(day):
    """{successor code: {predecessor code: share}} as the engine reads succession on `day`."""
    units = {u.pk: u for u in Unit.objects.all()}
    links = SuccessionLink.objects.values_list("predecessor_id", "successor_id", "weight")
    found = predecessors_in_force(day, units, links)
    return {units[s].code: {units[p].code: str(share.normalize()) for p, share in parts} for s, parts in found.items()}


def test_new_commune_carries_its_predecessors_before_the_merger(merger):
    assert carried(BEFORE) == {"N-NGHILOC": {"17700": "1", "17701": "1"}}


def test_nothing_is_carried_once_the_new_commune_exists(merger):
    assert carried(MERGER) == {}
    assert carried(AFTER) == {}


def test_a_chain_of_events_reaches_back_to_the_units_in_force(tree):
    """A (to 2019) renamed B (2020 to 30/6/2025); B and D merged into C on 1/7/2025."""
    a = UnitFactory(code="A", name="Xã A", valid_to=dt.date(2019, 12, 31))
    b = UnitFactory(code="B", name="Xã B", valid_from=dt.date(2020, 1, 1), valid_to=BEFORE)
    d = UnitFactory(code="D", name="Xã D", valid_to=BEFORE)
    c = UnitFactory(code="C", name="Xã C", valid_from=MERGER)
    link(SuccessionEventFactory(effective_date=dt.date(2020, 1, 1), kind=SuccessionKind.RENAME), a, b)
    merge = SuccessionEventFactory()
    link(merge, b, c)
    link(merge, d, c)
    assert carried(dt.date(2019, 6, 30)) == {"B": {"A": "1"}, "C": {"A": "1", "D": "1"}}
    assert carried(dt.date(2024, 6, 30)) == {"C": {"B": "1", "D": "1"}}


def test_continuing_department_absorbs_another(tree, dept):
    absorbed = UnitFactory(
        code="40-SLDTBXH", name="Sở Lao động - Thương binh và Xã hội", kind=Kind.DEPARTMENT, parent=tree
    )
    unit_close(unit=absorbed, last_day=dt.date(2025, 2, 28))
    link(SuccessionEventFactory(effective_date=dt.date(2025, 3, 1)), absorbed, dept)
    history = unit_succession_history(dept)
    assert [(x.predecessor.code, x.successor.code) for x in history] == [("40-SLDTBXH", "40-SNV")]
    # The continuing department existed before the merger: it carries no one in the engine.
    assert carried(dt.date(2024, 12, 31)) == {}


def test_split_sends_shares_to_several_successors(tree):
    old = UnitFactory(code="OLD", name="Xã Cũ", valid_to=BEFORE)
    left = UnitFactory(code="L", name="Xã Trái", valid_from=MERGER)
    right = UnitFactory(code="R", name="Xã Phải", valid_from=MERGER)
    event = SuccessionEventFactory(kind=SuccessionKind.SPLIT)
    link(event, old, left, "0.6")
    link(event, old, right, "0.4")
    assert carried(BEFORE) == {"L": {"OLD": "0.6"}, "R": {"OLD": "0.4"}}
    assert [str(x.weight) for x in unit_succession_history(old).order_by("successor__code")] == ["0.6000", "0.4000"]


def test_cycle_in_links_does_not_loop(tree, commune_a1, commune_b1):
    event = SuccessionEventFactory()
    link(event, commune_a1, commune_b1)
    link(event, commune_b1, commune_a1)
    assert carried(BEFORE) == {}  # both exist on that day: nobody carries anybody
    # The engine's walk over closed units linked in a circle ends too, and finds no one in force.
    closed = [UnitFactory(code=c, name=c, valid_to=dt.date(2019, 12, 31)) for c in ("X", "Y")]
    link(event, closed[0], closed[1])
    link(event, closed[1], closed[0])
    link(event, closed[0], UnitFactory(code="LATE", name="Xã Mới", valid_from=MERGER))
    assert carried(BEFORE) == {}
