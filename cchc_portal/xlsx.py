"""Reading uploaded workbooks without trusting them, and writing workbooks Excel cannot misread."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from xml.etree import ElementTree

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from .text import fold

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@")
# What a worksheet cannot hold: the control characters openpyxl refuses, and the two non-characters XML forbids.
UNWRITABLE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + "|[\ufffe\uffff]")


@dataclass(frozen=True)
class Column:
    """A column of an import sheet: its key, its heading, how a cell is read, its width, and for
    the template's instructions what it holds and whether it is required."""

    key: str
    label: str
    parse: Callable
    width: int = 14
    help: str = ""
    required: bool = True


@dataclass(frozen=True)
class Sheet:
    key: str
    title: str
    columns: list[Column]

    def titles(self) -> set[str]:
        return label_variants(self.title)


def label_variants(label) -> set[str]:
    """A heading as it may come back: in Vietnamese or in English (the language of whoever made the
    file), folded so that case and diacritics do not matter."""
    names = set()
    for language in ("vi", "en"):
        with translation.override(language):
            names.add(fold(str(label)))
    return names


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


# Relationships that make Office fetch or run something from elsewhere when the file is opened
# (Follina, remote templates), whatever the macro settings.
ACTIVE_RELATIONSHIPS = {"oleobject", "attachedtemplate", "subdocument", "frame"}


def office_zip_problem(
    file, *, main_part: str, max_unzipped: int
) -> Literal["not-office", "damaged", "macros", "too-large"] | None:
    """What makes an Office Open XML upload (.xlsx, .docx) unfit to open or keep, or None.

    "not-office": not a zip, or without [Content_Types].xml or `main_part`; "damaged": a broken or
    ambiguous archive; "too-large": it would inflate past `max_unzipped` bytes or by a suspicious
    ratio (a zip bomb), judged from the directory before anything is inflated; "macros": a VBA
    project, a macro-enabled part, ActiveX controls, or a part that Office would fetch from
    elsewhere when opening (an external OLE object or template). `file` is left at its start.
    """
    try:
        file.seek(0)
        if not zipfile.is_zipfile(file):
            return "not-office"
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            names = {info.filename for info in entries}
            if len(names) != len(entries):  # two parts of one name: readers disagree on which counts
                return "damaged"
            if main_part not in names or "[Content_Types].xml" not in names:
                return "not-office"
            unzipped = sum(info.file_size for info in entries)
            compressed = sum(info.compress_size for info in entries) or 1
            if unzipped > max_unzipped or unzipped / compressed > 200:
                return "too-large"
            lowered = {name.lower() for name in names}
            content_types = archive.read("[Content_Types].xml").lower()
            if not content_types.strip():
                return "not-office"
            if (
                any(name.endswith(("vbaproject.bin", "vbadata.xml")) or "/activex/" in name for name in lowered)
                or any(word in content_types for word in (b"macroenabled", b"vbaproject", b"activex"))
                or any(_fetches_elsewhere(archive.read(name)) for name in names if name.lower().endswith(".rels"))
            ):
                return "macros"
    # zlib.error: a damaged compressed part; RuntimeError: an encrypted part; NotImplementedError: an
    # unknown compression method; ValueError: an unreadable relationships part.
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError, ValueError):
        return "damaged"
    finally:
        file.seek(0)
    return None


def _fetches_elsewhere(rels: bytes) -> bool:
    if b"<!doctype" in rels.lower() or b"<!entity" in rels.lower():  # Office never writes these
        raise ValueError("a DTD in a relationships part")
    try:
        root = ElementTree.fromstring(rels)  # noqa: S314 (no DTD, so no entity expansion; parts are size-checked)
    except ElementTree.ParseError as exc:
        raise ValueError("unreadable relationships part") from exc
    return any(
        rel.get("TargetMode", "").lower() == "external"
        and rel.get("Type", "").rsplit("/", 1)[-1].lower() in ACTIVE_RELATIONSHIPS
        for rel in root.iter()
        if rel.tag.rsplit("}", 1)[-1] == "Relationship"
    )


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
    problem = office_zip_problem(buffer, main_part="xl/workbook.xml", max_unzipped=settings.XLSX_MAX_UNZIPPED_BYTES)
    if problem == "not-office":
        raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx)."))
    if problem == "damaged":
        raise WorkbookRejected(_("The file is damaged and cannot be opened."))
    if problem == "macros":
        raise WorkbookRejected(_("Workbooks with macros are not accepted. Save it as a plain .xlsx workbook."))
    if problem == "too-large":
        raise WorkbookRejected(_("The workbook expands to an abnormal size and was refused."))
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


class CellInvalid(ValueError):
    """A cell's value cannot be read as its column says; the message says why, in Vietnamese."""


