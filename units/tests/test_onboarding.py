"""The units-and-people workbook: the template, every way a row can be wrong (and just right), and
an import that saves all or nothing, once."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from cchc_portal.xlsx import WorkbookRejected
from units import onboarding
from units.models import (
    AccountAction,
    AccountChange,
    Invitation,
    Kind,
    Role,
    RoleAssignment,
    Unit,
    UnitChange,
    UnitChangeAction,
    User,
)
from units.onboarding import import_summary, province_import
from units.tests.factories import RoleAssignmentFactory, UnitFactory, UserFactory
from units.workbook import GUIDE_TITLE, PEOPLE_SHEET, UNIT_SHEET, province_template, read_sheet

pytestmark = pytest.mark.django_db

JULY = dt.date(2025, 7, 1)
COMMUNE, DEPARTMENT, PROVINCE = (str(Kind(k).label) for k in (Kind.COMMUNE, Kind.DEPARTMENT, Kind.PROVINCE))
REPORTER, HEAD, STEERING = (str(Role(r).label) for r in (Role.REPORTER, Role.UNIT_HEAD, Role.STEERING))
UNITS, PEOPLE = str(UNIT_SHEET.title), str(PEOPLE_SHEET.title)


def col(sheet, key: str) -> str:
    return next(str(c.label) for c in sheet.columns if c.key == key)


def workbook(units=(), people=(), *, base: bytes | None = None, edit=None, name="don-vi.xlsx") -> SimpleUploadedFile:
    """A template with `units` and `people` rows appended (tuples in the columns' order)."""
    book = load_workbook(io.BytesIO(base or province_template()))
    for title, rows in ((UNITS, units), (PEOPLE, people)):
        for row in rows:
            book[title].append(list(row))
    if edit:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def run(units=(), people=(), by=None, **options):
    return province_import(upload=workbook(units, people), by=by, **options)


def places(result) -> list[tuple]:
    return [(e.sheet, e.row, e.column) for e in result.errors]


def snapshot() -> tuple:
    return (
        sorted(Unit.objects.values_list("code", "name", "kind", "parent__code", "valid_from", "valid_to", "is_pilot")),
        sorted(User.objects.values_list("username", "email", "full_name", "phone", "position", "password")),
        sorted(RoleAssignment.objects.values_list("user__username", "role", "unit__code")),
        UnitChange.objects.count(),
        AccountChange.objects.count(),
        Invitation.objects.count(),
    )


def commune(code="25000", name="Xã Thử Mới", parent="40", start=JULY, end=None, pilot=""):
    return (code, name, COMMUNE, parent, start, end, pilot)


def person(email="canbo@xa.gov.vn", unit="25000", role=REPORTER, name="Nguyễn Thị Lan", phone="", position=""):
    return (name, email, phone, position, unit, role)


# --- The template ---


def test_the_empty_template_has_the_guide_the_two_sheets_and_their_lists(tree):
    book = load_workbook(io.BytesIO(province_template()))
    assert book.sheetnames[0] == str(GUIDE_TITLE)
    assert [c.value for c in book[UNITS][1]] == [str(c.label) for c in UNIT_SHEET.columns]
    assert [c.value for c in book[PEOPLE][1]] == [str(c.label) for c in PEOPLE_SHEET.columns]
    assert book[UNITS].max_row == 1  # empty: nothing of the portal in it
    kinds = book[UNITS].data_validations.dataValidation
    assert {str(v.sqref).split(":")[0] for v in kinds} == {"C2", "G2"}  # kind, pilot
    hidden = [ws for ws in book.worksheets if ws.sheet_state == "hidden"]
    assert [c.value for c in hidden[0]["A"]] == [str(label) for _code, label in Kind.choices]
    assert [c.value for c in hidden[0]["B"] if c.value] == [str(label) for _code, label in Role.choices]
    guide = " ".join(str(c.value) for row in book[str(GUIDE_TITLE)].iter_rows() for c in row if c.value)
    for column in UNIT_SHEET.columns + PEOPLE_SHEET.columns:
        assert str(column.help) in guide


def test_the_filled_template_holds_the_units_in_force_and_their_people(tree, commune_b1):
    from units.services import unit_close

    unit_close(unit=commune_b1, last_day=dt.date(2025, 6, 30))
    lan = UserFactory(username="lan", email="Lan.Nguyen@NgheAn.gov.vn", full_name="Nguyễn Thị Lan", phone="0912")
    RoleAssignmentFactory(user=lan, role=Role.REPORTER, unit=Unit.objects.get(code="429"))
    RoleAssignmentFactory(user=UserFactory(username="no.mail"), role=Role.REPORTER, unit=Unit.objects.get(code="429"))
    book = load_workbook(io.BytesIO(province_template(filled=True)))
    codes = [row[0].value for row in book[UNITS].iter_rows(min_row=2)]
    assert codes == ["40", "40-SNV", "425", "429", "17700", "17701"]  # by path; Diễn Kỷ closed
    province = next(book[UNITS].iter_rows(min_row=2, max_row=2))
    assert [c.value for c in province][:4] == ["40", "Tỉnh Thử", PROVINCE, None]
    assert province[4].value == dt.datetime(2008, 1, 1) and province[4].number_format == "DD/MM/YYYY"
    people = [[c.value for c in row] for row in book[PEOPLE].iter_rows(min_row=2)]
    assert people == [["Nguyễn Thị Lan", "lan.nguyen@nghean.gov.vn", "0912", None, "429", REPORTER]]
    notes = [str(row[0].value) for row in book[str(GUIDE_TITLE)].iter_rows(max_row=6) if row[0].value]
    assert any(note.startswith("1 ") for note in notes)  # the role of the account without an address, left out


def test_a_filled_template_imported_again_changes_nothing(tree, secretariat):
    lan = UserFactory(username="lan", email="lan@nghean.gov.vn", full_name="Nguyễn Thị Lan", position="Chuyên viên")
    RoleAssignmentFactory(user=lan, role=Role.REPORTER, unit=Unit.objects.get(code="429"))
    UnitFactory(code="PILOT", name="Xã Điểm", parent=Unit.objects.get(code="40"), is_pilot=True, valid_from=JULY)
    before = snapshot()
    upload = SimpleUploadedFile("lan-2.xlsx", province_template(filled=True))
    result = province_import(upload=upload, by=secretariat)
    assert result.ok, [str(e) for e in result.errors]
    assert result.saved == {}
    assert import_summary(result) == import_summary(onboarding.ImportResult())
    assert snapshot() == before


# --- A first import: units, people, roles, the record, the paths, the invitations ---


def test_a_first_import_creates_units_under_parents_defined_further_down(tree, secretariat):
    units = [
        commune("25001", "Phường Trường Vinh", parent="40-SGD"),  # its parent comes two rows later
        ("40-SGD", "Sở Giáo dục và Đào tạo", DEPARTMENT, "40", "01/03/2025", None, "Có"),
        commune("25002", "Xã Nghi Lộc", start=45839.0),  # an Excel date stored as a number: 01/07/2025
    ]
    people = [
        person("Lan@Xa.gov.vn", "25001", REPORTER, phone=912345678, position="Công chức văn phòng"),
        person("lan@xa.gov.vn", "25002", REPORTER),  # the same person, another role
        person("hung@xa.gov.vn", "25001", HEAD, name="Trần Văn Hùng"),
    ]
    result = run(units, people, by=secretariat)
    assert result.ok, [str(e) for e in result.errors]
    assert result.saved == {
        "units_created": 3,
        "people_created": 2,
        "roles_added": 3,
        "invitations": 2,
    }
    ward = Unit.objects.get(code="25001")
    assert (ward.parent.code, ward.path, ward.kind, ward.valid_from) == ("40-SGD", "/40/40-SGD/25001/", "commune", JULY)
    assert Unit.objects.search("truong vinh").get() == ward
    school = Unit.objects.get(code="40-SGD")
    assert (school.valid_from, school.is_pilot, school.kind) == (dt.date(2025, 3, 1), True, Kind.DEPARTMENT)
    assert Unit.objects.get(code="25002").valid_from == JULY
    lan = User.objects.get(username="lan@xa.gov.vn")
    assert (lan.email, lan.full_name, lan.phone, lan.position) == (
        "lan@xa.gov.vn",
        "Nguyễn Thị Lan",
        "912345678",
        "Công chức văn phòng",
    )
    assert not lan.has_usable_password()  # nobody typed a password for her
    assert sorted(lan.role_assignments.values_list("role", "unit__code")) == [
        ("reporter", "25001"),
        ("reporter", "25002"),
    ]
    created = UnitChange.objects.get(unit=school)
    assert (created.action, created.changed_by, created.source) == (
        UnitChangeAction.CREATED,
        secretariat,
        "don-vi.xlsx",
    )
    assert created.changes["parent"] == [None, "40"] and created.changes["valid_from"] == [None, "2025-03-01"]
    actions = sorted(AccountChange.objects.filter(user=lan).values_list("action", flat=True))
    assert actions == [AccountAction.CREATED, AccountAction.ROLE_ADDED, AccountAction.ROLE_ADDED]


def test_invitations_go_after_the_import_commits_never_inside_it(tree, secretariat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = run([commune()], [person()], by=secretariat)
    assert result.saved["invitations"] == 1
    assert mail.outbox == []  # nothing is sent while the import's transaction is open
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["canbo@xa.gov.vn"]]
    assert Invitation.objects.get().sent_at is not None


def test_no_invitation_when_not_asked_and_none_for_existing_accounts(
    tree, secretariat, django_capture_on_commit_callbacks
):
    UserFactory(username="hung", email="hung@xa.gov.vn", full_name="Trần Văn Hùng")
    with django_capture_on_commit_callbacks(execute=True):
        result = run([commune()], [person(), person("hung@xa.gov.vn", name="Trần Văn Hùng")], invite=False)
    assert result.ok and "invitations" not in result.saved and mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        result = run([], [person("hung@xa.gov.vn", role=HEAD, name="Trần Văn Hùng")], invite=True)
    assert result.saved == {"roles_added": 1} and mail.outbox == []  # Hùng's account existed


def test_a_dry_run_counts_and_saves_nothing(tree, django_capture_on_commit_callbacks):
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        result = run([commune()], [person()], dry_run=True)
    assert result.saved == {"units_created": 1, "people_created": 1, "roles_added": 1, "invitations": 1}
    assert snapshot() == before and mail.outbox == []


def test_the_same_file_twice_changes_nothing_the_second_time(tree, secretariat):
    data = workbook([commune()], [person()]).read()
    first = province_import(upload=SimpleUploadedFile("a.xlsx", data), by=secretariat)
    assert first.ok and first.saved
    before = snapshot()
    second = province_import(upload=SimpleUploadedFile("a.xlsx", data), by=secretariat)
    assert second.ok and second.saved == {}
    assert "No changes" in import_summary(second) or "Không có thay đổi" in import_summary(second)
    assert snapshot() == before


def test_a_second_round_updates_and_closes_and_deletes_nothing(tree, secretariat, commune_a1):
    lan = UserFactory(username="lan", email="lan@xa.gov.vn", full_name="Nguyen Thi Lan", phone="0912 000 111")
    RoleAssignmentFactory(user=lan, role=Role.REPORTER, unit=commune_a1)
    units = [
        ("17700", "Xã Nghi Phong (mới)", COMMUNE, "40", "01/01/2008", "30/06/2025", "x"),  # moved, renamed, closed
    ]
    result = run(units, [person("LAN@xa.gov.vn", "40-SNV", HEAD, name="Nguyễn Thị Lan")], by=secretariat)
    assert result.ok, [str(e) for e in result.errors]
    assert result.saved == {"units_updated": 1, "people_updated": 1, "roles_added": 1}
    unit = Unit.objects.get(code="17700")
    assert (unit.name, unit.parent.code, unit.valid_to, unit.is_pilot, unit.path) == (
        "Xã Nghi Phong (mới)",
        "40",
        dt.date(2025, 6, 30),
        True,
        "/40/17700/",
    )
    change = UnitChange.objects.get(unit=unit)
    assert change.action == UnitChangeAction.UPDATED
    assert change.changes == {
        "name": ["Xã Nghi Phong", "Xã Nghi Phong (mới)"],
        "parent": ["429", "40"],
        "valid_to": [None, "2025-06-30"],
        "is_pilot": [False, True],
    }
    lan.refresh_from_db()
    assert (lan.full_name, lan.phone, lan.username) == ("Nguyễn Thị Lan", "0912 000 111", "lan")  # empty phone: kept
    assert lan.role_assignments.count() == 2  # the role left out of the file stays
    assert Unit.objects.filter(code="17701").exists()  # a unit left out of the file stays
    assert AccountChange.objects.get(user=lan, action=AccountAction.UPDATED).changes == {
        "full_name": ["Nguyen Thi Lan", "Nguyễn Thị Lan"]
    }


def test_one_bad_row_leaves_the_database_untouched(tree, secretariat, django_capture_on_commit_callbacks):
    units = [commune(code=f"2600{i}", name=f"Xã {i}") for i in range(5)] + [commune(code="26009", parent="999")]
    people = [person(f"cb{i}@xa.gov.vn", f"2600{i}") for i in range(5)]
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        result = run(units, people, by=secretariat)
    assert places(result) == [(UNITS, 7, col(UNIT_SHEET, "parent"))]
    assert snapshot() == before and mail.outbox == []


def test_the_workbook_is_checked_before_anything_else(tree):
    with pytest.raises(WorkbookRejected):
        province_import(upload=SimpleUploadedFile("x.xlsx", b"not a workbook"), by=None)


# --- Every way a unit row can be wrong, next to the way it is right ---


def test_a_missing_parent_names_sheet_row_and_column(tree):
    units = [commune(code=f"2700{i}") for i in range(10)] + [commune(code="27010", parent="999")]
    result = run(units)
    assert places(result) == [(UNITS, 12, col(UNIT_SHEET, "parent"))]
    assert "999" in result.errors[0].message
    text = str(result.errors[0])
    assert UNITS in text and "12" in text and col(UNIT_SHEET, "parent") in text


@pytest.mark.parametrize(
    ("code", "ok"),
    [("25000", True), ("40-SGD.2_b", True), ("A" * 20, True), ("A" * 21, False), ("Xã-1", False), ("-25", False)],
)
def test_codes_are_those_a_url_can_carry(tree, code, ok):
    result = run([commune(code=code)])
    assert result.ok is ok, [str(e) for e in result.errors]
    if not ok:
        assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "code"))]


