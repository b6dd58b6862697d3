"""The catalogue as an Excel workbook: export, and import that saves everything or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from cchc_portal.numbers import NotANumber, parse_decimal, parse_whole
from cchc_portal.text import fold, nfc
from cchc_portal.xlsx import (
    CellError,
    CellInvalid,
    Column,
    ImportResult,
    Sheet,
    open_workbook,
    read_sheet,
    workbook_bytes,
    write_table,
)
from units.models import Level, User

from .models import Aggregation, Area, Direction, Measure, Programme, Target, Threshold
from .services import area_save, target_save, thresholds_replace

MAX_ROWS = 5000
YES, NO = "x", ""


def _text(value, *, required: bool = True) -> str:
    text = nfc(str(value).strip()) if value is not None else ""
    if required and not text:
        raise CellInvalid(_("This cell is required."))
    return text


def _optional_text(value) -> str:
    return _text(value, required=False)


def _required(parse: Callable, value, *, required: bool, message: str):
    try:
        number = parse(value)
    except NotANumber as exc:
        raise CellInvalid(message) from exc
    if number is None and required:
        raise CellInvalid(_("This cell is required."))
    return number


def _whole(value, *, required: bool = True) -> int | None:
    return _required(parse_whole, value, required=required, message=_("Enter a whole number."))


def _optional_whole(value) -> int | None:
    return _whole(value, required=False)


def _decimal(value) -> Decimal:
    number = _required(parse_decimal, value, required=True, message=_("Enter a number."))
    if abs(number) >= 10**10 or number != number.quantize(Decimal("0.01")):
        raise CellInvalid(_("Enter a number below 10 billion with at most 2 decimal places."))
    return number.quantize(Decimal("0.01"))


def _yes_no(value) -> bool:
    if value in (None, "", False, 0):
        return False
    if value is True or value == 1:
        return True
    folded = fold(str(value))
    if folded in {"x", "co", "yes", "1", "true"}:
        return True
    if folded in {"khong", "no", "0", "false", ""}:
        return False
    raise CellInvalid(_("Enter x (yes) or leave empty (no)."))


def _choice(choices, *, blank: bool = False) -> Callable:
    """Accept a choice's code or its label in Vietnamese or English, ignoring case and diacritics."""

    def parse(value) -> str:
        text = fold(str(value)) if value is not None else ""
        if not text:
            if blank:
                return ""
            raise CellInvalid(_("This cell is required."))
        for code, label in choices:
            names = {fold(code)}
            for language in ("vi", "en"):
                with translation.override(language):
                    names.add(fold(str(label)))
            if text in names:
                return code
        with translation.override(translation.get_language()):
            allowed = ", ".join(str(label) for _code, label in choices)
        raise CellInvalid(_("Unknown value; choose one of: %s.") % allowed)

    return parse


