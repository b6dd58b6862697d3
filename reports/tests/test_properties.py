"""Property-based tests: malformed input thrown at the figures form (through HTTP) and at the Excel import.

For any input, whatever door it comes in by:
- never a server error, never an exception the caller did not expect;
- an input that is refused changes nothing: submissions, figures and events are compared row by row;
- every error names its place: the form field of the target, or the sheet, row and column of the workbook.

Every example runs inside a savepoint that is rolled back, so the examples of a test do not see each other.
"""

import datetime as dt
import io
import re
import zipfile
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils.html import escape
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cchc_portal.text import fold, nfc
from cchc_portal.xlsx import UNWRITABLE, WorkbookRejected
from conftest import COMPLETE
from reports.excel import figures_import, template_workbook
from reports.models import Figure, Submission, SubmissionEvent, SubmissionStatus
from reports.services import MAX_COUNT, submission_for, submission_save_figures, submission_submit

pytestmark = pytest.mark.django_db

URL = "/reports/2025-Q1/429/"
SAVE = URL + "save/"
IMPORT = "/reports/2025-Q1/import/"
TEMPLATE = "/reports/2025-Q1/template.xlsx?unit=429"

COUNT_FIELDS = ["TTHC-08__numerator", "TTHC-08__denominator", "TCBM-02__numerator", "TCBM-02__denominator"]
VALUE_FIELDS = ["TTHC-09__value"]  # a percent
NOTE_FIELDS = ["TTHC-08__note", "TTHC-09__note", "TCBM-02__note"]

# The workbook's layout, as the offices see it.
HEADERS = [
    "Kỳ báo cáo", "Mã đơn vị", "Đơn vị", "Mã chỉ tiêu", "Chỉ tiêu", "Cách nhập", "Ngưỡng",
    "Tử số", "Mẫu số", "Giá trị", "Ghi chú", "Kỳ trước",
]  # fmt: skip
COLUMN = {header: index for index, header in enumerate(HEADERS, start=1)}
READ_ONLY_COLUMNS = ["Đơn vị", "Chỉ tiêu", "Cách nhập", "Ngưỡng", "Kỳ trước"]
UNIT_CODES = {"40", "40-SNV", "429", "425", "17700", "17701", "17200"}
TARGET_CODES = {"TTHC-08", "TTHC-09", "TCBM-02"}

