"""Quarterly figures through Excel: a pre-filled template per unit (or many), and its import.

One row per (unit, target), so that a reporter's workbook and a district's workbook for all its
communes share one layout. The import saves every unit's figures or none, in a number of queries
that does not grow with the units (a province's quarter is some 600 units and 8.300 rows).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from cchc_portal.numbers import NotANumber, parse_decimal, parse_whole
from cchc_portal.text import fold, nfc
from cchc_portal.xlsx import CellError, ImportResult, is_formula, iter_rows, open_workbook, workbook_bytes, write_table
from targets.models import Measure
from targets.selectors import ThresholdResolver
from units.models import Unit, User
from units.templatetags.portal import figure_text, num

from .access import fills_for, reviews
from .models import EventAction, Figure, Period
from .selectors import applicable_targets, previous_period
from .services import FigureInput, ImportErrors, ReportError, submissions_save_figures, validate_figure

SHEET = gettext_lazy("Figures")
COLUMNS = [
    ("period", gettext_lazy("Period"), 10),
    ("unit", gettext_lazy("Unit code"), 10),
    ("unit_name", gettext_lazy("Unit"), 28),
    ("target", gettext_lazy("Target code"), 10),
    ("title", gettext_lazy("Target"), 50),
    ("how", gettext_lazy("What to enter"), 45),
    ("threshold", gettext_lazy("Threshold"), 10),
    ("numerator", gettext_lazy("Numerator"), 12),
    ("denominator", gettext_lazy("Denominator"), 12),
    ("value", gettext_lazy("Value"), 10),
    ("note", gettext_lazy("Note"), 30),
    ("previous", gettext_lazy("Previous period"), 22),
]
EDITABLE = {"numerator", "denominator", "value", "note"}
MAX_ROWS = 50_000
READ_ONLY_FILL = PatternFill("solid", fgColor="F2F2F2")


def _how(target) -> str:
    if target.measure in (Measure.RATIO, Measure.REDUCTION):
        return _("Numerator: %(n)s. Denominator: %(d)s.") % {"n": target.numerator_label, "d": target.denominator_label}
    if target.measure == Measure.PERCENT:
        return _("Value: a percent from 0 to 100.")
    if target.measure == Measure.BOOLEAN:
        return _("Value: 1 if done, 0 if not.")
    return _("Value: a whole number.")


def _figure_text(figure: Figure) -> str:
    """Last period's figure as a reader reads it: 1.234/2.000, 92,5, or done / not done."""
    if figure.uses_counts:
        if figure.numerator is None or figure.denominator is None:
            return ""
        return f"{num(figure.numerator, 0)}/{num(figure.denominator, 0)}"
    if figure.value is None:
        return ""
    return figure_text(figure.value, figure.measure) if figure.measure == Measure.BOOLEAN else num(figure.value)


def template_workbook(*, period: Period, units: Iterable[Unit]) -> bytes:
    """The template for `units`, pre-filled with their targets, thresholds, current and last figures."""
    units = list(units)
    resolver = ThresholdResolver.load(as_of=period.locked_at)
    current, previous = {}, {}
    for source, target_dict in ((period, current), (previous_period(period), previous)):
        if source is None:
            continue
        figures = Figure.objects.filter(submission__period=source, submission__unit__in=units)
        for figure in figures.select_related("target", "submission"):
            target_dict[(figure.submission.unit_id, figure.target.code)] = figure
    rows = []
    for unit in units:
        for target in applicable_targets(unit, period):
            threshold = resolver.resolve(target.pk, unit.level, period.year)
            figure = current.get((unit.pk, target.code))
            last = previous.get((unit.pk, target.code))
            rows.append(
                [
                    period.key,
                    unit.code,
                    unit.name,
                    target.code,
                    target.title,
                    _how(target),
                    threshold,
                    figure.numerator if figure else None,
                    figure.denominator if figure else None,
                    figure.value if figure else None,
                    figure.note if figure else "",
                    _figure_text(last) if last else "",
                ]  # fmt: skip
            )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(SHEET)
    write_table(sheet, [str(label) for _k, label, _w in COLUMNS], rows, [w for _k, _l, w in COLUMNS])
    for index, (key, _label, _width) in enumerate(COLUMNS, start=1):
        if key not in EDITABLE:
            for row in range(2, len(rows) + 2):
                sheet.cell(row=row, column=index).fill = READ_ONLY_FILL
    return workbook_bytes(workbook)