def read_sheet(workbook, sheet: Sheet, errors: list, *, max_rows: int) -> list[tuple[int, dict]] | None:
    """Rows of one import sheet as (row number, {column key: parsed value}); each problem goes to
    `errors` naming the sheet, row and column. Rows that are blank (or only spaces) are skipped.

    None when the sheet is missing or its headings are not the template's (in Vietnamese or
    English, in order): its rows cannot be read.
    """
    title = str(sheet.title)
    found = [ws for ws in workbook.worksheets if fold(ws.title) in sheet.titles()]
    if not found:
        errors.append(CellError(title, None, None, _("The sheet is missing.")))
        return None
    rows = iter_rows(found[0])
    header = [c for c in next(rows, ()) if c.value not in (None, "")]
    names = [fold(str(c.value)) for c in header]
    wanted = [label_variants(c.label) for c in sheet.columns]
    if len(names) != len(wanted) or any(n not in w for n, w in zip(names, wanted, strict=False)):
        expected = [str(c.label) for c in sheet.columns]
        missing = [e for e, w in zip(expected, wanted, strict=True) if not w & set(names)]
        extra = [str(c.value) for c, n in zip(header, names, strict=True) if not any(n in w for w in wanted)]
        if missing:
            errors.append(CellError(title, 1, None, _("Missing columns: %s.") % ", ".join(missing)))
        if extra:
            errors.append(CellError(title, 1, None, _("Unexpected columns: %s.") % ", ".join(extra)))
        if not missing and not extra:
            errors.append(CellError(title, 1, None, _("Columns must be in this order: %s.") % ", ".join(expected)))
        return None
    parsed = []
    for number, cells in enumerate(rows, start=2):
        if number > max_rows + 1:
            errors.append(CellError(title, number, None, _("Too many rows (at most %d).") % max_rows))
            break
        cells = list(cells)[: len(sheet.columns)]
        cells += [None] * (len(sheet.columns) - len(cells))
        if all(c is None or c.value in (None, "") or str(c.value).strip() == "" for c in cells):
            continue
        values = {}
        for column, cell in zip(sheet.columns, cells, strict=True):
            if cell is not None and is_formula(cell):
                errors.append(
                    CellError(title, number, str(column.label), _("Formulas are not accepted; type the value."))
                )
                continue
            try:
                values[column.key] = column.parse(cell.value if cell is not None else None)
            except CellInvalid as exc:
                errors.append(CellError(title, number, str(column.label), str(exc)))
        parsed.append((number, values))
    return parsed


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


FONT_NAME = "Times New Roman"
HEADER_FONT = Font(name=FONT_NAME, bold=True)
BODY_FONT = Font(name=FONT_NAME)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
# Excel shows these with the reader's separators: 1.234,5 on a Vietnamese machine.
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0"
MIN_WIDTH, MAX_WIDTH = 6, 60


def number_format_for(value) -> str | None:
    """The display format of a number written to a report: integers grouped, other numbers with
    one decimal. Not for text, dates or yes/no."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return INTEGER_FORMAT
    return DECIMAL_FORMAT


def print_setup(sheet: Worksheet, *, header_row: int) -> None:
    """A4 landscape, every column on the page width, the header row repeated on each page and
    frozen on screen, page numbers in the footer."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.5, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "&P/&N"
    sheet.oddFooter.center.font = FONT_NAME
    sheet.freeze_panes = f"A{header_row + 1}"


def _display_length(value) -> int:
    if value is None:
        return 0
    if isinstance(value, float | Decimal):
        return len(f"{value:,.1f}")
    if isinstance(value, int) and not isinstance(value, bool):
        return len(f"{value:,}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def column_widths(headers: list[str], rows: list[list]) -> list[int]:
    """Widths that fit each column's longest value (a header may wrap at its longest word),
    within MIN_WIDTH and MAX_WIDTH; longer text wraps."""
    widths = []
    for index, header in enumerate(headers):
        longest_word = max((len(word) for word in str(header).split()), default=0)
        longest_value = max((_display_length(row[index]) for row in rows if index < len(row)), default=0)
        widths.append(min(MAX_WIDTH, max(MIN_WIDTH, longest_word + 2, longest_value + 2)))
    return widths


def report_sheet(
    sheet: Worksheet,
    *,
    title_lines: list[str],
    headers: list[str],
    rows,
    widths: list[int] | None = None,
    number_formats: dict[int, str] | None = None,
) -> int:
    """A table that prints: title lines, a header row, data rows, in the offices' look.

    The first two title lines (the issuer, the table's title) are bold, the others (the date of
    export...) italic, each centred across the table. `number_formats` maps a column number
    (1 = A) to an Excel format for that column; other numbers get `number_format_for`. Returns
    the header row's number.
    """
    rows = [list(row) for row in rows]
    span = max(1, len(headers))
    for number, line in enumerate(title_lines, start=1):
        if span > 1:
            sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=span)
        cell = set_cell(sheet, number, 1, line)
        cell.font = Font(name=FONT_NAME, bold=number <= 2, italic=number > 2, size=13 if number == 2 else 12)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    header_row = len(title_lines) + 2 if title_lines else 1
    for col, header in enumerate(headers, start=1):
        cell = set_cell(sheet, header_row, col, header)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = widths or column_widths(headers, rows)
    formats = number_formats or {}
    for r, row in enumerate(rows, start=header_row + 1):
        for col, value in enumerate(row, start=1):
            cell = set_cell(sheet, r, col, value)
            cell.font, cell.border = BODY_FONT, BOX
            number_format = formats.get(col) or number_format_for(value)
            if number_format:
                cell.number_format = number_format
            elif isinstance(value, str) and col <= len(widths) and len(value) > widths[col - 1]:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    print_setup(sheet, header_row=header_row)
    return header_row


def write_table(sheet: Worksheet, headers: list[str], rows, widths: list[int] | None = None) -> None:
    """A header row in row 1 and data rows under it, ready to print: a `report_sheet` without a
    title, so that a workbook read back (a filled template) finds its header in row 1."""
    report_sheet(sheet, title_lines=[], headers=headers, rows=rows, widths=widths)


def workbook_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
