"""The "Units and accounts" pages through HTTP: who may use them, the download, the upload's answers."""

import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from cchc_portal.xlsx import XLSX_CONTENT_TYPE
from conftest import PASSWORD
from units.models import Unit, UnitChange, User
from units.workbook import PEOPLE_SHEET, UNIT_SHEET, province_template

pytestmark = pytest.mark.django_db

ROLES = ["reporter_a", "unit_head_a", "steering"]


def upload(units=(), people=()) -> SimpleUploadedFile:
    book = load_workbook(io.BytesIO(province_template()))
    for sheet, rows in ((UNIT_SHEET, units), (PEOPLE_SHEET, people)):
        for row in rows:
            book[str(sheet.title)].append(list(row))
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("don-vi.xlsx", out.getvalue())


COMMUNE = ("25000", "Xã Mới", "commune", "40", "01/07/2025", None, "")
LAN = ("Nguyễn Thị Lan", "lan@xa.gov.vn", "", "", "25000", "reporter")


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("quantri", "quantri@nghean.gov.vn", PASSWORD)


def test_the_secretariat_opens_the_page_and_downloads_both_templates(client, login, secretariat):
    client = login(secretariat)
    page = client.get("/units/setup/")
    assert page.status_code == 200 and page.context["form"].fields["invite"].initial is True
    body = page.content.decode()
    assert 'href="/units/setup/template.xlsx"' in body and 'href="/units/setup/template.xlsx?filled=1"' in body
    empty = client.get("/units/setup/template.xlsx")
    assert empty.status_code == 200 and empty["Content-Type"] == XLSX_CONTENT_TYPE
    assert empty["Content-Disposition"].startswith('attachment; filename="don-vi-va-nguoi-dung-')
    assert load_workbook(io.BytesIO(empty.content))[str(UNIT_SHEET.title)].max_row == 1
    filled = client.get("/units/setup/template.xlsx", {"filled": "1"})
    units = load_workbook(io.BytesIO(filled.content))[str(UNIT_SHEET.title)]
    assert units.max_row == 1 + Unit.objects.count()


@pytest.mark.parametrize("role", ROLES)
def test_reporters_heads_and_members_may_not_download_or_upload(client, login, role, request, tree):
    client = login(request.getfixturevalue(role))
    assert client.get("/units/setup/").status_code == 403
    assert client.get("/units/setup/template.xlsx").status_code == 403
    assert client.get("/units/setup/template.xlsx?filled=1").status_code == 403
    assert client.get("/units/setup/people/").status_code == 403
    assert client.post("/units/setup/", {"file": upload([COMMUNE], [LAN])}).status_code == 403
    assert not Unit.objects.filter(code="25000").exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/units/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/units/setup/")


def test_an_upload_saves_and_says_what_it_did(client, login, secretariat, django_capture_on_commit_callbacks):
    client = login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/units/setup/", {"file": upload([COMMUNE], [LAN]), "invite": "on"}, follow=True)
    assert response.redirect_chain == [("/units/setup/", 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert "1" in message and "25000" not in message
    assert UnitChange.objects.get(unit__code="25000").changed_by == secretariat
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]


def test_without_the_box_ticked_nobody_is_invited(client, login, secretariat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(secretariat).post("/units/setup/", {"file": upload([COMMUNE], [LAN])})
    assert User.objects.filter(username="lan@xa.gov.vn").exists() and mail.outbox == []


def test_the_same_file_twice_says_there_is_no_change(client, login, secretariat):
    client = login(secretariat)
    data = upload([COMMUNE], [LAN]).read()
    client.post("/units/setup/", {"file": SimpleUploadedFile("a.xlsx", data)}, follow=True)
    again = client.post("/units/setup/", {"file": SimpleUploadedFile("a.xlsx", data)}, follow=True)
    from cchc_portal.xlsx import ImportResult
    from units.onboarding import import_summary

    assert [str(m) for m in again.context["messages"]] == [import_summary(ImportResult())]


def test_row_errors_are_listed_and_nothing_is_saved(client, login, secretariat):
    bad = ("25001", "Xã Khác", "commune", "999", "01/07/2025", None, "")
    response = login(secretariat).post("/units/setup/", {"file": upload([COMMUNE, bad], [LAN])})
    assert response.status_code == 400
    [error] = response.context["errors"]
    assert (error.sheet, error.row) == (str(UNIT_SHEET.title), 3)
    assert 'data-testid="import-errors"' in response.content.decode()
    assert not Unit.objects.filter(code__in=["25000", "25001"]).exists()


def test_a_file_that_is_no_workbook_is_refused_on_the_field(client, login, secretariat):
    response = login(secretariat).post("/units/setup/", {"file": SimpleUploadedFile("a.xlsx", b"PK nothing")})
    assert response.status_code == 200 and response.context["form"].errors["file"]


def test_a_superuser_sets_up_an_empty_portal_and_becomes_its_secretariat(client, admin):
    client.post("/accounts/login/", {"username": "quantri", "password": PASSWORD})
    assert client.get("/units/setup/").status_code == 200
    province = ("40", "Tỉnh Nghệ An", "province", "", "01/01/2008", None, "")
    me = ("Quản Trị", "QuanTri@NgheAn.gov.vn", "", "", "40", "secretariat")
    response = client.post("/units/setup/", {"file": upload([province, COMMUNE], [me, LAN])})
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.is_secretariat and admin.has_usable_password()  # found by address, password untouched