AREA_SHEET = Sheet(
    "areas",
    gettext_lazy("Areas"),
    [
        Column("code", gettext_lazy("Code"), _text, 10),
        Column("name", gettext_lazy("Reform area"), _text, 60),
        Column("order", gettext_lazy("Order"), _whole, 8),
    ],
)
TARGET_SHEET = Sheet(
    "targets",
    gettext_lazy("Targets"),
    [
        Column("code", gettext_lazy("Code"), _text, 10),
        Column("title", gettext_lazy("Target"), _text, 60),
        Column("description", gettext_lazy("Description"), _optional_text, 40),
        Column("area", gettext_lazy("Area code"), _text, 10),
        Column("programme", gettext_lazy("Programme code"), _text, 12),
        Column("measure", gettext_lazy("Measure"), _choice(Measure.choices), 18),
        Column("direction", gettext_lazy("Direction"), _choice(Direction.choices), 16),
        Column("aggregation", gettext_lazy("Yearly aggregation"), _choice(Aggregation.choices), 20),
        Column("numerator_label", gettext_lazy("Numerator"), _optional_text, 30),
        Column("denominator_label", gettext_lazy("Denominator"), _optional_text, 30),
        Column("baseline_label", gettext_lazy("Baseline"), _optional_text, 14),
        Column("unit_label", gettext_lazy("Unit of measure"), _optional_text, 10),
        Column("for_province", gettext_lazy("Province"), _yes_no, 8),
        Column("for_department", gettext_lazy("Departments"), _yes_no, 8),
        Column("for_district", gettext_lazy("Districts"), _yes_no, 8),
        Column("for_commune", gettext_lazy("Communes"), _yes_no, 8),
        Column("weight", gettext_lazy("Weight"), _decimal, 8),
        Column("legal_source", gettext_lazy("Legal source"), _text, 30),
        Column("first_year", gettext_lazy("From year"), _whole, 8),
        Column("last_year", gettext_lazy("Until year"), _optional_whole, 8),
        Column("continues", gettext_lazy("Continues (target code)"), _optional_text, 14),
        Column("order", gettext_lazy("Order"), _whole, 8),
    ],
)
THRESHOLD_SHEET = Sheet(
    "thresholds",
    gettext_lazy("Thresholds"),
    [
        Column("target", gettext_lazy("Target code"), _text, 12),
        Column("level", gettext_lazy("Level (empty: every level)"), _choice(Level.choices, blank=True), 24),
        Column("from_year", gettext_lazy("From year"), _whole, 10),
        Column("value", gettext_lazy("Threshold"), _decimal, 10),
    ],
)
SHEETS = [AREA_SHEET, TARGET_SHEET, THRESHOLD_SHEET]


def _labels(choices) -> dict[str, str]:
    return {code: str(label) for code, label in choices}