QUICK = {
    "deadline": None,
    "database": None,  # nothing written next to the project
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@contextmanager
def rolled_back():
    """Run one example in a savepoint and undo whatever it wrote."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def snapshot() -> list[list[dict]]:
    return [list(model.objects.order_by("pk").values()) for model in (Submission, Figure, SubmissionEvent)]


# --- Values typed into a number field ---

LETTERS = "abcdxyzđĐăâôơưÀẠỹ"  # never e/E: "1e3" is a number
digits = st.text(alphabet="0123456789", min_size=1, max_size=6)


def vi_grouped(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def vi_decimal(number: Decimal) -> str:
    return format(number, "f").replace(".", ",")


with_letter = st.builds(
    lambda a, letter, b: a + letter + b,
    st.text("0123456789.,", max_size=5),
    st.sampled_from(LETTERS),
    st.text("0123456789.,", max_size=5),
)
non_finite = st.sampled_from(["NaN", "nan", "-NaN", "sNaN", "inf", "-inf", "+Infinity", "Infinity", "∞", "1e999"])
with_control = st.builds(lambda a, c, b: a + c + b, digits, st.characters(codec="utf-8", categories=["Cc"]), digits)
negative_count = st.integers(1, 10**20).flatmap(lambda n: st.sampled_from([f"-{n}", f"-{vi_grouped(n)}"]))
huge_count = st.integers(MAX_COUNT + 1, 10**40).flatmap(lambda n: st.sampled_from([str(n), vi_grouped(n)]))
fractional_count = (  # 12,5 or 0,000001: never a whole number
    st.decimals(min_value=0, max_value=10**6, places=6).filter(lambda d: d != d.to_integral_value()).map(vi_decimal)
)
many_places = st.builds(
    lambda whole, places, last: f"{whole},{'0' * places}{last}",
    st.integers(0, 99),
    st.integers(2, 15),
    st.integers(1, 9),
)  # 92,005 and beyond: more than 2 decimal places
negative_value = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("-0.01"), places=2).map(vi_decimal)
huge_value = st.integers(10**12, 10**30).map(str)
over_100 = st.decimals(min_value=Decimal("100.01"), max_value=Decimal("999999999999.99"), places=2).map(vi_decimal)

BAD_COUNT = st.one_of(with_letter, non_finite, with_control, negative_count, huge_count, fractional_count)
BAD_PERCENT = st.one_of(with_letter, non_finite, with_control, negative_value, huge_value, many_places, over_100)

blank = st.sampled_from(["", " ", "\t", "\n \r\n"])
good_count = st.integers(0, MAX_COUNT).flatmap(lambda n: st.sampled_from([str(n), vi_grouped(n), f" {n} "]))
good_percent = st.decimals(min_value=0, max_value=100, places=2).flatmap(
    lambda d: st.sampled_from([vi_decimal(d), vi_decimal(d.normalize()), str(int(d))])
)
any_text = st.text(max_size=30)
ANY_COUNT = st.one_of(blank, good_count, BAD_COUNT, any_text)
ANY_PERCENT = st.one_of(blank, good_percent, BAD_PERCENT, any_text)
# Notes the form must accept: any text but NUL, up to its limit (control characters, RTL, emoji, "=" prefixes...).
GOOD_NOTE = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200),
    st.sampled_from(["=1+1", '=HYPERLINK("http://x")', "+84 912", "-", "@", "Tỷ lệ đạt 95%\r\ndòng hai", "x" * 2000]),
)


@pytest.fixture
def reporter_client(catalogue, period, district_a, reporter_a, login):
    return login(reporter_a)


def draft_with_figures(period, unit, by) -> Submission:
    submission = submission_for(unit=unit, period=period, by=by)
    return submission_save_figures(submission=submission, figures=COMPLETE, by=by)


def version_now() -> int:
    submission = Submission.objects.filter(unit__code="429").first()
    return submission.version if submission else 0


def post_form(client, data: dict, *, htmx: bool):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(SAVE, data, **extra)
    assert response.status_code in (200, 302), response.status_code
    return response


def refused(response) -> bool:
    return response.status_code == 200 and bool(response.context["form"].errors)


def assert_field_marked(body: str, name: str, messages: list[str]) -> None:
    """The input of the field is marked invalid and each message is printed (right after it)."""
    marked = re.search(r'<input class="[^"]*\bis-invalid\b[^"]*" name="' + re.escape(name) + '"', body)
    assert marked, f"{name} is not marked invalid"
    for message in messages:
        assert escape(message) in body[marked.start() :], message


# --- The figures form, through HTTP ---


@settings(max_examples=40, **QUICK)
@given(
    data=st.fixed_dictionaries(
        {**dict.fromkeys(COUNT_FIELDS, ANY_COUNT), **dict.fromkeys(VALUE_FIELDS, ANY_PERCENT)},
        optional=dict.fromkeys(NOTE_FIELDS, GOOD_NOTE),
    ),
    existing=st.booleans(),
    htmx=st.booleans(),
)
def test_form_never_fails_and_a_refusal_changes_nothing(
    reporter_client, period, district_a, reporter_a, data, existing, htmx
):
    with rolled_back():
        if existing:
            draft_with_figures(period, district_a, reporter_a)
        before = snapshot()
        response = post_form(reporter_client, {"version": version_now(), **data}, htmx=htmx)
        if refused(response):
            assert snapshot() == before
            form = response.context["form"]
            body = response.content.decode()
            assert "__all__" not in form.errors  # a bad figure is never reported without its place
            for name, messages in form.errors.items():
                assert name in COUNT_FIELDS + VALUE_FIELDS + NOTE_FIELDS, name
                assert_field_marked(body, name, messages)
        else:
            submission = Submission.objects.get(unit=district_a, period=period)
            assert submission.status == SubmissionStatus.DRAFT
            for figure in submission.figures.all():  # what was saved obeys every rule
                assert figure.value is None or figure.value == figure.value.quantize(Decimal("0.01"))
                assert all(n is None or 0 <= n <= MAX_COUNT for n in (figure.numerator, figure.denominator))


def one_bad_field():
    """(field, value) where the value is wrong whatever Django's number parsing makes of it."""
    count = st.tuples(st.sampled_from(COUNT_FIELDS), BAD_COUNT)
    percent = st.tuples(st.sampled_from(VALUE_FIELDS), BAD_PERCENT)
    return st.one_of(count, percent)


@settings(max_examples=40, **QUICK)
@given(bad=one_bad_field(), existing=st.booleans(), htmx=st.booleans(), send=st.booleans())
@example(bad=("TTHC-08__numerator", "1.234,5"), existing=True, htmx=False, send=True)
@example(bad=("TTHC-09__value", "92,567"), existing=False, htmx=True, send=False)
@example(bad=("TTHC-09__value", "100,01"), existing=False, htmx=False, send=False)  # the target's rule
def test_a_bad_value_is_refused_on_its_own_field(
    reporter_client, period, district_a, reporter_a, bad, existing, htmx, send
):
    name, value = bad
    data = {  # the rest of the report is fine
        "TTHC-08__numerator": "1.234",
        "TTHC-08__denominator": "2.000",
        "TTHC-09__value": "92,5",
        "TCBM-02__numerator": "90",
        "TCBM-02__denominator": "100",
        name: value,
    }
    if send:
        data["submit"] = "1"
    with rolled_back():
        if existing:
            draft_with_figures(period, district_a, reporter_a)
        before = snapshot()
        response = post_form(reporter_client, {"version": version_now(), **data}, htmx=htmx)
        assert refused(response), value
        errors = response.context["form"].errors
        assert list(errors) == [name]
        assert_field_marked(response.content.decode(), name, errors[name])
        assert snapshot() == before


@settings(max_examples=25, **QUICK)
@given(numerator=st.integers(1, MAX_COUNT), data=st.data(), grouped=st.booleans(), existing=st.booleans())
def test_a_numerator_larger_than_its_denominator_is_refused_on_the_numerator(
    reporter_client, period, district_a, reporter_a, numerator, data, grouped, existing
):
    denominator = data.draw(st.integers(0, numerator - 1))
    show = vi_grouped if grouped else str
    with rolled_back():
        if existing:
            draft_with_figures(period, district_a, reporter_a)
        before = snapshot()
        form = {"TTHC-08__numerator": show(numerator), "TTHC-08__denominator": show(denominator)}
        response = post_form(reporter_client, {"version": version_now(), **form}, htmx=False)
        assert refused(response)
        errors = response.context["form"].errors
        assert errors == {"TTHC-08__numerator": ["Tử số không được lớn hơn mẫu số."]}
        assert_field_marked(response.content.decode(), "TTHC-08__numerator", errors["TTHC-08__numerator"])
        assert snapshot() == before


def as_it_comes_back(note: str) -> str:
    """A note after a trip through a worksheet: no control characters, line ends as XML reads them, trimmed."""
    text = UNWRITABLE.sub("", note).replace("\r\n", "\n").replace("\r", "\n")
    return nfc(text.strip())


@settings(max_examples=20, **QUICK)
@given(
    numerator=st.integers(0, MAX_COUNT),
    spare=st.integers(0, MAX_COUNT),
    percent=good_percent,
    reduction=st.tuples(good_count, good_count),
    notes=st.fixed_dictionaries({}, optional=dict.fromkeys(NOTE_FIELDS, GOOD_NOTE)),
)
@example(numerator=1, spare=0, percent="95", reduction=("", ""), notes={"TTHC-08__note": "=1+1"})
def test_what_the_form_accepts_comes_back_through_the_excel_template(
    reporter_client, period, district_a, numerator, spare, percent, reduction, notes
):
    """Saved on the web, downloaded, uploaded untouched: accepted, figures unchanged, notes as a sheet keeps them."""
    assume(not any(UNWRITABLE.search(note) for note in notes.values()))  # refused by the form
    data = {
        "TTHC-08__numerator": str(numerator),
        "TTHC-08__denominator": str(min(numerator + spare, MAX_COUNT)),
        "TTHC-09__value": percent,
        "TCBM-02__numerator": reduction[0],
        "TCBM-02__denominator": reduction[1],
        **notes,
    }
    with rolled_back():
        response = post_form(reporter_client, {"version": 0, **data}, htmx=False)
        assert response.status_code == 302, response.context["form"].errors
        saved = {f.target.code: f for f in Figure.objects.select_related("target")}
        template = reporter_client.get(TEMPLATE)
        assert template.status_code == 200
        response = reporter_client.post(IMPORT, {"file": SimpleUploadedFile("bao-cao.xlsx", template.content)})
        assert response.status_code == 302, [str(e) for e in response.context["errors"]]
        for figure in Figure.objects.select_related("target"):
            before = saved[figure.target.code]
            assert (figure.numerator, figure.denominator, figure.value) == (
                before.numerator,
                before.denominator,
                before.value,
            )
            # Line ends may come back as \n or as typed, depending on how the sheet's XML carries them.
            came_back = figure.note.replace("\r\n", "\n").replace("\r", "\n")
            expected = as_it_comes_back(before.note) or before.note  # a blank cell keeps the note
            assert came_back == expected.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=5, **QUICK)
