import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import load_workbook

from conftest import COMPLETE
from reports.services import submission_save_figures
from targets.excel import catalogue_export, catalogue_import
from targets.models import Area, CatalogueChange, Measure, Target
from targets.services import area_save, target_save, threshold_set
from targets.tests.factories import ProgrammeFactory

pytestmark = pytest.mark.django_db


def test_measure_cannot_change_once_units_reported(draft_a, reporter_a, secretariat):
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    target = Target.objects.get(code="TTHC-08")
    target.measure = Measure.PERCENT
    with pytest.raises(ValidationError) as error:
        target_save(target=target, by=secretariat, reason="Đổi")
    assert "measure" in error.value.message_dict
    figure = draft_a.figures.get(target__code="TTHC-08")
    assert figure.computed_value == Decimal("61.7")


def test_a_figure_is_judged_by_the_measure_it_was_reported_under(draft_a, reporter_a):
    submission_save_figures(submission=draft_a, figures=COMPLETE, by=reporter_a)
    Target.objects.filter(code="TTHC-08").update(measure=Measure.PERCENT)  # forced past the guard
    assert draft_a.figures.get(target__code="TTHC-08").computed_value == Decimal("61.7")


def test_area_changes_are_recorded(secretariat):
    area = area_save(area=Area(code="TC", name="Cải cách thể chế", order=1), by=secretariat, reason="Kế hoạch 41")
    area.name = "Cải cách thể chế, pháp luật"
    area_save(area=area, by=secretariat, reason="Đổi tên theo Kế hoạch 2026")
    changes = list(
        CatalogueChange.objects.filter(area=area).order_by("changed_at", "id").values_list("action", "reason")
    )
    assert changes == [("created", "Kế hoạch 41"), ("updated", "Đổi tên theo Kế hoạch 2026")]


def _catalogue_with(edit) -> SimpleUploadedFile:
    workbook = load_workbook(io.BytesIO(catalogue_export()))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile("danh-muc.xlsx", out.getvalue())


@pytest.mark.parametrize(
    "column, value, message",
    [
        (3, 1999, "dòng 2, cột “Từ năm”: Đảm bảo giá trị này lớn hơn hoặc bằng với 2000"),
        (3, 70000, "dòng 2, cột “Từ năm”: Đảm bảo giá trị này là nhỏ hơn hoặc bằng với 2100"),
        (4, 1e12, "dòng 2, cột “Ngưỡng”: Nhập một số nhỏ hơn 10 tỷ, tối đa 2 chữ số thập phân."),
        (4, "1e30", "dòng 2, cột “Ngưỡng”: Nhập một số nhỏ hơn 10 tỷ, tối đa 2 chữ số thập phân."),
    ],
)
def test_bad_threshold_rows_are_named_not_crashed(db, secretariat, column, value, message):
    call_command("loaddata", "catalogue", verbosity=0)

    def edit(workbook):
        workbook["Ngưỡng"].cell(row=2, column=column).value = value

    result = catalogue_import(upload=_catalogue_with(edit), by=secretariat, reason="Thử")
    assert any(message in str(e) for e in result.errors), [str(e) for e in result.errors]


def test_change_history_reads_in_words(login, secretariat):
    target = Target.objects.create(
        code="CQS-09", title="Thử", area=Area.objects.create(code="CQS", name="Chính quyền số", order=6),
        measure=Measure.PERCENT, aggregation="latest", for_district=True, legal_source="QĐ 942", first_year=2021,
        programme=ProgrammeFactory(),
    )  # fmt: skip
    threshold_set(target=target, level="district", from_year=2024, value=Decimal(75), by=secretariat, reason="Lần đầu")
    threshold_set(target=target, level="district", from_year=2024, value=Decimal(80), by=secretariat, reason="QĐ 942")
    target.weight = Decimal("2.5")
    target_save(target=target, by=secretariat, reason="Trọng số mới")
    body = login(secretariat).get("/targets/CQS-09/").content.decode()
    assert "Ngưỡng (Cấp huyện, từ 2024): 75 → 80" in body
    assert "Trọng số: 1 → 2,5" in body
