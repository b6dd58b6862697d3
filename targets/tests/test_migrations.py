"""The migration that gives every existing target its programme, on a database as it stood."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("targets", "0004_programme_owns_targets")]
AFTER = [("targets", "0006_target_programme_required")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before(transactional_db):
    """The schema before targets belonged to programmes; put back as it was afterwards."""
    apps = migrate(BEFORE)
    yield apps
    apps = migrate(BEFORE)
    apps.get_model("targets", "Target").objects.all().delete()
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def target(apps, code, first_year, last_year):
    Area, Target = apps.get_model("targets", "Area"), apps.get_model("targets", "Target")
    area, _ = Area.objects.get_or_create(code="TTHC", defaults={"name": "Cải cách thủ tục hành chính", "order": 2})
    return Target.objects.create(
        code=code, title=code, area=area, measure="ratio", aggregation="sum", numerator_label="a",
        denominator_label="b", for_commune=True, legal_source="Nghị quyết 76/NQ-CP", first_year=first_year,
        last_year=last_year,
    )  # fmt: skip


def test_existing_targets_join_the_programme_of_their_years_or_one_made_of_them(before):
    Programme = before.get_model("targets", "Programme")
    Programme.objects.create(code="2021-2025", name="2021-2025", first_year=2021, last_year=2025)
    for code, first, last in (("TTHC-08", 2021, 2025), ("TTHC-01", 2023, None), ("CQS-26", 2026, 2027)):
        target(before, code, first, last)
    after = migrate(AFTER)
    Target = after.get_model("targets", "Target")
    assert dict(Target.objects.values_list("code", "programme__code")) == {
        "TTHC-08": "2021-2025",
        "TTHC-01": "2021-2025",  # no last year: within the programme of its first year
        "CQS-26": "2026-2027",  # fits none: a programme made of its years
    }
    made = after.get_model("targets", "Programme").objects.get(code="2026-2027")
    assert (made.first_year, made.last_year, made.closed) == (2026, 2027, False)


def test_a_target_across_two_programmes_stops_the_migration_naming_it(before):
    Programme = before.get_model("targets", "Programme")
    Programme.objects.create(code="2021-2025", name="2021-2025", first_year=2021, last_year=2025)
    target(before, "TTHC-08", 2021, 2025)
    target(before, "CQS-05", 2024, 2027)  # half in 2021-2025: no programme holds it, none can be made
    with pytest.raises(RuntimeError, match="Target CQS-05 .* overlap programme 2021-2025"):
        migrate(AFTER)