@given(note=st.one_of(st.text(min_size=2001, max_size=2100), st.text(max_size=20).map(lambda t: t + "\x00")))
@example(note="a\x00b")
@example(note="x\x01y")
@example(note="x\uffffy")
def test_a_bad_note_is_refused_on_its_own_field(reporter_client, note):
    with rolled_back():
        before = snapshot()
        response = post_form(reporter_client, {"version": 0, "TTHC-08__note": note}, htmx=False)
        assert refused(response) and snapshot() == before
        errors = response.context["form"].errors
        assert list(errors) == ["TTHC-08__note"]
        body = response.content.decode()
        assert re.search(r'<input class="[^"]*\bis-invalid\b[^"]*" name="TTHC-08__note"', body)


@settings(max_examples=5, **QUICK)
@given(version=st.integers(2, 2**31))
@example(version=7)
def test_a_stale_version_on_the_first_save_writes_nothing(reporter_client, version):
    with rolled_back():
        before = snapshot()
        response = post_form(reporter_client, {"version": version, "TTHC-09__value": "95"}, htmx=False)
        assert refused(response)
        assert snapshot() == before


# --- The Excel import ---


def workbook_of(data: bytes):
    return load_workbook(io.BytesIO(data))


def to_bytes(workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("bao-cao.xlsx", data)


GOOD = {"TTHC-08": (30, 40, None), "TTHC-09": (None, None, 95), "TCBM-02": (90, 100, None)}


def filled(data: bytes):
    """The template with a valid figure on every row."""
    workbook = workbook_of(data)
    sheet = workbook.active
    for row in range(2, sheet.max_row + 1):
        numerator, denominator, value = GOOD[sheet.cell(row, COLUMN["Mã chỉ tiêu"]).value]
        sheet.cell(row, COLUMN["Tử số"], numerator)
        sheet.cell(row, COLUMN["Mẫu số"], denominator)
        sheet.cell(row, COLUMN["Giá trị"], value)
    return workbook


class Template(bytes):
    """A workbook's bytes that do not fill a failure report."""

    def __repr__(self) -> str:
        return f"<workbook of {len(self)} bytes>"


@pytest.fixture
def two_districts(catalogue, period, district_a, district_b) -> Template:
    """Nghi Lộc's and Diễn Châu's template (rows 2-4 and 5-7), as the secretariat downloads it."""
    return Template(template_workbook(period=period, units=[district_a, district_b]))


def check_refusal(result, before, sheet_title: str) -> None:
    """Refused: nothing saved, and every error names the sheet and a row."""
    assert not result.ok and result.saved == {}
    assert snapshot() == before
    for error in result.errors:
        assert error.sheet == sheet_title and error.row, str(error)
        assert str(error).startswith(f"trang tính “{sheet_title}”, dòng {error.row}"), str(error)


# Cell values a sheet can hold (openpyxl refuses control characters).
cell_text = st.text(max_size=40).map(lambda t: UNWRITABLE.sub("", t))
long_text = st.integers(2_000, 40_000).map(lambda n: "9" * n + "x")
moments = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.times(),
)
formulas = st.sampled_from(["=1+1", "=SUM(H2:H3)", '=HYPERLINK("http://x")', "=1/0", "=A1"])
text_with_letter = with_letter.filter(lambda t: not t.startswith("="))
BAD_COUNT_CELL = st.one_of(
    text_with_letter,
    non_finite,
    negative_count,
    huge_count,
    fractional_count,
    st.integers(-(10**30), -1),
    st.integers(MAX_COUNT + 1, 10**30),
    st.floats(min_value=-1e300, max_value=-1e-300),
    st.floats(min_value=0.01, max_value=1e6).filter(lambda f: not f.is_integer()),
    st.floats(min_value=1e16, max_value=1e300),
    st.booleans(),
    moments,
    formulas,
    long_text,
    st.sampled_from(["1,5", "2.5", "1.234,5", "1 000", "²", "0x10", "1_0"]),
)
BAD_PERCENT_CELL = st.one_of(
    text_with_letter,
    non_finite,
    negative_value,
    huge_value,
    many_places,
    over_100,
    st.floats(min_value=100.01, max_value=1e300),
    st.floats(min_value=-1e300, max_value=-0.01),
    st.decimals(min_value=0, max_value=100, places=4).filter(lambda d: d != d.quantize(Decimal("0.01"))),
    st.booleans(),
    moments,
    formulas,
    long_text,
)
ANY_CELL = st.one_of(
    st.none(),
    cell_text,
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    moments,
    formulas,
    long_text,
    BAD_COUNT_CELL,
    BAD_PERCENT_CELL,
)


