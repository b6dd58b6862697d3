"""The workbook import saves a whole province at once: the same rows and audit trail as saving
unit by unit through the per-report services, in a number of queries that does not grow with the
units."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from conftest import COMPLETE
from reports import excel
from reports.excel import figures_import, template_workbook
from reports.models import PeriodState, Submission, SubmissionEvent, SubmissionStatus
from reports.services import (
    FigureErrors,
    FigureInput,
    ImportErrors,
    ReportError,
    submission_for,
    submission_return,
    submission_save_figures,
    submission_submit,
)
from targets.models import Measure
from targets.tests.factories import TargetFactory, threshold
from units.models import Kind, User
from units.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

NUMERATOR, DENOMINATOR, VALUE, NOTE = 7, 8, 9, 10  # columns of the template, from 0


def filled(period, units, values=None, default=True) -> bytes:
    """The template of `units` with `values` {(unit code, target code): {column: value}}; every
    other row filled with the same plausible figures when `default`."""
    sheet = load_workbook(io.BytesIO(template_workbook(period=period, units=units)))["Số liệu"]
    for row in sheet.iter_rows(min_row=2):
        key = (row[1].value, row[3].value)
        cells = (values or {}).get(key)
        if cells is None and default:
            cells = {NUMERATOR: 30, DENOMINATOR: 40} if row[5].value.startswith("Tử số") else {VALUE: 95}
        for column, value in (cells or {}).items():
            row[column].value = value
    out = io.BytesIO()
    sheet.parent.save(out)
    return out.getvalue()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("so-lieu.xlsx", data)


def communes(parent, count: int, prefix: str) -> list:
    return [
        UnitFactory(code=f"{prefix}{i:03d}", name=f"Xã Thử {prefix}-{i}", kind=Kind.COMMUNE, parent=parent)
        for i in range(count)
    ]


def queries_of(data: bytes, period, user) -> int:
    user = User.objects.get(pk=user.pk)  # nothing cached from an earlier import
    with CaptureQueriesContext(connection) as queries:
        result = figures_import(upload=upload(data), period=period, by=user)
    assert result.ok, [str(e) for e in result.errors]
    return len(queries)


def test_queries_do_not_grow_with_the_units(catalogue, period, district_a, district_b, secretariat):
    # Communes report two targets each: 50 of them stay within one insert batch on SQLite (999
    # parameters), so the counts compare the import itself on either database.
    few, many = communes(district_a, 5, "5"), communes(district_b, 50, "6")
    new_few = queries_of(filled(period, few), period, secretariat)
    new_many = queries_of(filled(period, many), period, secretariat)
    assert new_few == new_many
    assert Submission.objects.filter(period=period).count() == 55
    # Importing again over the drafts: every figure changed, one update batch however many.
    again = {(u.code, t): {VALUE: 90} for u in few + many for t in ("TTHC-09",)}
    again |= {(u.code, "TTHC-08"): {NUMERATOR: 31, DENOMINATOR: 40} for u in few + many}
    changed_few = queries_of(filled(period, few, again), period, secretariat)
    changed_many = queries_of(filled(period, many, again), period, secretariat)
    assert changed_few == changed_many
    assert SubmissionEvent.objects.filter(action="imported").count() == 110


def test_a_new_periods_import_is_one_write_per_table(catalogue, period, district_a, secretariat):
    units = communes(district_a, 20, "7")
    # Units, roles, saved figures, targets (read and checked), the locked reports, targets (to create
    # the figures), one write per table, and the two savepoints of the test's transaction: 14 (on
    # PostgreSQL the figures and entries go by COPY, which Django does not count: 12).
    assert queries_of(filled(period, units), period, secretariat) <= 14


# --- The same stored rows as the unit-by-unit path ---------------------------------------------------


def unit_by_unit(*, period, figures, by, action):
    """The import as it was saved before, one report after the other through `submission_for` and
    `submission_save_figures`, with its refusals told the way the bulk service tells them."""
    errors = {}
    with transaction.atomic():
        for unit, wanted in figures.items():
            try:
                submission = submission_for(unit=unit, period=period, by=by)
            except ReportError as exc:
                raise ImportErrors(errors, general=str(exc)) from exc
            if not submission.is_editable:
                message = _("The report of %(unit)s is “%(status)s” and cannot be changed.") % {
                    "unit": unit.name,
                    "status": submission.get_status_display(),
                }
                errors[unit.pk] = {"": {"unit": [message]}}
                continue
            try:
                submission_save_figures(submission=submission, figures=wanted, by=by, action=action)
            except FigureErrors as exc:
                errors[unit.pk] = exc.errors
        if errors:
            raise ImportErrors(errors)


def snapshot(period) -> dict:
    """Every row the import may write, without ids and timestamps, in the order written."""
    ignored = {"id", "created_at", "updated_at"}
    fields = [f.attname for f in Submission._meta.concrete_fields if f.name not in ignored]
    return {
        "submissions": sorted(Submission.objects.filter(period=period).values_list(*fields)),
        "figures": sorted(
            Submission.objects.filter(period=period).values_list(
                "unit__code",
                "figures__target__code",
                "figures__measure",
                "figures__numerator",
                "figures__denominator",
                "figures__value",
                "figures__note",
            )
        ),
        "events": list(
            SubmissionEvent.objects.filter(submission__period=period)
            .order_by("id")
            .values_list("submission__unit__code", "action", "from_status", "to_status", "changes", "reason", "by_id")
        ),
    }


def outcome(data: bytes, period, by) -> tuple:
    """The import's answer and the rows it left, then rolled back for the next run."""
    with transaction.atomic():
        result = figures_import(upload=upload(data), period=period, by=by)
        rows = snapshot(period)
        transaction.set_rollback(True)
    return [str(e) for e in result.errors], result.saved, rows


