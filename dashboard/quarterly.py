"""The quarterly report workbook in the look provincial offices use.

Times New Roman; the usual header block ("UBND TỈNH ..." on the left, "CỘNG HÒA XÃ HỘI CHỦ
NGHĨA VIỆT NAM / Độc lập - Tự do - Hạnh phúc" on the right); one sheet per reform area, then
the ranking and the laggards. Every sheet prints on A4 landscape, all its columns on the page
width and its table's header row repeated on each page. Every text cell is written as text, so
none can run as a formula. It is also the annex of the Word report (`documents.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from cchc_portal.xlsx import BOX, FONT_NAME, number_format_for, print_setup, set_cell, workbook_bytes
from reports.models import Period
from units.models import Level

from .documents import Issuer, dated_line, province_issuer
from .selectors import laggards_by_member, overview, ranking

FONT = FONT_NAME


def _header_block(sheet, issuer: Issuer, title: str, width: int) -> int:
    """The administrative header; returns the first free row."""
    half = max(2, width // 2)
    for row, left, right, bold in (
        (1, issuer.authority, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True),
        (2, "SỞ NỘI VỤ", "Độc lập - Tự do - Hạnh phúc", True),
    ):
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=half)
        sheet.merge_cells(start_row=row, start_column=half + 1, end_row=row, end_column=width)
        for column, text in ((1, left), (half + 1, right)):
            cell = set_cell(sheet, row, column, text)
            cell.font = Font(name=FONT, bold=bold, size=12)
            cell.alignment = Alignment(horizontal="center")
    sheet.merge_cells(start_row=3, start_column=half + 1, end_row=3, end_column=width)
    cell = set_cell(sheet, 3, half + 1, dated_line(issuer.place, timezone.localdate()))
    cell.font = Font(name=FONT, italic=True, size=12)
    cell.alignment = Alignment(horizontal="center")
    sheet.merge_cells(start_row=5, start_column=1, end_row=5, end_column=width)
    cell = set_cell(sheet, 5, 1, title.upper())
    cell.font = Font(name=FONT, bold=True, size=13)
    cell.alignment = Alignment(horizontal="center", wrap_text=True)
    sheet.row_dimensions[5].height = 34
    return 7


def _table(sheet, start: int, headers: list[str], rows: list[list], widths: list[int]) -> None:
    """The table under the header block, its header row in row `start`, set up for printing."""
    for column, text in enumerate(headers, start=1):
        cell = set_cell(sheet, start, column, text)
        cell.font = Font(name=FONT, bold=True, size=11)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BOX
    for r, row in enumerate(rows, start=start + 1):
        for column, value in enumerate(row, start=1):
            cell = set_cell(sheet, r, column, value)
            cell.font = Font(name=FONT, size=11)
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(value, str))
            cell.border = BOX
            number_format = number_format_for(value)
            if number_format:
                cell.number_format = number_format
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    print_setup(sheet, header_row=start)


def _num(value):
    return float(value) if value is not None else None


def quarterly_report(period: Period, progress: Callable[[int], None] = lambda _p: None) -> bytes:
    """Build the workbook; `progress` is told how far it has got, in percent."""
    issuer = province_issuer()
    title = _("Report on the administrative reform targets, %s") % period.label
    workbook = Workbook()
    workbook.remove(workbook.active)
    data = overview(period)
    steps = len(data["areas"]) + 2
    for index, (area, _area_rollup, lines) in enumerate(data["areas"], start=1):
        sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", f"{area.order}. {area.code}")[:31])
        start = _header_block(sheet, issuer, f"{title}\n{area.name}", 8)
        rows = []
        for number, line in enumerate(lines, start=1):
            r = line.rollup
            levels = "; ".join(f"{label}: {x.units_met}/{x.units_total}" for label, x in line.by_level)
            met = "" if r is None or r.met is None else (_("Met") if r.met else _("Behind"))
            rows.append(
                [number, line.target.code, line.target.title, _num(r.threshold if r else None),
                 _num(r.value if r else None), met, levels, line.target.legal_source]
            )  # fmt: skip
        headers = [
            _("No."),
            _("Code"),
            _("Target"),
            _("Threshold (%)"),
            _("Province (%)"),
            _("Result"),
            _("Units met"),
            _("Legal source"),
        ]
        _table(sheet, start, headers, rows, [6, 10, 60, 12, 12, 12, 40, 30])
        progress(int(100 * index / steps))
    sheet = workbook.create_sheet(_("Ranking")[:31])
    start = _header_block(sheet, issuer, _("Ranking of units, %s") % period.label, 7)
    rows = []
    for level, label in Level.choices[1:]:
        for s in ranking(period, level):
            rows.append(
                [str(label), s.rank, s.unit.code, s.unit.name, float(s.score), s.get_band_display(), s.movement]
            )
    headers = [_("Level"), _("Rank"), _("Unit code"), _("Unit"), _("Score"), _("Band"), _("Movement")]
    _table(sheet, start, headers, rows, [24, 8, 12, 40, 10, 14, 12])
    progress(int(100 * (steps - 1) / steps))
    sheet = workbook.create_sheet(_("Laggards")[:31])
    start = _header_block(sheet, issuer, _("Laggard units, %s") % period.label, 4)
    rows = [
        [
            member.get_full_name() if member else _("No member assigned"),
            f.unit.code,
            f.unit.name,
            f.reason_text,
        ]
        for member, flags in laggards_by_member(period)
        for f in flags
    ]
    _table(sheet, start, [_("Responsible member"), _("Unit code"), _("Unit"), _("Reasons")], rows, [30, 12, 36, 90])
    progress(100)
    return workbook_bytes(workbook)