def not_a(codes: set[str]):
    """A cell value that, read back, is none of `codes`."""
    values = st.one_of(cell_text, st.integers(-(10**30), 10**30), st.booleans(), moments, formulas)
    return values.filter(lambda v: nfc(str(v).strip()) not in codes)


# Rows of the two districts' template: 2 TTHC-08, 3 TTHC-09, 4 TCBM-02, then 5-7 the same for Diễn Châu.
COUNT_ROWS = [2, 4, 5, 7]


@st.composite
def corruption(draw, row: int):
    """Wrong cells on `row`: ([(column, value), ...], the column its error must name; None: the row alone)."""
    choices = ["period", "unit", "target", "formula", "outside", "value_on_counts"]
    choices += ["count", "ratio"] if row in COUNT_ROWS else ["percent"]
    kind = draw(st.sampled_from(choices))
    if kind == "count":
        header = draw(st.sampled_from(["Tử số", "Mẫu số"]))
        return [(header, draw(BAD_COUNT_CELL))], header
    if kind == "percent":
        return [("Giá trị", draw(BAD_PERCENT_CELL))], "Giá trị"
    if kind == "ratio":  # Nghi Lộc's and Diễn Châu's TTHC-08 rows; the reduction may exceed 100 %
        if row not in (2, 5):
            return [("Tử số", draw(st.integers(-(10**30), -1)))], "Tử số"
        numerator = draw(st.integers(1, MAX_COUNT))
        return [("Tử số", numerator), ("Mẫu số", draw(st.integers(0, numerator - 1)))], "Tử số"
    if kind == "value_on_counts":
        header = "Giá trị"
        if row in COUNT_ROWS:
            return [(header, draw(st.integers(0, 100)))], header
        return [("Tử số", draw(st.integers(0, 100)))], "Giá trị"  # a value target given counts
    if kind == "period":
        return [("Kỳ báo cáo", draw(st.one_of(not_a({"2025-Q1"}), st.just("2024-Q4"))))], "Kỳ báo cáo"
    if kind == "unit":
        return [("Mã đơn vị", draw(not_a(UNIT_CODES)))], "Mã đơn vị"
    if kind == "target":
        return [("Mã chỉ tiêu", draw(st.one_of(not_a(TARGET_CODES), st.just("tthc-08"))))], "Mã chỉ tiêu"
    if kind == "formula":
        header = draw(st.sampled_from(["Tử số", "Mẫu số", "Giá trị", "Ghi chú", "Kỳ báo cáo"]))
        return [(header, draw(formulas))], header
    return [(len(HEADERS) + draw(st.integers(1, 5)), draw(ANY_CELL.filter(lambda v: v not in (None, ""))))], None


