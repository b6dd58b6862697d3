"""Reading uploaded workbooks without trusting them, and writing workbooks Excel cannot misread."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@")
# What a worksheet cannot hold: the control characters openpyxl refuses, and the two non-characters XML forbids.
UNWRITABLE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + "|[\ufffe\uffff]")


class WorkbookRejected(Exception):
    """The upload is not a workbook we will open; the message is shown to the user."""


@dataclass(frozen=True)
class CellError:
    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        place = [_("sheet “%s”") % self.sheet]
        if self.row:
            place.append(_("row %d") % self.row)
        if self.column:
            place.append(_("column “%s”") % self.column)
        return f"{', '.join(place)}: {self.message}"


@dataclass
class ImportResult:
    """What an all-or-nothing import did: its errors (then nothing was saved), or how many of each
    thing it saved ({"units": 3, "figures": 42})."""

    errors: list[CellError] = field(default_factory=list)
    saved: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, what: str, number: int = 1) -> None:
        self.saved[what] = self.saved.get(what, 0) + number


def open_workbook(upload) -> Workbook:
    """Open an uploaded .xlsx read-only after checking it is what it claims to be.

    Refused: anything over XLSX_MAX_UPLOAD_BYTES, files that are not an OOXML zip, workbooks with
    macros, and archives that would inflate past XLSX_MAX_UNZIPPED_BYTES or by a suspicious ratio
    (zip bombs). Formulas are left in place (not evaluated) so that callers can refuse them.
    """
    size = getattr(upload, "size", None)
    data = upload.read(settings.XLSX_MAX_UPLOAD_BYTES + 1)
    if (size or len(data)) > settings.XLSX_MAX_UPLOAD_BYTES:
        raise WorkbookRejected(_("The file is larger than %s.") % filesizeformat(settings.XLSX_MAX_UPLOAD_BYTES))
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(buffer) as archive:
            entries = archive.infolist()
            names = {info.filename for info in entries}
            content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:  # a damaged compressed part: zlib.error
        raise WorkbookRejected(_("The file is damaged and cannot be opened.")) from exc
    if "xl/workbook.xml" not in names or not content_types:
        raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx)."))
    if any(name.lower().endswith("vbaproject.bin") for name in names) or b"macroEnabled" in content_types:
        raise WorkbookRejected(_("Workbooks with macros are not accepted. Save it as a plain .xlsx workbook."))
    unzipped = sum(info.file_size for info in entries)
    compressed = sum(info.compress_size for info in entries) or 1
    if unzipped > settings.XLSX_MAX_UNZIPPED_BYTES or unzipped / compressed > 200:
        raise WorkbookRejected(_("The workbook expands to an abnormal size and was refused."))
    buffer.seek(0)
    try:
        return load_workbook(buffer, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise WorkbookRejected(_("The file is damaged and cannot be opened.")) from exc


def iter_rows(sheet: Worksheet):
    """The sheet's rows. A read-only sheet is parsed only as it is read, so a damaged sheet fails here."""
    rows = sheet.iter_rows()
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # as in open_workbook: openpyxl raises many kinds on malformed XML
            raise WorkbookRejected(_("The file is damaged and cannot be opened.")) from exc
        yield row


def is_formula(cell) -> bool:
    # A text cell that merely starts with "=" (as set_cell writes a note typed on the web) is text.
    return getattr(cell, "data_type", None) == "f"


def set_cell(sheet: Worksheet, row: int, column: int, value) -> Cell:
    """Write a value; text is always stored as text, so "=HYPERLINK(...)" can never become a formula.

    Control characters that a worksheet cannot hold (typed into a web form) are left out.
    """
    if isinstance(value, str):
        value = UNWRITABLE.sub("", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    return cell


HEADER_FONT = Font(name="Times New Roman", bold=True)
BODY_FONT = Font(name="Times New Roman")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_table(sheet: Worksheet, headers: list[str], rows, widths: list[int] | None = None) -> None:
    """A header row and data rows in the offices' look (Times New Roman, frozen header)."""
    for col, header in enumerate(headers, start=1):
        cell = set_cell(sheet, 1, col, header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            set_cell(sheet, r, col, value).font = BODY_FONT
    for col, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.freeze_panes = "A2"


def workbook_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