def test_a_page_name_is_no_unit_code(tree):
    assert places(run([commune(code="setup")])) == [(UNITS, 2, col(UNIT_SHEET, "code"))]
    assert run([commune(code="setup2")]).ok


def test_a_code_twice_in_the_file_is_refused(tree):
    result = run([commune(code="25000"), commune(code="25001"), commune(code="25000", name="Xã Khác")])
    assert places(result) == [(UNITS, 4, col(UNIT_SHEET, "code"))]
    assert "2" in result.errors[0].message  # where the first one is


def test_required_cells_and_unknown_kinds(tree):
    result = run([("25000", "", "Thôn", "40", None, None, "")])
    assert places(result) == [
        (UNITS, 2, col(UNIT_SHEET, "name")),
        (UNITS, 2, col(UNIT_SHEET, "kind")),
        (UNITS, 2, col(UNIT_SHEET, "valid_from")),
    ]


@pytest.mark.parametrize("kind", ["commune", "Xã", "xa", "Commune (xã)", "PHƯỜNG", "Đặc khu"])
def test_a_kind_is_read_by_label_or_code_ignoring_case_and_diacritics(tree, kind):
    result = run([("25000", "Đơn vị", kind, "40", JULY, None, "")])
    assert result.ok, [str(e) for e in result.errors]