@settings(max_examples=40, **QUICK)
@given(data=st.data(), rows=st.lists(st.sampled_from(range(2, 8)), min_size=1, max_size=4, unique=True))
def test_every_bad_cell_is_named_by_sheet_row_and_column_and_nothing_is_saved(
    two_districts, period, district_a, secretariat, data, rows
):
    workbook = filled(two_districts)
    sheet = workbook.active
    expected = []
    for row in rows:
        cells, named = data.draw(corruption(row))
        for column, value in cells:
            sheet.cell(row, COLUMN.get(column, column), value)
        expected.append((row, named))
    duplicate = data.draw(st.sampled_from([None, *sorted(set(range(2, 8)) - set(rows))]))
    if duplicate:  # the same unit and target again, further down
        sheet.append([c.value for c in sheet[duplicate]])
        expected.append((sheet.max_row, "Mã chỉ tiêu"))
    with rolled_back():
        draft_with_figures(period, district_a, secretariat)  # saved figures the refusal must leave alone
        before = snapshot()
        result = figures_import(upload=upload(to_bytes(workbook)), period=period, by=secretariat)
        check_refusal(result, before, "Số liệu")
        messages = [str(e) for e in result.errors]
        for row, column in expected:
            place = f"dòng {row}, cột “{column}”" if column else f"dòng {row}: Có dữ liệu nằm ngoài các cột"
            assert any(place in m for m in messages), (place, messages)


