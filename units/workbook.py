"""The units-and-people workbook: its sheets and columns, the template, and reading its rows.

Sheets: an instructions sheet, "Units" (one row per unit) and "People" (one row per role: a person
holding two roles has two rows), and a hidden sheet with the lists the drop-downs offer. Sheet
and column names are read in Vietnamese or English, choices by label or code, ignoring case and
diacritics; dates as dd/mm/yyyy or Excel dates. `units.onboarding` checks the rows together and
saves them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from cchc_portal import xlsx
from cchc_portal.converters import CodeValidator
from cchc_portal.text import INVISIBLE, fold, nfc
from cchc_portal.xlsx import (
    FONT_NAME,
    UNWRITABLE,
    CellError,
    CellInvalid,
    Column,
    Sheet,
    set_cell,
    workbook_bytes,
    write_table,
)

from .models import Kind, Role, RoleAssignment, Unit

MAX_ROWS = 20_000
DATE_FORMAT = "DD/MM/YYYY"
TEXT_FORMAT = "@"
DATE_RE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


# --- Reading one cell ---


def _text(value, *, required: bool = True, max_length: int = 255) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code or a phone number typed into a number cell
    text = nfc(str(value).strip()) if value is not None else ""
    if required and not text:
        raise CellInvalid(_("This cell is required."))
    if UNWRITABLE.search(text) or INVISIBLE.search(text):
        raise CellInvalid(
            _(
                "The text contains an invisible character that changes how it reads (a direction mark or a "
                "zero-width space, often pasted from another program); type it again without it."
            )
        )
    if len(text) > max_length:
        raise CellInvalid(_("At most %d characters.") % max_length)
    return " ".join(text.split())


def _optional_text(value) -> str:
    return _text(value, required=False)


def _code(value, *, required: bool = True) -> str:
    text = _text(value, required=required)
    if text:
        try:
            CodeValidator()(text)
        except ValidationError as exc:
            raise CellInvalid(" ".join(str(m) for m in exc.messages)) from exc
    return text


def _optional_code(value) -> str:
    return _code(value, required=False)


def _date(value, *, required: bool = True) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CellInvalid(_("This cell is required."))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return from_excel(value).date()  # a date cell Excel stored without its date format
    match = DATE_RE.fullmatch(str(value).strip())
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            pass
    raise CellInvalid(_("Enter a date as dd/mm/yyyy, e.g. 01/07/2025."))


def _optional_date(value) -> dt.date | None:
    return _date(value, required=False)


def _yes_no(value) -> bool:
    if value in (None, "", False, 0):
        return False
    if value is True or value == 1:
        return True
    folded = fold(str(value))
    if folded in {fold(str(_("Yes"))), "co", "x", "yes", "1", "true"}:
        return True
    if folded in {fold(str(_("No"))), "khong", "no", "0", "false"}:
        return False
    raise CellInvalid(_("Enter %(yes)s or %(no)s (empty means %(no)s).") % {"yes": _("Yes"), "no": _("No")})


def _choice(choices) -> Callable:
    """A choice's label in Vietnamese or English, or its code, ignoring case and diacritics."""

    names: dict[str, str] = {}  # folded name -> code, built on first use (the catalogues are loaded by then)

    def parse(value) -> str:
        text = fold(str(value)) if value is not None else ""
        if not text:
            raise CellInvalid(_("This cell is required."))
        if not names:
            for code, label in choices:
                names[fold(code)] = code
                for language in ("vi", "en"):
                    with translation.override(language):
                        names[fold(str(label))] = code
        if text in names:
            return names[text]
        allowed = ", ".join(str(label) for _code, label in choices)
        raise CellInvalid(_("Unknown value; choose one of: %s.") % allowed)

    return parse


def _email(value) -> str:
    text = _text(value, max_length=150).lower()
    try:
        validate_email(text)
    except ValidationError as exc:
        raise CellInvalid(_("Enter an e-mail address such as ten.nguoi@nghean.gov.vn.")) from exc
    return text


def _phone(value) -> str:
    text = _text(value, required=False, max_length=30)
    if text and not re.fullmatch(r"[0-9+().\s-]+", text):
        raise CellInvalid(_("Enter a phone number: digits, spaces, +, -, . and brackets."))
    return text


def _person_name(value) -> str:
    return _text(value, max_length=150)


# --- The workbook's layout ---