@pytest.mark.parametrize(
    ("start", "ok"),
    [("01/07/2025", True), ("1/7/2025", True), ("01.07.2025", True), (dt.datetime(2025, 7, 1), True)]
    + [("31/06/2025", False), ("2025-07-01", False), ("07/2025", False), ("mùng 1", False)],
)
def test_dates_are_dd_mm_yyyy_or_excel_dates(tree, start, ok):
    result = run([commune(start=start)])
    assert result.ok is ok
    if ok:
        assert Unit.objects.get(code="25000").valid_from == JULY
    else:
        assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "valid_from"))]


@pytest.mark.parametrize(("end", "ok"), [("30/06/2025", False), ("01/07/2025", True), ("02/07/2025", True)])
def test_the_last_day_is_not_before_the_first(tree, end, ok):
    result = run([commune(start="01/07/2025", end=end)])
    assert result.ok is ok
    if not ok:
        assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "valid_to"))]


@pytest.mark.parametrize(("pilot", "expected"), [("Có", True), ("x", True), ("", False), ("Không", False), ("?", None)])
def test_pilot_is_yes_or_no(tree, pilot, expected):
    result = run([commune(pilot=pilot)])
    if expected is None:
        assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "is_pilot"))]
    else:
        assert result.ok and Unit.objects.get(code="25000").is_pilot is expected