@settings(max_examples=15, **QUICK)
@given(data=st.data())
def test_read_only_columns_take_anything(two_districts, period, secretariat, data):
    """Threshold, titles, previous period: shown to help, never read, so garbage there is harmless."""
    workbook = filled(two_districts)
    sheet = workbook.active
    for row in range(2, 8):
        for header in data.draw(st.lists(st.sampled_from(READ_ONLY_COLUMNS), unique=True)):
            sheet.cell(row, COLUMN[header], data.draw(ANY_CELL))
    with rolled_back():
        result = figures_import(upload=upload(to_bytes(workbook)), period=period, by=secretariat)
        assert result.ok, [str(e) for e in result.errors]
        assert result.saved == {"units": 2, "figures": 6}


@settings(max_examples=15, **QUICK)
@given(values=st.tuples(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 100)))
def test_one_unit_that_cannot_be_changed_stops_the_whole_import(
    two_districts, period, district_a, district_b, reporter_b, secretariat, values
):
    numerator, spare, percent = values
    workbook = filled(two_districts)
    sheet = workbook.active
    sheet.cell(2, COLUMN["Tử số"], numerator)
    sheet.cell(2, COLUMN["Mẫu số"], numerator + spare)
    sheet.cell(3, COLUMN["Giá trị"], percent)
    with rolled_back():
        submission_submit(submission=draft_with_figures(period, district_b, reporter_b), by=reporter_b)
        before = snapshot()
        result = figures_import(upload=upload(to_bytes(workbook)), period=period, by=secretariat)
        check_refusal(result, before, "Số liệu")
        assert [str(e) for e in result.errors] == [
            "trang tính “Số liệu”, dòng 5, cột “Mã đơn vị”: "
            "Báo cáo của Huyện Diễn Châu đang ở trạng thái “Đã gửi”, không thể sửa."
        ]


@st.composite
def reshaped(draw, data: bytes):
    """The template with its sheets or header columns renamed, removed, added or moved."""
    workbook = filled(data)
    sheet = workbook.active
    valid_title = cell_text.map(lambda t: re.sub(r"[\[\]:*?/\\']", "", t)[:31].strip()).filter(bool)
    for change in draw(st.lists(st.sampled_from(["rename", "sheet", "drop", "insert", "swap", "header"]), max_size=3)):
        width = sheet.max_column
        if change == "rename":
            sheet.title = draw(st.one_of(valid_title, st.sampled_from(["SỐ LIỆU", "so lieu", " Số  liệu", "Sheet1"])))
        elif change == "sheet":
            other = workbook.create_sheet(draw(valid_title.filter(lambda t: t not in workbook.sheetnames)), 0)
            other.append(draw(st.lists(cell_text, max_size=3)))
        elif change == "drop":
            sheet.delete_cols(draw(st.integers(1, width)))
        elif change == "insert":
            column = draw(st.integers(1, width + 1))
            sheet.insert_cols(column)
            sheet.cell(1, column, draw(st.one_of(cell_text.filter(lambda t: not t.startswith("=")), st.none())))
        elif change == "swap":
            a, b = draw(st.lists(st.integers(1, width), min_size=2, max_size=2, unique=True))
            for row in sheet.iter_rows():
                row[a - 1].value, row[b - 1].value = row[b - 1].value, row[a - 1].value
        else:
            header = draw(st.sampled_from(HEADERS))
            spelling = st.sampled_from([header.upper(), fold(header), f"  {header} ", header.replace(" ", "  ")])
            sheet.cell(1, COLUMN[header], draw(st.one_of(spelling, cell_text.filter(lambda t: not t.startswith("=")))))
    return workbook