def figures_import(*, upload, period: Period, by: User) -> ImportResult:
    """Read a filled template and save the figures of every unit in it, or of none.

    Reporters may only send their own units' rows; the secretariat any unit's (a district
    collecting its communes). Each error names its sheet, row and column.
    """
    result = ImportResult()
    errors = result.errors
    workbook = open_workbook(upload)
    try:
        sheet, rows = _read_rows(workbook, errors)
    finally:
        workbook.close()
    if rows is None:
        return result
    labels = {key: str(label) for key, label, _w in COLUMNS}
    units = Unit.objects.in_bulk({r["unit"] for _n, r in rows if r.get("unit")}, field_name="code")
    reviewer = reviews(by)
    # A blank cell keeps the figure already saved: an older workbook never erases newer figures.
    stored = {
        (f.submission.unit_id, f.target.code): f
        for f in Figure.objects.filter(submission__period=period, submission__unit__in=units.values()).select_related(
            "submission", "target"
        )
    }
    wanted: dict[Unit, dict[str, tuple[int, FigureInput]]] = {}
    applicable: dict[str, dict[str, str]] = {}
    for number, row in rows:
        if row.get("period") != period.key:
            errors.append(
                CellError(
                    sheet,
                    number,
                    labels["period"],
                    _("This workbook is for another period (%s).") % row.get("period"),
                )
            )
            continue
        unit = units.get(row.get("unit"))
        if unit is None:
            errors.append(CellError(sheet, number, labels["unit"], _("Unknown unit code.")))
            continue
        if not (reviewer or fills_for(by, unit)):
            errors.append(CellError(sheet, number, labels["unit"], _("You do not report for %s.") % unit.name))
            continue
        if unit.level not in applicable:  # the same targets for every unit of a level
            applicable[unit.level] = {t.code: t.measure for t in applicable_targets(unit, period)}
        measure = applicable[unit.level].get(row.get("target"))
        if measure is None:
            errors.append(
                CellError(sheet, number, labels["target"], _("This target does not apply to the unit in this period."))
            )
            continue
        data = _merged(row, stored.get((unit.pk, row["target"])))
        for key, messages in validate_figure(measure, data).items():
            for message in messages:
                errors.append(CellError(sheet, number, labels.get(key), message))
        seen = wanted.setdefault(unit, {})
        if row["target"] in seen:
            message = _("Duplicate row for this unit and target; first on row %d.") % seen[row["target"]][0]
            errors.append(CellError(sheet, number, labels["target"], message))
        seen[row["target"]] = (number, data)
    if errors:
        return result
    rows_of = {unit.pk: figures for unit, figures in wanted.items()}
    try:
        submissions_save_figures(
            period=period,
            figures={unit: {code: data for code, (_n, data) in figures.items()} for unit, figures in wanted.items()},
            by=by,
            action=EventAction.IMPORTED,
        )
    except ImportErrors as exc:
        for unit_pk, by_code in exc.errors.items():
            first = min(n for n, _d in rows_of[unit_pk].values())
            for code, fields in by_code.items():
                number = rows_of[unit_pk][code][0] if code else first
                for key, messages in fields.items():
                    for message in messages:
                        errors.append(CellError(sheet, number, labels.get(key), message))
        if exc.general:
            errors.append(CellError(sheet, None, None, exc.general))
        return result
    except ReportError as exc:
        errors.append(CellError(sheet, None, None, str(exc)))
        return result
    for figures in wanted.values():
        result.count("units")
        result.count("figures", len(figures))
    return result


def _merged(row: dict, figure: Figure | None) -> FigureInput:
    """The row's figure, blank cells taking the value already saved."""

    def pick(key):
        value = row.get(key)
        return getattr(figure, key) if value in (None, "") and figure is not None else value

    return FigureInput(pick("numerator"), pick("denominator"), pick("value"), pick("note") or "")


def _read_rows(workbook, errors: list[CellError]) -> tuple[str, list[tuple[int, dict]] | None]:
    """The title of the sheet read, and its rows (None if it cannot be read at all)."""
    names = {fold(str(SHEET))}
    found = [ws for ws in workbook.worksheets if fold(ws.title) in names] or workbook.worksheets[:1]
    if not found:
        errors.append(CellError(str(SHEET), None, None, _("The sheet is missing.")))
        return str(SHEET), None
    ws = found[0]
    iterator = iter_rows(ws)
    raw = [str(c.value).strip() if c.value is not None else "" for c in next(iterator, ())]
    while raw and not raw[-1]:
        raw.pop()
    header = [fold(h) for h in raw]
    expected = [fold(str(label)) for _k, label, _w in COLUMNS]
    if header != expected:
        missing = [str(label) for _k, label, _w in COLUMNS if fold(str(label)) not in header]
        extra = [r for r, h in zip(raw, header, strict=True) if h and h not in expected]
        if missing:
            errors.append(CellError(ws.title, 1, None, _("Missing columns: %s.") % ", ".join(missing)))
        if extra:
            errors.append(CellError(ws.title, 1, None, _("Unexpected columns: %s.") % ", ".join(extra)))
        if not missing and not extra:
            order = ", ".join(str(label) for _k, label, _w in COLUMNS)
            errors.append(CellError(ws.title, 1, None, _("Columns must be in this order: %s.") % order))
        return ws.title, None
    rows = []
    parsers = {"numerator": parse_whole, "denominator": parse_whole, "value": parse_decimal}
    for number, cells in enumerate(iterator, start=2):
        if number > MAX_ROWS + 1:
            errors.append(CellError(ws.title, number, None, _("Too many rows (at most %d).") % MAX_ROWS))
            return ws.title, None
        cells = list(cells)
        if all(c.value in (None, "") for c in cells):
            continue
        if any(c.value not in (None, "") for c in cells[len(COLUMNS) :]):
            errors.append(CellError(ws.title, number, None, _("Values outside the template's columns.")))
        row = {}
        for (key, label, _w), cell in zip(COLUMNS, cells, strict=False):
            if key not in EDITABLE and key not in ("period", "unit", "target"):
                continue
            if is_formula(cell):
                errors.append(CellError(ws.title, number, str(label), _("Formulas are not accepted; type the value.")))
                continue
            try:
                if key in parsers:
                    row[key] = parsers[key](cell.value)
                else:
                    row[key] = nfc(str(cell.value).strip()) if cell.value is not None else ""
            except NotANumber:
                message = _("Enter a whole number, 0 or more.") if key != "value" else _("Enter a number.")
                errors.append(CellError(ws.title, number, str(label), message))
        rows.append((number, row))
    return ws.title, rows
