"""The engine's write step: lean derived tables, and only what changed is written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attainment.engine import period_recompute
from attainment.models import Attainment, LaggardFlag, Rollup, UnitScore
from attainment.tests.test_engine import report
from cchc_portal.db import bulk_insert
from reports.models import Figure, Period
from reports.periods import period_create
from targets.models import Area, Measure, Target
from targets.tests.factories import TargetFactory, threshold
from units.models import Unit, User
from units.services import unit_close
from units.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

DERIVED = (Attainment, Rollup, UnitScore, LaggardFlag)
RESPONSIBLE = LaggardFlag.responsible.through
# What each row of a derived table points at, and where that must exist.
POINTERS = {
    Attainment: {"period": Period, "unit": Unit, "target": Target},
    Rollup: {"period": Period, "target": Target, "area": Area},
    UnitScore: {"period": Period, "unit": Unit},
    LaggardFlag: {"period": Period, "unit": Unit},
    RESPONSIBLE: {"laggardflag": LaggardFlag, "user": User},
}


@pytest.fixture
def quarters(tree, steering, district_a, district_b, commune_a1, commune_a2, commune_b1):
    """Two quarters of a small province on two targets, the second with history, ranks that move,
    laggards with a responsible steering member and units that have not reported."""
    work_records = TargetFactory(code="CQS-05", weight=Decimal(5))
    for level, value in (("province", "90"), ("department", "90"), ("district", "80"), ("commune", "60")):
        threshold(work_records, value, level=level)
    satisfaction = TargetFactory(code="TTHC-09", measure=Measure.PERCENT, weight=Decimal(3), aggregation="latest")
    threshold(satisfaction, "90")
    before, now = period_create(key="2024-Q4"), period_create(key="2025-Q1")
    report(district_a, before, CQS_05=(70, 100), TTHC_09=95)
    report(district_b, before, CQS_05=(85, 100), TTHC_09="88.5")
    report(commune_a1, before, CQS_05=(2, 3))
    report(district_a, now, CQS_05=(90, 100), TTHC_09=91)
    report(district_b, now, CQS_05=(60, 100), TTHC_09=80)
    report(commune_a1, now, CQS_05=(1, 3))  # 33,3333...: rounded to the column
    report(commune_a2, now, CQS_05=(59, 100))
    return [before, now]


def recompute(periods: list[Period]) -> int:
    return sum(period_recompute(p).written for p in periods)


def snapshot() -> dict[str, dict[tuple, dict]]:
    """Every derived row, field by field without its id, by its natural key."""
    tables = {}
    for model in DERIVED:
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        key = [f.attname for f in model._meta.concrete_fields if f.name in POINTERS[model]] + (
            ["scope", "scope_key"] if model is Rollup else []
        )
        rows = model.objects.values(*fields)
        tables[model.__name__] = {tuple(row[k] for k in key): row for row in rows}
    pairs = RESPONSIBLE.objects.values_list("laggardflag__period_id", "laggardflag__unit_id", "user_id")
    tables["responsible"] = {pair: {} for pair in pairs}
    return tables


def difference(old: dict, new: dict) -> int:
    """Rows added, removed or changed between two snapshots."""
    count = 0
    for name, rows in new.items():
        before = old[name]
        count += sum(1 for key in rows.keys() | before.keys() if rows.get(key) != before.get(key))
    return count


def from_scratch(periods: list[Period]) -> dict:
    """The rows a fresh database gives: every derived row dropped, each period computed once."""
    RESPONSIBLE.objects.all().delete()
    for model in DERIVED:
        model.objects.all().delete()
    recompute(periods)
    return snapshot()


def dangling() -> list[tuple[str, str, int]]:
    """Rows of the derived tables pointing at a row that does not exist."""
    found = []
    for model, pointers in POINTERS.items():
        for name, related in pointers.items():
            column = model._meta.get_field(name).attname
            rows = model.objects.exclude(**{f"{column}__in": related.objects.values("pk")}).exclude(
                **{f"{column}__isnull": True}
            )
            found += [(model.__name__, name, value) for value in rows.values_list(column, flat=True)]
    return found


# --- Only what changed ----------------------------------------------------------------------------


def test_a_second_identical_run_writes_nothing(quarters):
    first = recompute(quarters)
    stored = snapshot()
    assert first == sum(len(rows) for rows in stored.values()) > 0  # the first run inserts everything
    with CaptureQueriesContext(connection) as captured:
        summaries = [period_recompute(p) for p in quarters]
    assert [s.written for s in summaries] == [0, 0]
    writes = [q["sql"] for q in captured if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    # Only each period's bookkeeping row (when it was computed) is saved; the ranking statement
    # runs and, nothing having moved, writes no row (`written` is 0 above).
    ranking = [sql for sql in writes if "attainment_unitscore" in sql]
    assert len(ranking) == 2 and all("RANK() OVER" in sql for sql in ranking)
    others = [sql for sql in writes if sql not in ranking]
    assert len(others) == 2 and all("attainment_periodcomputation" in sql for sql in others)
    assert snapshot() == stored


def test_changing_one_approved_figure_writes_the_difference_and_gives_a_fresh_databases_rows(quarters, district_b):
    before, now = quarters
    recompute(quarters)
    stored = snapshot()
    # Diễn Châu now meets CQS-05 (60 -> 85 of 100): its result, its score, the ranks, the roll-ups
    # and its laggard flag change; nothing else does.
    Figure.objects.filter(submission__unit=district_b, submission__period=now, target__code="CQS-05").update(
        numerator=85
    )
    written = period_recompute(now).written
    changed = snapshot()
    assert written == difference(stored, changed) > 0
    row = changed["Attainment"][(now.pk, district_b.pk, Target.objects.get(code="CQS-05").pk)]
    assert (row["value"], row["met"], row["change"]) == (Decimal(85), True, Decimal(0))
    assert (
        changed["Attainment"][(before.pk, district_b.pk, row["target_id"])]
        == stored["Attainment"][(before.pk, district_b.pk, row["target_id"])]
    )  # the other quarter is not touched
    assert from_scratch(quarters) == changed


def test_units_appearing_and_closing_insert_and_delete_their_rows(quarters, commune_b1, tree):
    before, now = quarters
    recompute(quarters)
    stored = snapshot()
    unit_close(unit=commune_b1, last_day=dt.date(2024, 12, 31))  # gone by the end of 2025-Q1
    newcomer = UnitFactory(code="17999", name="Xã Mới", parent=tree, valid_from=dt.date(2025, 1, 1))
    written = period_recompute(now).written
    changed = snapshot()
    assert written == difference(stored, changed)
    attainments = changed["Attainment"]
    assert not [key for key in attainments if key[:2] == (now.pk, commune_b1.pk)]
    assert [key for key in attainments if key[:2] == (now.pk, newcomer.pk)]
    assert [key for key in attainments if key[:2] == (before.pk, commune_b1.pk)]  # its past stays
    assert from_scratch(quarters) == changed


def test_a_figure_rounded_by_its_column_is_not_rewritten(quarters, commune_a1):
    """1 of 3 is 33,3333...: the stored value is compared as the column keeps it."""
    recompute(quarters)
    row = Attainment.objects.get(period=quarters[1], unit=commune_a1, target__code="CQS-05")
    assert row.value == Decimal("33.3333")
    assert recompute(quarters) == 0


# --- Lean tables, kept whole by the rebuild ------------------------------------------------------


def test_derived_tables_have_no_foreign_keys_and_only_the_indexes_their_readers_use():
    expected = {
        Attainment: {("period_id", "unit_id", "target_id"), ("period_id", "target_id", "status"), ("unit_id",)},
        Rollup: {
            ("period_id", "target_id", "scope", "scope_key"),
            ("period_id", "area_id", "scope", "scope_key"),
            ("target_id",),  # a target's trend across periods
        },
        UnitScore: {("period_id", "unit_id"), ("unit_id",)},  # a unit's ranks across periods
        LaggardFlag: {("period_id", "unit_id"), ("period_id", "tier", "severity")},
        RESPONSIBLE: {("laggardflag_id", "user_id"), ("laggardflag_id",), ("user_id",)},
    }
    with connection.cursor() as cursor:
        for model, indexes in expected.items():
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert not [name for name, c in constraints.items() if c["foreign_key"]], model
            found = {
                tuple(c["columns"])
                for c in constraints.values()
                if (c["index"] or c["unique"]) and not c["primary_key"] and not c["check"]
            }
            assert found == indexes, model


def test_a_recompute_removes_rows_left_pointing_at_nothing(quarters, commune_a1):
    recompute(quarters)
    assert dangling() == []
    now = quarters[1]
    ghost_unit = Unit.objects.order_by("-pk").first().pk + 100
    ghost_target = Target.objects.order_by("-pk").first().pk + 100
    work_records = Target.objects.get(code="CQS-05")
    fields = ("period_id", "unit_id", "target_id", "status", "provisional", "derived")
    bulk_insert(Attainment, fields, [(now.pk, ghost_unit, work_records.pk, "no_data", False, False)])
    bulk_insert(Attainment, fields, [(now.pk, commune_a1.pk, ghost_target, "no_data", False, False)])
    flag = LaggardFlag.objects.filter(period=now).first()
    bulk_insert(RESPONSIBLE, ("laggardflag_id", "user_id"), [(flag.pk, User.objects.order_by("-pk")[0].pk + 100)])
    assert sorted(dangling()) == sorted(
        [
            ("Attainment", "unit", ghost_unit),
            ("Attainment", "target", ghost_target),
            ("LaggardFlag_responsible", "user", User.objects.order_by("-pk")[0].pk + 100),
        ]
    )
    period_recompute(now)
    assert dangling() == []


def test_deleting_a_target_unit_or_user_through_django_takes_their_rows(quarters, steering, commune_b1):
    spare = TargetFactory(code="CQS-99")  # no figure yet: it can be deleted
    threshold(spare, "50")
    recompute(quarters)
    assert Attainment.objects.filter(target=spare).exists() and Rollup.objects.filter(target=spare).exists()
    assert RESPONSIBLE.objects.filter(user=steering).exists()
    assert UnitScore.objects.filter(unit=commune_b1).count() == 0 < Attainment.objects.filter(unit=commune_b1).count()
    spare.delete()
    commune_b1.delete()  # units are closed, never deleted; should one be, its rows go with it
    steering.delete()
    assert not Attainment.objects.filter(target_id=spare.pk).exists()
    assert not Attainment.objects.filter(unit_id=commune_b1.pk).exists()
    assert not LaggardFlag.objects.filter(unit_id=commune_b1.pk).exists()
    assert not RESPONSIBLE.objects.filter(user_id=steering.pk).exists()
    assert dangling() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage parameter")
def test_ranks_are_rewritten_in_place_on_half_empty_pages():
    """A unit entering its level's ranking rewrites the ranks below it: the scores' table keeps
    room on its pages for those new row versions (fillfactor 50)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [UnitScore._meta.db_table])
        assert cursor.fetchone()[0] == ["fillfactor=50"]