GUIDE_TITLE = pgettext_lazy("workbook sheet", "Instructions")
LISTS_TITLE = pgettext_lazy("workbook sheet", "Lists")
UNIT_SHEET = Sheet(
    "units",
    pgettext_lazy("workbook sheet", "Units"),
    [
        Column(
            "code",
            pgettext_lazy("unit workbook", "Code"),
            _code,
            12,
            gettext_lazy(
                "The unit's code, which never changes: the GSO code of a commune, or a short code such as "
                "40-SNV. Letters without diacritics, digits, . - _; at most 20 characters."
            ),
        ),
        Column("name", pgettext_lazy("unit workbook", "Name"), _text, 40, gettext_lazy("The unit's full name.")),
        Column(
            "kind",
            pgettext_lazy("unit workbook", "Kind"),
            _choice(Kind.choices),
            24,
            gettext_lazy("Chosen from the list: province, department, agency, commune, ward, special zone..."),
        ),
        Column(
            "parent",
            pgettext_lazy("unit workbook", "Parent unit code"),
            _optional_code,
            16,
            gettext_lazy(
                "The code of the unit above: the province's code for a department or a commune-level unit; "
                "empty for the province. It may be a unit further down this sheet or one already in the portal."
            ),
            required=False,
        ),
        Column(
            "valid_from",
            pgettext_lazy("unit workbook", "Valid from"),
            _date,
            13,
            gettext_lazy("The first day the unit exists, as dd/mm/yyyy (e.g. 01/07/2025)."),
        ),
        Column(
            "valid_to",
            pgettext_lazy("unit workbook", "Valid to"),
            _optional_date,
            13,
            gettext_lazy(
                "Empty while the unit exists. To close a unit (merged, dissolved), enter its last day: units are "
                "never deleted."
            ),
            required=False,
        ),
        Column(
            "is_pilot",
            pgettext_lazy("unit workbook", "Pilot unit"),
            _yes_no,
            12,
            gettext_lazy("Yes if the Steering Committee chose it as a pilot unit; empty means No."),
            required=False,
        ),
    ],
)
PEOPLE_SHEET = Sheet(
    "people",
    pgettext_lazy("workbook sheet", "People"),
    [
        Column("full_name", pgettext_lazy("unit workbook", "Full name"), _person_name, 28, gettext_lazy("Full name.")),
        Column(
            "email",
            pgettext_lazy("unit workbook", "Email"),
            _email,
            32,
            gettext_lazy(
                "The person's work e-mail address: it is their user name, and the invitation to set a password "
                "goes there. A person with several roles has one row per role, with the same address."
            ),
        ),
        Column(
            "phone",
            pgettext_lazy("unit workbook", "Phone"),
            _phone,
            15,
            gettext_lazy("Optional. An empty cell leaves the phone number already in the portal as it is."),
            required=False,
        ),
        Column(
            "position",
            pgettext_lazy("unit workbook", "Position"),
            _optional_text,
            28,
            gettext_lazy("Optional, e.g. Chuyên viên Văn phòng UBND xã. An empty cell leaves it as it is."),
            required=False,
        ),
        Column(
            "unit",
            pgettext_lazy("unit workbook", "Unit code"),
            _code,
            12,
            gettext_lazy("The code of the unit the role is held on, from the Units sheet or already in the portal."),
        ),
        Column(
            "role",
            pgettext_lazy("unit workbook", "Role"),
            _choice(Role.choices),
            30,
            gettext_lazy(
                "Chosen from the list: reporter (fills the unit's reports), unit head (reads its results), "
                "steering committee member (responsible for the unit), or secretariat (on the province)."
            ),
        ),
    ],
)
SHEETS = [UNIT_SHEET, PEOPLE_SHEET]


def _column(sheet: Sheet, key: str) -> str:
    return next(str(c.label) for c in sheet.columns if c.key == key)


def cell_error(errors: list[CellError], sheet: Sheet, row: int | None, key: str | None, message: str) -> None:
    errors.append(CellError(str(sheet.title), row, _column(sheet, key) if key else None, message))


# --- The template ---


def _yes_no_text(value: bool) -> str:
    return str(_("Yes")) if value else ""


