import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from cchc_portal.xlsx import WorkbookRejected
from targets.excel import catalogue_export, catalogue_import
from targets.models import Area, CatalogueChange, Programme, Target, Threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_catalogue(db):
    call_command("loaddata", "catalogue", verbosity=0)


def snapshot():
    return (
        list(Area.objects.values_list("code", "name", "order")),
        list(Target.objects.order_by("code").values()),
        list(Threshold.objects.order_by("pk").values()),
        CatalogueChange.objects.count(),
    )


def upload(data: bytes, name="danh-muc.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def edited(data: bytes, edit) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def find_row(sheet, first_cells: tuple) -> int:
    for row in sheet.iter_rows(min_row=2):
        if tuple(c.value for c in row[: len(first_cells)]) == first_cells:
            return row[0].row
    raise AssertionError(first_cells)


def test_the_real_catalogue_holds_every_domain_target(real_catalogue):
    assert Area.objects.count() == 6
    assert Target.objects.count() == 25 + 13
    old, new = Programme.objects.get(code="2021-2025"), Programme.objects.get(code="2026-2030")
    assert (old.closed, new.closed) == (True, False)
    assert "Quyết định 282/QĐ-TTg" in new.legal_sources and "13/02/2026" in new.legal_sources
    for programme in (old, new):
        assert sum(programme.targets.values_list("weight", flat=True)) == Decimal("100")
    assert set(old.targets.values_list("last_year", flat=True)) == {2025}
    work_records = Target.objects.get(code="CQS-05")
    levels = dict(Threshold.objects.filter(target=work_records, from_year=2025).values_list("level", "value"))
    assert levels == {"province": 90, "department": 90, "district": 80, "commune": 60}


def test_the_2026_2030_catalogue_is_sourced_or_says_it_is_assumed(real_catalogue):
    targets = list(Target.objects.filter(programme__code="2026-2030").prefetch_related("thresholds"))
    assert len(targets) == 13
    for target in targets:
        target.full_clean()
        assert not target.for_district and target.last_year in (2027, 2030), target.code
        assumed = target.legal_source == "Kế hoạch CCHC của tỉnh (giả định của dữ liệu mẫu)"
        assert assumed == target.description.startswith("Giả định của dữ liệu mẫu:"), target.code
        assert {t.from_year for t in target.thresholds.all()} <= {2026, 2028}, target.code
        assert 2026 in {t.from_year for t in target.thresholds.all()}, target.code
    continued = {t.continues.code: t.code for t in targets if t.continues}
    assert continued == {
        "TTHC-06": "TTHC-26-01",
        "TTHC-08": "TTHC-26-02",
        "TTHC-09": "TTHC-26-04",
        "TTHC-10": "TTHC-26-05",
        "TTHC-05": "TTHC-26-06",
        "TTHC-12": "TTHC-26-07",
        "CQS-05": "CQS-26-03",
    }
    # Satisfaction: at least 95% from 2026 (the province's 2026 plan) and from 2028 (Decision 282).
    land = dict(Threshold.objects.filter(target__code="TTHC-26-05").values_list("from_year", "value"))
    assert land == {2026: Decimal(85), 2028: Decimal(90)}
    digitised = Threshold.objects.filter(target__code="TTHC-26-08").values_list("level", "from_year", "value")
    assert set(digitised) == {
        ("province", 2026, Decimal(100)),
        ("department", 2026, Decimal(100)),
        ("commune", 2026, Decimal(95)),
        ("commune", 2028, Decimal(100)),
    }


def test_export_then_import_unchanged_changes_nothing(real_catalogue, secretariat):
    before = snapshot()
    result = catalogue_import(upload=upload(catalogue_export()), by=secretariat, reason="Kiểm tra")
    assert result.ok, [str(e) for e in result.errors]
    assert result.ok and result.saved.get("areas", 0) == result.saved.get("targets", 0) == 0
    assert result.saved.get("thresholds") == 0
    assert snapshot() == before


def test_round_trip_applies_an_edited_threshold_and_a_new_target(real_catalogue, secretariat):
    def edit(workbook):
        sheet = workbook["Ngưỡng"]
        row = find_row(sheet, ("TTHC-26-04", None, 2026))
        sheet.cell(row=row, column=4, value=96)
        targets = workbook["Chỉ tiêu"]
        new = [c.value for c in targets[find_row(targets, ("TTHC-26-03",))]]
        new[0], new[1] = "TTHC-99", "Tỷ lệ hồ sơ trả kết quả đúng hạn"
        targets.append(new)
        sheet.append(["TTHC-99", "Cấp xã", 2027, "98,5"])

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Mục tiêu 2026")
    assert result.ok, [str(e) for e in result.errors]
    assert (result.saved.get("targets"), result.saved.get("thresholds")) == (1, 2)
    satisfaction = Threshold.objects.filter(target__code="TTHC-26-04", level="", from_year=2026)
    assert sorted(satisfaction.values_list("value", flat=True)) == [Decimal("95"), Decimal("96")]
    assert satisfaction.current().get().value == Decimal("96")
    added = Threshold.objects.current().get(target__code="TTHC-99")
    assert (added.value, added.level, added.target.programme.code) == (Decimal("98.5"), "commune", "2026-2030")
    change = CatalogueChange.objects.filter(target__code="TTHC-26-04").get()
    assert (change.changed_by, change.reason) == (secretariat, "Mục tiêu 2026")


def closed_message(code: str) -> str:
    message = "The programme %(programme)s is closed: its targets can no longer be changed or given thresholds."
    return _(message) % {"programme": code}


def target_row(code: str) -> int:
    return find_row(load_workbook(io.BytesIO(catalogue_export()))["Chỉ tiêu"], (code,))


def test_a_closed_programmes_targets_come_back_unchanged_or_the_row_is_refused(real_catalogue, secretariat):
    def edit(workbook):
        targets = workbook["Chỉ tiêu"]
        targets.cell(row=find_row(targets, ("TTHC-09",)), column=2, value="Mức độ hài lòng (sửa)")
        sheet = workbook["Ngưỡng"]
        sheet.cell(row=find_row(sheet, ("TTHC-08", None, 2025)), column=4, value=55)

    before = snapshot()
    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    assert [(e.sheet, e.row, e.message) for e in result.errors] == [
        ("Chỉ tiêu", target_row("TTHC-08"), closed_message("2021-2025")),
        ("Chỉ tiêu", target_row("TTHC-09"), closed_message("2021-2025")),
    ]
    assert snapshot() == before


def test_a_new_target_cannot_join_a_closed_programme(real_catalogue, secretariat):
    def edit(workbook):
        targets = workbook["Chỉ tiêu"]
        new = [c.value for c in targets[find_row(targets, ("TTHC-03",))]]
        new[0] = "TTHC-98"
        targets.append(new)
        workbook["Ngưỡng"].append(["TTHC-98", None, 2025, 80])

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    assert [e.message for e in result.errors] == [closed_message("2021-2025")]
    assert not Target.objects.filter(code="TTHC-98").exists()


def test_a_target_continues_one_of_an_earlier_programme_by_code(real_catalogue, secretariat):
    label = str(_("Continues (target code)"))

    def edit(workbook):
        targets = workbook["Chỉ tiêu"]
        column = 1 + [c.value for c in targets[1]].index(label)
        targets.cell(row=find_row(targets, ("TTHC-26-03",)), column=column, value="TTHC-03")  # ratio, higher
        targets.cell(row=find_row(targets, ("TC-26-01",)), column=column, value="TTHC-26-02")  # same programme
        targets.cell(row=find_row(targets, ("CQS-26-01",)), column=column, value="KHONG-CO")

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    errors = sorted(result.errors, key=lambda e: e.row)
    assert [(e.row, e.column) for e in errors] == [(target_row("TC-26-01"), label), (target_row("CQS-26-01"), label)]
    assert "TTHC-26-02" in errors[0].message and "2026-2030" in errors[0].message

    def fixed(workbook):
        edit(workbook)
        targets = workbook["Chỉ tiêu"]
        column = 1 + [c.value for c in targets[1]].index(label)
        for code in ("TC-26-01", "CQS-26-01"):
            targets.cell(row=find_row(targets, (code,)), column=column).value = None

    result = catalogue_import(upload=upload(edited(catalogue_export(), fixed)), by=secretariat, reason="Thử")
    assert result.ok, [str(e) for e in result.errors]
    assert Target.objects.get(code="TTHC-26-03").continues.code == "TTHC-03"
    change = CatalogueChange.objects.get(target__code="TTHC-26-03")
    assert change.changes == {"continues": [None, Target.objects.get(code="TTHC-03").pk]}


def test_malformed_rows_are_named_and_nothing_is_saved(real_catalogue, secretariat):
    def edit(workbook):
        targets = workbook["Chỉ tiêu"]
        targets.cell(row=3, column=6, value="Trung bình cộng")  # Loại đo
        targets.cell(row=4, column=2, value="Tiêu đề mới sẽ không được lưu")
        targets.cell(row=5, column=19, value="năm 2021")  # Từ năm
        sheet = workbook["Ngưỡng"]
        sheet.cell(row=2, column=4, value="tám mươi")

    before = snapshot()
    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    messages = [str(e) for e in result.errors]
    assert not result.ok
    assert any(m.startswith("trang tính “Chỉ tiêu”, dòng 3, cột “Loại đo”: Giá trị không hợp lệ") for m in messages), (
        messages
    )
    assert any(m.startswith("trang tính “Chỉ tiêu”, dòng 5, cột “Từ năm”: Nhập số nguyên") for m in messages), messages
    assert any(m.startswith("trang tính “Ngưỡng”, dòng 2, cột “Ngưỡng”: Nhập một số") for m in messages), messages
    assert snapshot() == before


def test_model_rules_are_reported_on_their_column(real_catalogue, secretariat):
    def edit(workbook):
        targets = workbook["Chỉ tiêu"]
        row = find_row(targets, ("TTHC-26-03",))
        targets.cell(row=row, column=10).value = None  # Mẫu số of a ratio

    row = target_row("TTHC-26-03")
    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    assert [str(e) for e in result.errors] == [
        f"trang tính “Chỉ tiêu”, dòng {row}, cột “Mẫu số”: Bắt buộc đối với chỉ tiêu tỷ lệ hoặc cắt giảm."
    ]


def test_formula_where_a_number_belongs_is_refused(real_catalogue, secretariat):
    def edit(workbook):
        workbook["Ngưỡng"].cell(row=2, column=4, value="=80+10")

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    assert [str(e) for e in result.errors] == [
        "trang tính “Ngưỡng”, dòng 2, cột “Ngưỡng”: Không chấp nhận công thức; hãy nhập giá trị."
    ]


def test_missing_and_extra_columns_are_named(real_catalogue, secretariat):
    def edit(workbook):
        workbook["Lĩnh vực"].delete_cols(3)
        workbook["Ngưỡng"].cell(row=1, column=5, value="Ghi chú")

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    assert [str(e) for e in result.errors] == [
        "trang tính “Lĩnh vực”, dòng 1: Thiếu cột: Thứ tự.",
        "trang tính “Ngưỡng”, dòng 1: Thừa cột: Ghi chú.",
    ]


def test_duplicates_and_unknown_references(real_catalogue, secretariat):
    def edit(workbook):
        workbook["Ngưỡng"].append(["TTHC-09", None, 2021, 91])
        workbook["Ngưỡng"].append(["KHONG-CO", None, 2021, 50])

    result = catalogue_import(upload=upload(edited(catalogue_export(), edit)), by=secretariat, reason="Thử")
    messages = [str(e) for e in result.errors]
    assert any("Trùng ngưỡng (chỉ tiêu, cấp, năm)" in m for m in messages), messages
    assert any("cột “Mã chỉ tiêu”: Mã chỉ tiêu không có trong trang Chỉ tiêu." in m for m in messages), messages


def test_text_that_looks_like_a_formula_is_exported_as_text(real_catalogue, secretariat):
    target = Target.objects.get(code="TTHC-03")
    target.description = '=HYPERLINK("http://example.com","bấm")'
    target.save()
    workbook = load_workbook(io.BytesIO(catalogue_export()))
    cell = workbook["Chỉ tiêu"].cell(row=find_row(workbook["Chỉ tiêu"], ("TTHC-03",)), column=3)
    assert cell.data_type == "s"
    assert cell.value.startswith("=HYPERLINK")


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"Ma,Ten\nTTHC-01,abc\n", "không phải là sổ tính Excel"),
        (b"%PDF-1.4 not a workbook", "không phải là sổ tính Excel"),
        (_zip({"hello.txt": b"hi"}), "không phải là sổ tính Excel"),
        (
            _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/vbaProject.bin": b"\0"}),
            "có macro",
        ),
        (
            _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>", "xl/big.xml": b"0" * 50_000_000}),
            "kích thước bất thường",
        ),
        (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}), "bị hỏng"),
    ],
    ids=["csv", "pdf", "zip", "macro", "zip-bomb", "broken"],
)
def test_hostile_files_are_refused(real_catalogue, secretariat, data, message):
    before = snapshot()
    with pytest.raises(WorkbookRejected) as refused:
        catalogue_import(upload=upload(data), by=secretariat, reason="Thử")
    assert message in str(refused.value)
    assert snapshot() == before


def test_oversized_file_is_refused(real_catalogue, secretariat, settings):
    settings.XLSX_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(WorkbookRejected, match="lớn hơn"):
        catalogue_import(upload=upload(catalogue_export()), by=secretariat, reason="Thử")