def both_ways(monkeypatch, data: bytes, period, by) -> tuple:
    bulk = outcome(data, period, by)
    with monkeypatch.context() as patch:
        patch.setattr(excel, "submissions_save_figures", unit_by_unit)
        one_by_one = outcome(data, period, by)
    return bulk, one_by_one


@pytest.fixture
def mixed(catalogue, period, tree, reporter_a, reporter_b, secretariat):
    """Reports in every state an import meets: Nghi Lộc's draft with figures, Diễn Châu's report
    returned, Diễn Kỷ's draft already holding what the workbook says, two communes not started."""
    district_a, district_b = tree.children.get(code="429"), tree.children.get(code="425")
    commune_b1 = district_b.children.get()
    draft = submission_for(unit=district_a, period=period, by=reporter_a)
    submission_save_figures(submission=draft, figures=COMPLETE, by=reporter_a)
    returned = submission_for(unit=district_b, period=period, by=reporter_b)
    submission_save_figures(submission=returned, figures=COMPLETE, by=reporter_b)
    submission_submit(submission=returned, by=reporter_b)
    submission_return(submission=returned, by=secretariat, reason="Thiếu tài liệu kiểm chứng")
    same = submission_for(unit=commune_b1, period=period, by=secretariat)
    submission_save_figures(
        submission=same,
        figures={"TTHC-08": FigureInput(30, 40), "TTHC-09": FigureInput(value=Decimal(95))},
        by=secretariat,
    )
    return [district_a, *district_a.children.order_by("code"), district_b, commune_b1]


def test_bulk_import_stores_what_the_unit_by_unit_path_stores(monkeypatch, mixed, period, secretariat):
    values = {
        ("429", "TTHC-08"): {NUMERATOR: 1500, DENOMINATOR: 2000, NOTE: "  Theo một cửa điện tử "},
        ("429", "TTHC-09"): {VALUE: "92,50"},  # the same figure written otherwise: no change recorded
        ("429", "TCBM-02"): {},  # blank: the saved figure stays
        ("17701", "TTHC-09"): {VALUE: "91,5"},
        ("17701", "TTHC-08"): {},
        ("425", "TCBM-02"): {NUMERATOR: 85, DENOMINATOR: 100},
    }
    bulk, one_by_one = both_ways(monkeypatch, filled(period, mixed, values), period, secretariat)
    assert bulk == one_by_one
    errors, saved, rows = bulk
    assert (errors, saved) == ([], {"units": 5, "figures": 12})
    # Hand-checked: every report bumped once, Diễn Kỷ's without an entry since nothing changed.
    versions = dict(Submission.objects.values_list("unit__code", "version"))
    assert versions == {"429": 2, "425": 4, "17200": 2}  # the rolled-back imports left the database as it was
    assert [(e[0], e[1]) for e in rows["events"][-6:]] == [
        ("429", "imported"),
        ("17700", "created"),
        ("17700", "imported"),
        ("17701", "created"),
        ("17701", "imported"),
        ("425", "imported"),
    ]
    assert rows["events"][-6][4] == {"TTHC-08": {"numerator": [1234, 1500], "note": ["", "Theo một cửa điện tử"]}}
    assert rows["events"][-2][4] == {"TTHC-09": {"value": [None, "91.5"]}}
    assert len(rows["submissions"]) == 5