def province_template(*, filled: bool = False, today: dt.date | None = None) -> bytes:
    """The workbook `province_import` reads: empty, or holding the units in force and their people
    (so that a second round edits the same file)."""
    today = today or timezone.localdate()
    kinds, roles = dict(Kind.choices), dict(Role.choices)
    unit_rows, people_rows, unlisted = [], [], 0
    if filled:
        units = list(Unit.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today)).select_related("parent"))
        for unit in units:
            unit_rows.append(
                [
                    unit.code,
                    unit.name,
                    str(kinds[unit.kind]),
                    unit.parent.code if unit.parent_id else "",
                    unit.valid_from,
                    unit.valid_to,
                    _yes_no_text(unit.is_pilot),
                ]
            )
        assignments = (
            RoleAssignment.objects.filter(unit__in=units)
            .select_related("user", "unit")
            .order_by("unit__path", "role", "user__full_name", "user__email")
        )
        for assignment in assignments:
            user = assignment.user
            if not user.email:
                unlisted += 1
                continue
            people_rows.append(
                [
                    user.full_name,
                    user.email.lower(),
                    user.phone,
                    user.position,
                    assignment.unit.code,
                    str(roles[assignment.role]),
                ]
            )
    workbook = Workbook()
    guide = workbook.active
    guide.title = str(GUIDE_TITLE)
    _write_guide(guide, unlisted)
    lists_title = str(LISTS_TITLE)
    option_lists = {
        "kind": [str(label) for _code, label in Kind.choices],
        "role": [str(label) for _code, label in Role.choices],
        "is_pilot": [str(_("Yes")), str(_("No"))],
    }
    for sheet, rows in ((UNIT_SHEET, unit_rows), (PEOPLE_SHEET, people_rows)):
        ws = workbook.create_sheet(str(sheet.title))
        write_table(ws, [str(c.label) for c in sheet.columns], rows, [c.width for c in sheet.columns])
        last_row = max(len(rows) + 500, 1000)
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            number_format = {"valid_from": DATE_FORMAT, "valid_to": DATE_FORMAT, "phone": TEXT_FORMAT}.get(column.key)
            if number_format:
                ws.column_dimensions[letter].number_format = number_format
                for row in range(2, len(rows) + 2):
                    ws.cell(row=row, column=index).number_format = number_format
            if column.key in option_lists:
                list_column = get_column_letter(list(option_lists).index(column.key) + 1)
                size = len(option_lists[column.key])
                validation = DataValidation(
                    type="list",
                    formula1=f"'{lists_title}'!${list_column}$1:${list_column}${size}",
                    allow_blank=not column.required,
                    showErrorMessage=True,
                )
                validation.add(f"{letter}2:{letter}{last_row}")
                ws.add_data_validation(validation)
    lists = workbook.create_sheet(lists_title)
    for index, options in enumerate(option_lists.values(), start=1):
        for row, option in enumerate(options, start=1):
            set_cell(lists, row, index, option)
    lists.sheet_state = "hidden"
    return workbook_bytes(workbook)


def _write_guide(ws, unlisted: int) -> None:
    lines = [
        (_("Units and people of the province"), True),
        (
            _(
                "Fill the sheets Units and People, then upload the file on the portal's page “Units and accounts” "
                "(or: manage.py import_province). The file is saved whole or not at all: if any row is wrong, "
                "nothing is saved and every error names its sheet, row and column."
            ),
            False,
        ),
        (
            _(
                "A unit is found by its code and a person by their e-mail address: a unit or a person already in "
                "the portal is updated, a new one is created. Nothing is deleted: a unit or a role left out of the "
                "file stays as it is. Importing the same file again changes nothing."
            ),
            False,
        ),
        (
            _(
                "New accounts have no password: each person receives an e-mail inviting them to set their own. "
                "Nobody types or passes on a password for someone else."
            ),
            False,
        ),
    ]
    if unlisted:
        lines.append(
            (
                _(
                    "%d roles of accounts without an e-mail address are not listed; give those accounts an "
                    "address in the administration pages."
                )
                % unlisted,
                False,
            )
        )
    row = 1
    for text, bold in lines:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
        cell = set_cell(ws, row, 1, text)
        cell.font = Font(name=FONT_NAME, bold=bold, size=13 if bold else 11)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 18 if bold else 48
        row += 1
    row += 1
    headers = [_("Sheet"), _("Column"), _("What to enter"), _("Required")]
    for index, header in enumerate(headers, start=1):
        set_cell(ws, row, index, header).font = Font(name=FONT_NAME, bold=True)
    for sheet in SHEETS:
        for column in sheet.columns:
            row += 1
            values = [str(sheet.title), str(column.label), str(column.help), _yes_no_text(column.required)]
            for index, value in enumerate(values, start=1):
                cell = set_cell(ws, row, index, value)
                cell.font = Font(name=FONT_NAME)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (14, 24, 80, 10), strict=True):
        ws.column_dimensions[letter].width = width


def template_filename(today: dt.date | None = None) -> str:
    return f"don-vi-va-nguoi-dung-{(today or timezone.localdate()):%Y%m%d}.xlsx"


# --- Reading the workbook ---


def read_sheet(workbook, sheet: Sheet, errors: list[CellError]) -> list[tuple[int, dict]] | None:
    """Rows of one sheet of the units and people workbook (`cchc_portal.xlsx.read_sheet`)."""
    return xlsx.read_sheet(workbook, sheet, errors, max_rows=MAX_ROWS)