def test_only_the_province_stands_without_a_parent(tree):
    result = run([("41", "Tỉnh Khác", PROVINCE, "40", JULY, None, ""), commune(parent="")])
    assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "parent")), (UNITS, 3, col(UNIT_SHEET, "parent"))]
    assert run([("41", "Tỉnh Khác", PROVINCE, "", JULY, None, ""), commune(parent="41")]).ok


def test_a_unit_under_itself_or_in_a_loop_is_refused(tree):
    assert places(run([commune(parent="25000")])) == [(UNITS, 2, col(UNIT_SHEET, "parent"))]
    loop = run([commune("25000", parent="25001"), commune("25001", parent="25002"), commune("25002", parent="25000")])
    assert places(loop) == [(UNITS, 2, col(UNIT_SHEET, "parent"))]  # said once, on the loop's first row
    assert "25000 → 25001 → 25002 → 25000" in loop.errors[0].message
    chain = run([commune("25000", parent="25001"), commune("25001", parent="25002"), commune("25002", parent="40")])
    assert chain.ok


def test_a_loop_through_a_unit_already_in_the_portal_is_refused(tree):
    # Sở Nội vụ (in the portal, under the province) moved under a new unit placed under Sở Nội vụ.
    units = [("40-SNV", "Sở Nội vụ", DEPARTMENT, "40-X", JULY, None, ""), commune("40-X", parent="40-SNV")]
    result = run(units)
    assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "parent"))]
    assert Unit.objects.get(code="40-SNV").parent.code == "40"