def test_bulk_import_refuses_as_the_unit_by_unit_path_refuses(monkeypatch, mixed, period, secretariat, reporter_a):
    district_a = mixed[0]
    submission_submit(submission=Submission.objects.get(unit=district_a), by=reporter_a)
    # A target in force since the drafts were started: Diễn Châu's and Diễn Kỷ's have no figure for it.
    late = TargetFactory(code="TTHC-10", area=TargetFactory._meta.model.objects.get(code="TTHC-08").area, order=3)
    threshold(late, "50")
    bulk, one_by_one = both_ways(monkeypatch, filled(period, mixed), period, secretariat)
    assert bulk == one_by_one
    errors, saved, _rows = bulk
    assert saved == {}
    assert errors == [
        "trang tính “Số liệu”, dòng 2, cột “Mã đơn vị”: "
        "Báo cáo của Huyện Nghi Lộc đang ở trạng thái “Đã gửi”, không thể sửa.",
        "trang tính “Số liệu”, dòng 14, cột “Mã chỉ tiêu”: Chỉ tiêu này không áp dụng cho đơn vị trong kỳ này.",
        "trang tính “Số liệu”, dòng 18, cột “Mã chỉ tiêu”: Chỉ tiêu này không áp dụng cho đơn vị trong kỳ này.",
    ]


def test_a_closed_period_refuses_new_reports_after_naming_the_others(monkeypatch, mixed, period, secretariat):
    period.state = PeriodState.CLOSED
    period.save()
    bulk, one_by_one = both_ways(monkeypatch, filled(period, mixed), period, secretariat)
    assert bulk == one_by_one
    errors, saved, _rows = bulk
    assert saved == {}
    assert errors == [
        "trang tính “Số liệu”, dòng 2, cột “Mã đơn vị”: "
        "Báo cáo của Huyện Nghi Lộc đang ở trạng thái “Nháp”, không thể sửa.",
        "trang tính “Số liệu”: " + _("The period %s is closed for reporting.") % period.label,
    ]


def test_a_count_target_is_checked_against_the_figure_it_was_made_as(monkeypatch, mixed, period, secretariat):
    """The catalogue changed a measure after Nghi Lộc's report was started: the report's own figure
    rules, as the per-report save does."""
    TargetFactory._meta.model.objects.filter(code="TTHC-09").update(measure=Measure.COUNT)
    values = {("429", "TTHC-09"): {VALUE: 150}}
    bulk, one_by_one = both_ways(monkeypatch, filled(period, mixed[:1], values, default=False), period, secretariat)
    assert bulk == one_by_one
    assert bulk[0] == ["trang tính “Số liệu”, dòng 3, cột “Giá trị”: Tỷ lệ phần trăm phải từ 0 đến 100."]


def test_a_reporter_imports_only_their_own_unit_and_a_sent_one_stays(submitted_a, period, district_a, reporter_a):
    result = figures_import(upload=upload(filled(period, [district_a])), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == [
        "trang tính “Số liệu”, dòng 2, cột “Mã đơn vị”: "
        "Báo cáo của Huyện Nghi Lộc đang ở trạng thái “Đã gửi”, không thể sửa."
    ]
    submitted_a.refresh_from_db()
    assert (submitted_a.status, submitted_a.version) == (SubmissionStatus.SUBMITTED, 3)
