from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from attainment.models import PeriodComputation
from reports.periods import period_create
from targets.models import CatalogueChange, Direction, Measure, Programme, ScoringMethod, Target, Threshold
from targets.selectors import (
    ThresholdResolver,
    default_programme,
    describe_change,
    lineage,
    lineage_map,
    lineages,
    programme_choices,
    programme_of_year,
)
from targets.services import programme_save, target_save, threshold_remove, threshold_set
from targets.tests.factories import AreaFactory, ProgrammeFactory, TargetFactory

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


# --- Programmes own their targets -----------------------------------------------------------------


@pytest.fixture
def programmes(db):
    old = ProgrammeFactory(code="2021-2025", first_year=2021, last_year=2025)
    new = ProgrammeFactory(code="2026-2030", name="Kế hoạch CCHC trọng tâm 2026-2030", first_year=2026, last_year=2030)
    return old, new


def draft(**fields) -> Target:
    """A target not saved yet, in a saved area."""
    return TargetFactory.build(area=AreaFactory(), **fields)


def errors_of(instance) -> dict[str, list[str]]:
    try:
        instance.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


def within(years: str) -> str:
    return _("A target's years must lie within its programme's years (%(years)s).") % {"years": years}


def test_a_targets_years_lie_within_its_programmes_on_both_sides(programmes):
    _old, new = programmes
    assert errors_of(draft(programme=new, first_year=2026, last_year=2030)) == {}
    assert errors_of(draft(programme=new, first_year=2026, last_year=None)) == {}
    assert errors_of(draft(programme=new, first_year=2025, last_year=2030)) == {"first_year": [within("2026-2030")]}
    assert errors_of(draft(programme=new, first_year=2026, last_year=2031)) == {"last_year": [within("2026-2030")]}


def test_a_target_without_a_last_year_ends_with_its_programme(programmes):
    old, new = programmes
    target = TargetFactory(code="TTHC-X", programme=old, first_year=2021, last_year=None)
    assert target.end_year == 2025
    assert list(Target.objects.in_force(2025)) == [target]
    assert not Target.objects.in_force(2026).exists()
    later = TargetFactory(code="TTHC-Y", programme=new, first_year=2026, last_year=2027)
    assert list(Target.objects.in_force(2027)) == [later] and not Target.objects.in_force(2028).exists()


def continuing(new, continued, **fields) -> Target:
    fields = {"code": "TTHC-26-01", "first_year": 2026, "last_year": 2030, **fields}
    return draft(programme=new, continues=continued, **fields)


def test_continues_a_target_of_an_earlier_programme_with_the_same_measure_and_direction(programmes):
    old, new = programmes
    online = TargetFactory(code="TTHC-08", programme=old)
    assert errors_of(continuing(new, online)) == {}
    # The same programme is not an earlier one.
    sibling = TargetFactory(code="TTHC-26-09", programme=new, first_year=2026, last_year=2030)
    assert list(errors_of(continuing(new, sibling))) == ["continues"]
    # A later programme neither.
    later = ProgrammeFactory(code="2031-2035", first_year=2031, last_year=2035)
    future = TargetFactory(code="TTHC-31-01", programme=later, first_year=2031, last_year=2035)
    assert "2031-2035" in errors_of(continuing(new, future))["continues"][0]
    # Another measure, or the other direction.
    satisfaction = TargetFactory(code="TTHC-09", programme=old, measure=Measure.PERCENT)
    assert list(errors_of(continuing(new, satisfaction))) == ["continues"]
    assert errors_of(continuing(new, satisfaction, measure=Measure.PERCENT)) == {}
    lower = TargetFactory(code="TTHC-07", programme=old, measure=Measure.COUNT, direction=Direction.LOWER)
    assert list(errors_of(continuing(new, lower, measure=Measure.COUNT))) == ["continues"]
    assert errors_of(continuing(new, lower, measure=Measure.COUNT, direction=Direction.LOWER)) == {}


def test_a_target_cannot_continue_itself(programmes):
    target = TargetFactory(code="TTHC-26-01", programme=programmes[1], first_year=2026, last_year=2030)
    target.continues = target
    assert errors_of(target) == {"continues": [_("A target cannot continue itself.")]}