def test_formulas_are_refused_where_values_belong(tree):
    def edit(book):
        book[UNITS]["B2"] = '=CONCATENATE("Xã ";"Mới")'

    result = province_import(upload=workbook([commune()], edit=edit), by=None)
    assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "name"))]


def test_a_sheet_missing_or_with_other_columns_is_refused_whole(tree):
    def drop(book):
        del book[PEOPLE]

    assert places(province_import(upload=workbook(edit=drop), by=None)) == [(PEOPLE, None, None)]

    def reorder(book):
        book[UNITS]["A1"], book[UNITS]["B1"] = book[UNITS]["B1"].value, book[UNITS]["A1"].value

    assert places(province_import(upload=workbook(edit=reorder), by=None)) == [(UNITS, 1, None)]


def test_an_english_workbook_is_read_too(tree):
    from django.utils import translation

    with translation.override("en"):
        data = province_template()
    book = load_workbook(io.BytesIO(data))
    sheet = book["Units"]
    sheet.append(["25000", "Xã Mới", "Commune (xã)", "40", "01/07/2025", None, "No"])
    out = io.BytesIO()
    book.save(out)
    assert province_import(upload=SimpleUploadedFile("en.xlsx", out.getvalue()), by=None).ok


def test_too_many_rows_are_refused(tree, monkeypatch):
    import units.workbook

    monkeypatch.setattr(units.workbook, "MAX_ROWS", 3)
    assert run([commune(code=f"2500{i}") for i in range(3)]).ok
    result = run([commune(code=f"2600{i}") for i in range(4)])
    assert places(result) == [(UNITS, 5, None)]


def test_invisible_characters_are_refused_in_names(tree):
    result = run([commune(name="Xã\u200b Mới")])
    assert places(result) == [(UNITS, 2, col(UNIT_SHEET, "name"))]


# --- Every way a people row can be wrong, next to the way it is right ---


@pytest.mark.parametrize(
    ("email", "ok"), [("lan@xa.gov.vn", True), ("Lan.Nguyen+cchc@XA.gov.vn", True), ("lan@", False), ("lan", False)]
)
def test_e_mail_addresses_are_checked(tree, email, ok):
    result = run([commune()], [person(email)])
    assert result.ok is ok
    if ok:
        assert User.objects.get(username=email.lower()).email == email.lower()
    else:
        assert places(result) == [(PEOPLE, 2, col(PEOPLE_SHEET, "email"))]


def test_the_same_role_twice_is_refused_but_two_roles_are_one_person(tree):
    result = run([commune()], [person(), person(role=HEAD), person("CANBO@xa.gov.vn")])
    assert places(result) == [(PEOPLE, 4, col(PEOPLE_SHEET, "role"))]
    assert run([commune()], [person(), person(role=HEAD)]).saved["people_created"] == 1


def test_one_address_with_two_names_is_refused(tree):
    result = run([commune()], [person(), person(role=HEAD, name="Nguyễn Thị Lan Anh")])
    assert places(result) == [(PEOPLE, 3, col(PEOPLE_SHEET, "full_name"))]


def test_one_person_with_two_phone_numbers_is_refused(tree):
    result = run([commune()], [person(phone="0912"), person(role=HEAD, phone="0913")])
    assert places(result) == [(PEOPLE, 3, col(PEOPLE_SHEET, "phone"))]
    assert run([commune()], [person(phone="0912"), person(role=HEAD, phone="")]).ok