@settings(max_examples=30, **QUICK)
@given(data=st.data())
def test_a_wrong_layout_is_named_on_the_header_row_and_nothing_is_saved(two_districts, period, secretariat, data):
    sample = to_bytes(data.draw(reshaped(two_districts)))
    workbook = workbook_of(sample)  # as saved: XML reads a lone \r as \n
    # Read as the import promises: the sheet named "Số liệu" (any case or accents), else the first one.
    sheet = next((s for s in workbook.worksheets if fold(s.title) == "so lieu"), workbook.worksheets[0])
    raw = [str(c.value).strip() if c.value is not None else "" for c in sheet[1]]
    while raw and not raw[-1]:
        raw.pop()
    header, expected = [fold(h) for h in raw], [fold(h) for h in HEADERS]
    with rolled_back():
        before = snapshot()
        result = figures_import(upload=upload(sample), period=period, by=secretariat)
        if header == expected:  # only spelled differently, or the sheet renamed: read as usual
            assert result.ok, [str(e) for e in result.errors]
            return
        check_refusal(result, before, sheet.title)
        assert {e.row for e in result.errors} == {1}
        text = " ".join(str(e) for e in result.errors)
        for label in HEADERS:
            if fold(label) not in header:
                assert label in text, (label, text)
        for name, folded in zip(raw, header, strict=True):
            if folded and folded not in expected:
                assert name in text, (name, text)


def rewrite_member(data: bytes, name: str, change) -> bytes:
    """The archive with one member's bytes changed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            body = source.read(info.filename)
            archive.writestr(info.filename, change(body) if info.filename == name else body)
    return out.getvalue()


MEMBERS = [
    "xl/worksheets/sheet1.xml",
    "xl/workbook.xml",
    "xl/styles.xml",
    "[Content_Types].xml",
    "xl/_rels/workbook.xml.rels",
]


def spoil_compressed(data: bytes, name: str, at: int = 0, byte: int = 0xFF) -> bytes:
    """The archive with a byte of one member's compressed stream replaced (0xFF: an invalid deflate block)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + at % info.compress_size
    return data[:start] + bytes([byte]) + data[start + 1 :]


@st.composite
def damaged(draw, data: bytes) -> Template:
    """Bytes that are not, or no longer quite, the template."""
    kind = draw(st.sampled_from(["bytes", "zip-prefix", "truncated", "flipped", "deflate", "member", "cell"]))
    if kind == "bytes":
        return Template(draw(st.binary(max_size=2_000)))
    if kind == "zip-prefix":
        return Template(b"PK\x03\x04" + draw(st.binary(max_size=500)))
    if kind == "truncated":
        return Template(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "flipped":
        at = draw(st.integers(0, len(data) - 1))
        return Template(data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :])
    if kind == "deflate":
        at, byte = draw(st.integers(0, 200)), draw(st.integers(0, 255))
        return Template(spoil_compressed(data, draw(st.sampled_from(MEMBERS)), at, byte))
    if kind == "member":  # a part cut short, or with bytes spliced in
        member, at = draw(st.sampled_from(MEMBERS)), draw(st.integers(0, 5_000))
        if draw(st.booleans()):
            return Template(rewrite_member(data, member, lambda body: body[:at]))
        junk = draw(st.one_of(st.binary(max_size=20), st.sampled_from([b"<", b"&", b"\x00", b"<v>", b"\xff\xfe"])))
        return Template(rewrite_member(data, member, lambda body: body[:at] + junk + body[at + len(junk) :]))
    # A number cell holding what Excel never writes.
    raw = draw(st.sampled_from([b"inf", b"nan", b"1E999", b"-1E999", b"x", b"", b"1,5", b"0x1F", b"1e-999"]))
    cell_type = draw(st.sampled_from([b"n", b"d", b"b", b"e", b"s", b"str", b"zz"]))
    cell = b'<c r="H2" t="%s"><v>%s</v></c>' % (cell_type, raw)
    return Template(rewrite_member(data, "xl/worksheets/sheet1.xml", lambda body: blank_h2(body, cell)))


def refused_through_the_page(client, sample: bytes) -> None:
    """Posted to the import page: a page with the errors (or a redirect when nothing read was damaged)."""
    with rolled_back():
        before = snapshot()
        response = client.post(IMPORT, {"file": upload(sample)})
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 302:
            return
        assert snapshot() == before
        errors, file_errors = response.context["errors"], response.context["form"].errors.get("file", [])
        assert errors or file_errors
        for error in errors:
            assert str(error).startswith(f"trang tính “{error.sheet}”, dòng {error.row}"), str(error)