def test_a_target_is_continued_by_one_target_at_most(programmes, secretariat):
    old, new = programmes
    online = TargetFactory(code="TTHC-08", programme=old)
    first = continuing(new, online)
    target_save(target=first, by=secretariat, reason="Quyết định 282/QĐ-TTg")
    second = continuing(new, online, code="TTHC-26-02")
    assert errors_of(second) == {"continues": [_("The target continued is already continued by another target.")]}
    second.continues = None
    assert errors_of(second) == {}
    with pytest.raises(IntegrityError), transaction.atomic():
        Target.objects.filter(pk=target_save(target=second, by=secretariat, reason="x").pk).update(continues=online)


def test_programme_years_do_not_overlap_and_keep_their_targets(programmes, secretariat):
    old, new = programmes
    overlapping = Programme(code="2025-2029", name="x", first_year=2025, last_year=2029)
    assert list(errors_of(overlapping)) == ["first_year"] and "2021-2025" in errors_of(overlapping)["first_year"][0]
    assert errors_of(Programme(code="2031-2035", name="x", first_year=2031, last_year=2035)) == {}  # right after
    TargetFactory(code="TTHC-26-01", programme=new, first_year=2026, last_year=2030)
    new.last_year = 2029
    with pytest.raises(ValidationError) as refused:
        programme_save(programme=new, by=secretariat, reason="Rút ngắn")
    assert "TTHC-26-01" in refused.value.message_dict["last_year"][0]
    assert Programme.objects.get(pk=new.pk).last_year == 2030


# --- A closed programme is read, never changed ----------------------------------------------------


def closed_message(programme: Programme) -> str:
    message = "The programme %(programme)s is closed: its targets can no longer be changed or given thresholds."
    return _(message) % {"programme": programme.code}


@pytest.fixture
def closed(programmes, secretariat):
    old, _new = programmes
    target = TargetFactory(code="TTHC-09", programme=old, measure=Measure.PERCENT, aggregation="latest")
    threshold_set(target=target, level="", from_year=2021, value=Decimal(90), by=secretariat, reason="Kế hoạch 41")
    old.closed = True
    programme_save(programme=old, by=secretariat, reason="Giai đoạn 2021-2025 kết thúc")
    target.programme.refresh_from_db()
    return target


def test_closing_a_programme_is_recorded(closed, secretariat):
    change = CatalogueChange.objects.filter(programme=closed.programme).first()
    assert change.changes == {"closed": [False, True]} and change.reason == "Giai đoạn 2021-2025 kết thúc"


def test_a_closed_programmes_target_is_refused_any_change(closed, secretariat):
    before = CatalogueChange.objects.count()
    closed.title = "Mức độ hài lòng (sửa)"
    with pytest.raises(ValidationError) as refused:
        target_save(target=closed, by=secretariat, reason="Sửa")
    assert refused.value.messages == [closed_message(closed.programme)]
    with pytest.raises(ValidationError):
        threshold_set(target=closed, level="", from_year=2025, value=Decimal(95), by=secretariat, reason="Sửa")
    with pytest.raises(ValidationError):
        threshold_remove(threshold=Threshold.objects.get(target=closed), by=secretariat, reason="Bỏ")
    with pytest.raises(ValidationError):
        target_save(target=draft(code="TTHC-99", programme=closed.programme), by=secretariat, reason="x")
    assert Target.objects.get(pk=closed.pk).title != "Mức độ hài lòng (sửa)"
    assert list(Threshold.objects.filter(target=closed).values_list("value", "superseded_at")) == [(Decimal(90), None)]
    assert CatalogueChange.objects.count() == before and not Target.objects.filter(code="TTHC-99").exists()


def test_reading_and_saving_a_closed_programmes_target_unchanged_is_fine(closed, secretariat):
    target = Target.objects.get(pk=closed.pk)
    assert target_save(target=target, by=secretariat, reason="Không đổi") == target
    same = threshold_set(target=target, level="", from_year=2021, value=Decimal(90), by=secretariat, reason="x")
    assert same.value == Decimal(90)
    assert ThresholdResolver.load().resolve(target.pk, "commune", 2025) == Decimal(90)