@pytest.mark.parametrize(("phone", "ok"), [("0238 3844 123", True), ("+84 (238) 384.4123", True), ("gọi Lan", False)])
def test_phone_numbers_are_digits_and_separators(tree, phone, ok):
    result = run([commune()], [person(phone=phone)])
    assert result.ok is ok


def test_a_role_on_an_unknown_unit_or_of_an_unknown_kind_is_refused(tree):
    result = run([commune()], [person(unit="999"), person(role="Chủ tịch")])
    assert places(result) == [(PEOPLE, 2, col(PEOPLE_SHEET, "unit")), (PEOPLE, 3, col(PEOPLE_SHEET, "role"))]
    assert run([], [person(unit="429")]).ok  # a unit already in the portal


def test_no_new_role_on_a_unit_already_closed(tree, commune_a1):
    from units.services import unit_close

    today = timezone.localdate()
    unit_close(unit=commune_a1, last_day=today - dt.timedelta(days=1))
    assert places(run([], [person(unit="17700")])) == [(PEOPLE, 2, col(PEOPLE_SHEET, "unit"))]
    unit_close(unit=commune_a1, last_day=today)  # its last day: still in force
    assert run([], [person(unit="17700")]).ok


def test_a_role_on_a_unit_the_same_file_closes_is_refused(tree):
    result = run([commune(start="01/01/2025", end="30/06/2025")], [person()])
    assert places(result) == [(PEOPLE, 2, col(PEOPLE_SHEET, "unit"))]


def test_an_address_shared_by_two_accounts_in_the_portal_is_refused(tree):
    UserFactory(username="lan1", email="lan@xa.gov.vn")
    UserFactory(username="lan2", email="LAN@xa.gov.vn")
    result = run([commune()], [person("lan@xa.gov.vn")])
    assert places(result) == [(PEOPLE, 2, col(PEOPLE_SHEET, "email"))]
    assert "lan1" in result.errors[0].message and "lan2" in result.errors[0].message


def test_a_user_name_taken_by_another_address_is_refused(tree):
    UserFactory(username="lan@xa.gov.vn", email="lan.khac@xa.gov.vn")
    assert places(run([commune()], [person("lan@xa.gov.vn")])) == [(PEOPLE, 2, col(PEOPLE_SHEET, "email"))]


def test_an_existing_account_is_found_by_its_address_ignoring_case(tree):
    sonv = UserFactory(username="sonv", email="SoNV@NgheAn.gov.vn", full_name="Sở Nội vụ")
    result = run([], [person("sonv@nghean.gov.vn", "40", str(Role(Role.SECRETARIAT).label), name="Sở Nội vụ")])
    assert result.saved == {"roles_added": 1}
    assert sonv.role_assignments.get().role == Role.SECRETARIAT
    assert sonv.has_usable_password()  # untouched


def test_a_sheet_reads_its_rows_with_their_numbers(tree):
    book = load_workbook(io.BytesIO(workbook([commune()], [person()]).read()), read_only=True)
    errors = []
    rows = read_sheet(book, UNIT_SHEET, errors)
    assert errors == [] and rows[0][0] == 2 and rows[0][1]["code"] == "25000"


# --- Scale ---


def province_rows(units: int, people: int):
    rows = [("40", "Tỉnh Thử", PROVINCE, "", "01/01/2008", None, "")]
    departments = max(1, units // 8)
    rows += [(f"40-S{i:02d}", f"Sở số {i}", DEPARTMENT, "40", "01/03/2025", None, "") for i in range(departments)]
    rows += [commune(code=f"3{i:04d}", name=f"Xã Số {i}") for i in range(units - departments - 1)]
    codes = [row[0] for row in rows[1:]]
    roles = [REPORTER, HEAD, STEERING]
    people_rows = [
        person(f"nguoi{i}@nghean.gov.vn", codes[i % len(codes)], roles[i // len(codes) % 3], name=f"Người {i}")
        for i in range(people)
    ]
    return rows, people_rows


def test_150_units_and_300_people_take_a_bounded_number_of_queries(tree, secretariat, django_assert_max_num_queries):
    units, people = province_rows(150, 300)
    upload = workbook(units, people)
    with django_assert_max_num_queries(30):
        result = province_import(upload=upload, by=secretariat)
    assert result.saved == {
        "units_created": 150 - 1,  # the province is already there, as the file has it
        "people_created": 300,
        "roles_added": 300,
        "invitations": 300,
    }
    assert Unit.objects.filter(path__startswith="/40/").count() == 7 + 149
    assert Unit.objects.get(code="30000").path == "/40/30000/"