def blank_h2(body: bytes, cell: bytes) -> bytes:
    """The sheet's XML with the template's empty numerator cell H2 replaced by `cell`."""
    changed, count = re.subn(rb'<c r="H2"[^>]*?(?:/>|>\s*</c>)', cell, body, count=1)
    assert count == 1, "the template's H2 cell is not an empty cell any more"
    return changed


@pytest.fixture
def one_district(catalogue, period, district_a) -> Template:
    """Nghi Lộc's template, made once per test: its bytes carry the time they were made."""
    return Template(template_workbook(period=period, units=[district_a]))


@settings(max_examples=40, **QUICK)
@given(data=st.data())
def test_damaged_files_are_refused_through_the_page_without_a_server_error(reporter_client, one_district, data):
    refused_through_the_page(reporter_client, data.draw(damaged(one_district)))


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body[: len(body) // 2],  # the sheet's XML cut short: parsed only while its rows are read
        lambda body: blank_h2(body, b'<c r="H2" t="n"><v>inf</v></c>'),
        lambda body: blank_h2(body, b'<c r="H2" t="d"><v>not a date</v></c>'),
    ],
    ids=["truncated-sheet", "inf", "bad-date"],
)
def test_a_sheet_damaged_inside_is_refused_as_a_damaged_file(reporter_client, period, district_a, change):
    sample = rewrite_member(template_workbook(period=period, units=[district_a]), "xl/worksheets/sheet1.xml", change)
    response = reporter_client.post(IMPORT, {"file": upload(sample)})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Tệp bị hỏng, không mở được."]
    assert not Submission.objects.exists()


@pytest.mark.parametrize("member", MEMBERS)
def test_a_damaged_compressed_part_is_refused_as_a_damaged_file(reporter_client, one_district, member):
    response = reporter_client.post(IMPORT, {"file": upload(spoil_compressed(one_district, member))})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Tệp bị hỏng, không mở được."]
    assert not Submission.objects.exists()


def test_a_count_of_1e999_is_a_wrong_cell_not_a_crash(catalogue, period, district_a, reporter_a):
    sample = rewrite_member(
        template_workbook(period=period, units=[district_a]),
        "xl/worksheets/sheet1.xml",
        lambda body: blank_h2(body, b'<c r="H2" t="n"><v>1E999</v></c>'),  # read as inf
    )
    result = figures_import(upload=upload(sample), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == [
        "trang tính “Số liệu”, dòng 2, cột “Tử số”: Nhập số nguyên từ 0 trở lên."
    ]


def test_errors_name_the_sheet_actually_read(catalogue, period, district_a, reporter_a):
    workbook = workbook_of(template_workbook(period=period, units=[district_a]))
    workbook.active.title = "Sheet1"  # not "Số liệu": the first sheet is read
    workbook.active.cell(3, COLUMN["Giá trị"], 120)
    result = figures_import(upload=upload(to_bytes(workbook)), period=period, by=reporter_a)
    assert [str(e) for e in result.errors] == [
        "trang tính “Sheet1”, dòng 3, cột “Giá trị”: Tỷ lệ phần trăm phải từ 0 đến 100."
    ]


@settings(max_examples=25, **QUICK)
@given(data=st.data())
def test_the_import_raises_nothing_but_a_refusal_whatever_the_file(two_districts, period, secretariat, data):
    """Any damage, any cell anywhere: a result or WorkbookRejected, and a refusal saves nothing."""
    if data.draw(st.booleans()):
        sample = data.draw(damaged(two_districts))
    else:
        workbook = filled(two_districts)
        sheet = workbook.active
        for _ in range(data.draw(st.integers(1, 6))):
            row, column = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 14))
            sheet.cell(row, column, data.draw(ANY_CELL))
        sample = to_bytes(workbook)
    with rolled_back():
        before = snapshot()
        try:
            result = figures_import(upload=upload(sample), period=period, by=secretariat)
        except WorkbookRejected as exc:
            assert str(exc)
            assert snapshot() == before
            return
        if not result.ok:
            assert snapshot() == before
            for error in result.errors:
                assert error.row and str(error).startswith(f"trang tính “{error.sheet}”, dòng {error.row}")
