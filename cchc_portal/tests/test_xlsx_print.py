"""Workbooks the portal produces print on A4 landscape, every column on the page width."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from cchc_portal.xlsx import MAX_WIDTH, MIN_WIDTH, number_format_for, report_sheet, workbook_bytes, write_table

TITLE = ["UBND TỈNH NGHỆ AN", "Bảng kết quả thực hiện chỉ tiêu, Quý IV/2026", "Ngày xuất: 01/12/2026"]
HEADERS = ["Mã", "Đơn vị", "Số hồ sơ", "Tỷ lệ (%)", "Ghi chú"]
ROWS = [
    ["TTHC-08", "Huyện Nghi Lộc", 1234567, 61.7, "=1+1"],
    ["TTHC-09", "Xã Nghi Phong " * 10, 20, Decimal("92.50"), "+84 912 345 678"],
]


def _reopen(workbook: Workbook):
    return load_workbook(io.BytesIO(workbook_bytes(workbook))).active


def _report(**kwargs):
    workbook = Workbook()
    header_row = report_sheet(workbook.active, title_lines=TITLE, headers=HEADERS, rows=ROWS, **kwargs)
    return header_row, _reopen(workbook)


def test_a_report_sheet_prints_on_a4_landscape_fitted_to_the_page_width():
    header_row, sheet = _report()
    assert header_row == 5  # three title lines, a blank row, then the header
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.orientation == "landscape"
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$5:$5"  # the header row repeats on every page
    assert sheet.freeze_panes == "A6"


def test_a_report_sheet_has_its_title_header_and_rows_in_times_new_roman():
    _header_row, sheet = _report()
    assert [sheet.cell(row=r, column=1).value for r in (1, 2, 3)] == TITLE
    assert "A1:E1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A1"].font.bold and not sheet["A3"].font.bold and sheet["A3"].font.italic
    assert [c.value for c in sheet[5]] == HEADERS
    assert sheet["B6"].value == "Huyện Nghi Lộc"
    assert {c.font.name for row in sheet.iter_rows() for c in row if c.value is not None} == {"Times New Roman"}


def test_text_in_a_report_sheet_never_becomes_a_formula():
    _header_row, sheet = _report()
    assert (sheet["E6"].value, sheet["E6"].data_type) == ("=1+1", "s")
    assert (sheet["E7"].value, sheet["E7"].data_type) == ("+84 912 345 678", "s")


def test_numbers_show_grouped_integers_and_one_decimal():
    _header_row, sheet = _report()
    assert sheet["C6"].number_format == "#,##0"
    assert sheet["D6"].number_format == "#,##0.0"
    assert sheet["D7"].number_format == "#,##0.0"  # Decimal("92.50")
    assert sheet["C6"].value == 1234567  # the value itself is untouched


def test_a_column_number_format_given_by_the_caller_wins():
    _header_row, sheet = _report(number_formats={4: "0.00"})
    assert sheet["D6"].number_format == "0.00"
    assert sheet["C6"].number_format == "#,##0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, "#,##0"),
        (12.5, "#,##0.0"),
        (Decimal("80.00"), "#,##0"),
        (Decimal("80.01"), "#,##0.0"),
        (True, None),
        ("12", None),
        (None, None),
    ],
)
def test_number_format_for(value, expected):
    assert number_format_for(value) == expected


def test_widths_are_computed_from_the_content_and_capped():
    _header_row, sheet = _report()
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDE"}
    assert widths["A"] == len("TTHC-08") + 2
    assert widths["B"] == MAX_WIDTH  # "Xã Nghi Phong " ten times is longer than the cap: it wraps
    assert sheet["B7"].alignment.wrap_text
    assert widths["C"] == len("1,234,567") + 2
    assert widths["E"] == len("+84 912 345 678") + 2
    assert min(widths.values()) >= MIN_WIDTH


def test_widths_given_by_the_caller_are_kept():
    _header_row, sheet = _report(widths=[10, 40, 12, 12, 30])
    assert [sheet.column_dimensions[letter].width for letter in "ABCDE"] == [10, 40, 12, 12, 30]


def test_write_table_keeps_its_header_in_row_one_and_prints_the_same_way():
    workbook = Workbook()
    write_table(workbook.active, HEADERS, ROWS, [10, 40, 12, 12, 30])
    sheet = _reopen(workbook)
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["A2"].value == "TTHC-08"
    assert sheet.freeze_panes == "A2"
    assert sheet.print_title_rows == "$1:$1"
    assert (sheet.page_setup.paperSize, sheet.page_setup.orientation) == (9, "landscape")
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.column_dimensions["B"].width == 40
    assert (sheet["E2"].value, sheet["E2"].data_type) == ("=1+1", "s")