def test_an_open_programmes_target_is_changed_and_cannot_move_into_a_closed_one(closed, programmes, secretariat):
    _old, new = programmes
    target = TargetFactory(code="TTHC-26-04", programme=new, first_year=2026, last_year=2030, measure=Measure.PERCENT)
    target.title = "Mức độ hài lòng trong tiếp nhận, giải quyết thủ tục hành chính"
    target_save(target=target, by=secretariat, reason="Quyết định 282/QĐ-TTg")
    threshold_set(target=target, level="", from_year=2026, value=Decimal(95), by=secretariat, reason="QĐ 4820")
    assert CatalogueChange.objects.filter(target=target).count() == 2
    target.programme, target.first_year, target.last_year = closed.programme, 2021, 2025
    with pytest.raises(ValidationError) as refused:
        target_save(target=target, by=secretariat, reason="Chuyển")
    assert refused.value.messages == [closed_message(closed.programme)]
    assert Target.objects.get(pk=target.pk).programme == new


def test_a_programme_reopened_takes_changes_again(closed, secretariat):
    programme = closed.programme
    programme.closed = False
    programme_save(programme=programme, by=secretariat, reason="Mở lại để sửa sai sót")
    threshold_set(target=closed, level="", from_year=2025, value=Decimal(92), by=secretariat, reason="Sửa sai sót")
    assert Threshold.objects.current().filter(target=closed).count() == 2


# --- Selectors other apps call --------------------------------------------------------------------


def test_programme_of_year_and_choices(programmes):
    old, new = programmes
    old.closed = True
    old.save()
    assert programme_of_year(2021) == old and programme_of_year(2025) == old
    assert programme_of_year(2026) == new and programme_of_year(2030) == new
    assert programme_of_year(2020) is None and programme_of_year(2031) is None
    choices = programme_choices()
    assert [code for code, _label in choices] == ["2026-2030", "2021-2025"]
    assert choices[0][1] == "2026-2030 · Kế hoạch CCHC trọng tâm 2026-2030"
    assert choices[1][1] == _("%(programme)s (closed)") % {"programme": f"2021-2025 · {old.name}"}
    assert default_programme(2026) == new
    assert default_programme(2025) == new  # the year's programme is closed: the open one
    new.closed = True
    new.save()
    assert default_programme(2026) == new  # nothing open: the latest


def test_lineage_follows_continues_oldest_first_in_few_queries(programmes, django_assert_num_queries):
    old, new = programmes
    later = ProgrammeFactory(code="2031-2035", first_year=2031, last_year=2035)
    first = TargetFactory(code="TTHC-08", programme=old)
    second = TargetFactory(code="TTHC-26-02", programme=new, first_year=2026, last_year=2030, continues=first)
    third = TargetFactory(code="TTHC-31-02", programme=later, first_year=2031, last_year=2035, continues=second)
    alone = TargetFactory(code="TTHC-26-03", programme=new, first_year=2026, last_year=2030)
    with django_assert_num_queries(2):
        assert lineage(third) == [first, second, third]
    assert lineage(first) == [first] and lineage(alone) == [alone]
    with django_assert_num_queries(1):
        roots = lineage_map([first, second, third, alone])
    assert roots == {first.pk: first.pk, second.pk: first.pk, third.pk: first.pk, alone.pk: alone.pk}
    assert lineages([third.pk]) == {third.pk: [first.pk, second.pk, third.pk]}


def test_a_programme_change_reads_in_words(closed, login, secretariat):
    target = TargetFactory(
        code="TTHC-26-04", programme=programme_of_year(2026), first_year=2026, last_year=2030,
        measure=Measure.PERCENT,
    )  # fmt: skip
    target.continues = closed
    target_save(target=target, by=secretariat, reason="Tiếp nối TTHC-09")
    lines = describe_change(CatalogueChange.objects.filter(target=target).get())
    assert lines == [(str(Target._meta.get_field("continues").verbose_name).capitalize(), "—", "TTHC-09")]
    lines = describe_change(CatalogueChange.objects.filter(programme=closed.programme, changes__has_key="closed").get())
    assert lines == [(str(Programme._meta.get_field("closed").verbose_name).capitalize(), _("No"), _("Yes"))]