def catalogue_export() -> bytes:
    """The whole catalogue in the layout `catalogue_import` reads back."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    measures, directions = _labels(Measure.choices), _labels(Direction.choices)
    aggregations, levels = _labels(Aggregation.choices), _labels(Level.choices)
    areas = [(a.code, a.name, a.order) for a in Area.objects.all()]
    targets = [
        [
            t.code,
            t.title,
            t.description,
            t.area.code,
            t.programme.code,
            measures[t.measure],
            directions[t.direction],
            aggregations[t.aggregation],
            t.numerator_label,
            t.denominator_label,
            t.baseline_label,
            t.unit_label,
            *(YES if getattr(t, f) else NO for f in ("for_province", "for_department", "for_district", "for_commune")),
            t.weight,
            t.legal_source,
            t.first_year,
            t.last_year,
            t.continues.code if t.continues else "",
            t.order,
        ]  # fmt: skip
        for t in Target.objects.select_related("area", "programme", "continues").order_by(
            "programme__first_year", "area__order", "order", "code"
        )
    ]
    thresholds = [
        (t.target.code, levels.get(t.level, ""), t.from_year, t.value)
        for t in Threshold.objects.current().select_related("target").order_by("target__code", "level", "from_year")
    ]
    for sheet, rows in zip(SHEETS, [areas, targets, thresholds], strict=True):
        ws = workbook.create_sheet(str(sheet.title))
        write_table(ws, [str(c.label) for c in sheet.columns], rows, [c.width for c in sheet.columns])
        _add_dropdowns(ws, sheet, len(rows))
    return workbook_bytes(workbook)


def _add_dropdowns(ws, sheet: Sheet, rows: int) -> None:
    lists = {
        "measure": Measure.choices,
        "direction": Direction.choices,
        "aggregation": Aggregation.choices,
        "level": Level.choices,
    }
    for index, column in enumerate(sheet.columns):
        if column.key in lists:
            options = ",".join(str(label).replace(",", " ") for _c, label in lists[column.key])
            validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=column.key == "level")
            letter = ws.cell(row=1, column=index + 1).column_letter
            validation.add(f"{letter}2:{letter}{max(rows + 200, 200)}")
            ws.add_data_validation(validation)


def _column_label(sheet: Sheet, key: str) -> str | None:
    return next((str(c.label) for c in sheet.columns if c.key == key), None)


def _duplicates(rows, key, sheet: Sheet, errors, what: str) -> None:
    seen: dict = {}
    for number, values in rows:
        value = key(values)
        if value is None:
            continue
        if value in seen:
            errors.append(
                CellError(
                    str(sheet.title),
                    number,
                    None,
                    _("Duplicate %(what)s; first on row %(row)d.") % {"what": what, "row": seen[value]},
                )
            )
        else:
            seen[value] = number


def catalogue_import(*, upload, by: User, reason: str) -> ImportResult:
    """Read a catalogue workbook; save all of it, or nothing when any row is wrong.

    Areas and targets are matched by code and updated; a target's thresholds in force become
    exactly those in the file (superseded rows are kept for the periods they judged). Targets
    absent from the file are left as they are: the catalogue never loses a target. Programmes are
    not in the workbook: each target names an existing one by code, and a closed programme's
    targets and thresholds must come back unchanged.
    """
    result = ImportResult()
    workbook = open_workbook(upload)
    try:
        area_rows = read_sheet(workbook, AREA_SHEET, result.errors, max_rows=MAX_ROWS)
        target_rows = read_sheet(workbook, TARGET_SHEET, result.errors, max_rows=MAX_ROWS)
        threshold_rows = read_sheet(workbook, THRESHOLD_SHEET, result.errors, max_rows=MAX_ROWS)
    finally:
        workbook.close()
    errors = result.errors
    if area_rows is None or target_rows is None or threshold_rows is None:
        return result
    _duplicates(area_rows, lambda v: v.get("code"), AREA_SHEET, errors, _("area code"))
    _duplicates(target_rows, lambda v: v.get("code"), TARGET_SHEET, errors, _("target code"))
    _duplicates(
        threshold_rows,
        lambda v: (v.get("target"), v.get("level"), v.get("from_year")) if "target" in v else None,
        THRESHOLD_SHEET,
        errors,
        _("threshold (target, level, year)"),
    )

    areas = {a.code: a for a in Area.objects.all()}
    new_areas = []
    for number, values in area_rows:
        if {"code", "name", "order"} <= values.keys():
            area = areas.get(values["code"]) or Area(code=values["code"])
            area.name, area.order = values["name"], values["order"]
            _validate(area, AREA_SHEET, number, errors)
            areas[area.code] = area
            new_areas.append(area)

    existing = {t.code: t for t in Target.objects.select_related("programme", "continues")}
    programmes = {p.code: p for p in Programme.objects.all()}
    targets: dict[str, Target] = {}
    rows_of: dict[str, int] = {}
    continued: dict[str, str] = {}  # target code -> code of the target it continues
    for number, values in target_rows:
        if len(values) != len(TARGET_SHEET.columns):
            continue
        area, programme = areas.get(values["area"]), programmes.get(values["programme"])
        if area is None:
            errors.append(
                CellError(str(TARGET_SHEET.title), number, _column_label(TARGET_SHEET, "area"), _("Unknown area code."))
            )
        if programme is None:
            column = _column_label(TARGET_SHEET, "programme")
            errors.append(CellError(str(TARGET_SHEET.title), number, column, _("Unknown programme code.")))
        if area is None or programme is None:
            continue
        target = existing.get(values["code"]) or Target()
        for key, value in values.items():
            if key not in ("area", "programme", "continues"):
                setattr(target, key, value)
        target.area, target.programme = area, programme
        if values["continues"]:
            continued[target.code] = values["continues"]
        else:
            target.continues = None
        targets[target.code] = target
        rows_of[target.code] = number
    column = _column_label(TARGET_SHEET, "continues")
    for code, of in continued.items():
        target = targets[code]
        target.continues = targets.get(of) or existing.get(of)
        if target.continues is None:
            errors.append(CellError(str(TARGET_SHEET.title), rows_of[code], column, _("Unknown target code.")))
    _duplicates(
        [(rows_of[code], of) for code, of in continued.items()],
        lambda of: of,
        TARGET_SHEET,
        errors,
        _("target continued (a target is continued once)"),
    )
    flawed: set[str] = set()  # codes with an error already: a closed programme's is not added
    for code, target in targets.items():
        # A target continued by another one also new in the file has no id yet: its uniqueness
        # is checked above, the rest of the rule by the model.
        new_continued = target.continues is not None and target.continues.pk is None
        exclude = ["area", "programme", "continues"] if new_continued else ["area", "programme"]
        found = len(errors)
        _validate(target, TARGET_SHEET, rows_of[code], errors, exclude=exclude)
        if len(errors) > found:
            flawed.add(code)

    wanted: dict[str, dict[tuple[str, int], Decimal]] = {code: {} for code in targets}
    for number, values in threshold_rows:
        if len(values) != len(THRESHOLD_SHEET.columns):
            flawed.add(values.get("target"))
            continue
        code = values["target"]
        if code not in targets:
            message = _("Target code not in the Targets sheet.")
            errors.append(
                CellError(str(THRESHOLD_SHEET.title), number, _column_label(THRESHOLD_SHEET, "target"), message)
            )
            continue
        candidate = Threshold(level=values["level"], from_year=values["from_year"], value=values["value"])
        _validate(candidate, THRESHOLD_SHEET, number, errors, exclude=["target", "recorded_at"])
        wanted[code][(values["level"], values["from_year"])] = values["value"]
    for number, values in target_rows:
        code = values.get("code")
        if code in wanted and not wanted[code]:
            errors.append(
                CellError(
                    str(TARGET_SHEET.title), number, None, _("The target has no threshold in the Thresholds sheet.")
                )
            )

    _refuse_closed_changes({c: t for c, t in targets.items() if c not in flawed}, existing, wanted, rows_of, errors)
    if errors:
        return result
    at = timezone.now()
    with transaction.atomic():
        for area in new_areas:
            if _differs(area):
                area_save(area=area, by=by, reason=reason, at=at)
                result.count("areas")
        # Earlier programmes first, so that a target continued is saved before the one continuing it.
        for target in sorted(targets.values(), key=lambda t: (t.programme.first_year, rows_of[t.code])):
            target.area = areas[target.area.code]
            if target.continues is not None:
                target.continues = target.continues  # its id, now that it is saved
            if _differs(target):
                target_save(target=target, by=by, reason=reason, at=at)
                result.count("targets")
            changed = thresholds_replace(target=target, wanted=wanted[target.code], by=by, reason=reason, at=at)
            result.count("thresholds", changed)
    return result


def _refuse_closed_changes(targets, existing, wanted, rows_of, errors: list[CellError]) -> None:
    """A target of a closed programme (or moved into one) must come back as it is, thresholds
    included; each one that does not is named on its row."""
    current: dict[int, dict[tuple[str, int], Decimal]] = {}
    for row in Threshold.objects.current().filter(target__programme__closed=True):
        current.setdefault(row.target_id, {})[(row.level, row.from_year)] = row.value
    for code, target in targets.items():
        stored = existing.get(code)
        closed = next((p for p in (stored.programme if stored else None, target.programme) if p and p.closed), None)
        if closed is None:
            continue
        if _differs(target) or current.get(target.pk, {}) != wanted[code]:
            message = _(
                "The programme %(programme)s is closed: its targets can no longer be changed or given thresholds."
            ) % {"programme": closed.code}
            errors.append(CellError(str(TARGET_SHEET.title), rows_of[code], None, message))


def _differs(instance) -> bool:
    """New, or different from what is stored."""
    if instance.pk is None:
        return True
    return model_to_dict(type(instance).objects.get(pk=instance.pk)) != model_to_dict(instance)


def _validate(instance, sheet: Sheet, number: int, errors: list[CellError], exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            column = _column_label(sheet, key)
            for message in messages:
                errors.append(CellError(str(sheet.title), number, column, message))


def catalogue_filename(today: dt.date | None = None) -> str:
    return f"danh-muc-chi-tieu-{(today or timezone.localdate()):%Y%m%d}.xlsx"
