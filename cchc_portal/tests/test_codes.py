"""Codes travel in URLs: the portal refuses a code its URLs cannot carry, and a page that meets
one saved before that rule (old data, SQL) shows it as text instead of failing for everyone."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.html import escape
from openpyxl import load_workbook

from attainment.engine import period_recompute
from cchc_portal.converters import CODE_MAX_LENGTH, CodeValidator, is_code
from conftest import PASSWORD
from targets.excel import catalogue_export, catalogue_import
from targets.models import Area, Programme, Target
from targets.tests.factories import AreaFactory
from units.models import Kind, Unit
from units.tests.factories import SuccessionEventFactory, UnitFactory, link

pytestmark = pytest.mark.django_db

BAD_TARGET = "TTHC 99"
BAD_UNIT = "40-SỞ MỚI"


def code_message() -> str:
    with translation.override("vi"):
        return str(CodeValidator.message)


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("TTHC-05", True),
        ("40-SNV", True),
        ("2021-2025", True),
        ("a.b_c-1", True),
        ("A" * CODE_MAX_LENGTH, True),  # just met
        ("A" * (CODE_MAX_LENGTH + 1), False),  # just missed
        ("TTHC 99", False),
        ("TTHC-Ố1", False),
        ("40-SỞ MỚI", False),
        ("-TTHC", False),
        ("_1", False),
        ("TTHC-05/", False),
        ("TTHC-05\n", False),
        ("", False),
    ],
)
def test_a_code_is_what_the_urls_carry(code, ok):
    assert is_code(code) is ok
    validator = CodeValidator()
    if ok:
        validator(code)
    else:
        with pytest.raises(ValidationError) as caught:
            validator(code)
        assert caught.value.code == "invalid_code"


def test_the_message_names_the_limit():
    with translation.override("en"):
        assert f" {CODE_MAX_LENGTH} " in str(CodeValidator.message)


@pytest.mark.parametrize("model", [Unit, Target, Area, Programme])
def test_every_code_in_urls_is_validated(model):
    assert any(isinstance(v, CodeValidator) for v in model._meta.get_field("code").validators)
    assert model._meta.get_field("code").max_length == CODE_MAX_LENGTH


def admin_add_form(code: str, parent: Unit) -> dict:
    return {
        "code": code,
        "name": "Sở Mới",
        "kind": Kind.DEPARTMENT,
        "parent": parent.pk,
        "valid_from": "01/07/2025",
        "valid_to": "",
    }


def test_the_admin_refuses_a_unit_code_the_urls_cannot_carry(province, login, django_user_model):
    admin = django_user_model.objects.create_superuser("quantri", password=PASSWORD)
    client = login(admin)
    response = client.post("/admin/units/unit/add/", admin_add_form(BAD_UNIT, province))
    assert response.status_code == 200
    assert escape(code_message()) in response.content.decode()
    assert not Unit.objects.filter(name="Sở Mới").exists()
    # The same unit with a code the URLs carry is saved.
    response = client.post("/admin/units/unit/add/", admin_add_form("40-SO-MOI", province))
    assert response.status_code == 302
    assert Unit.objects.get(code="40-SO-MOI").path == "/40/40-SO-MOI/"


def catalogue_with_target_code(code: str) -> bytes:
    workbook = load_workbook(io.BytesIO(catalogue_export()))
    targets = workbook["Chỉ tiêu"]
    new = [c.value for c in targets[2]]
    new[0] = code
    targets.append(new)
    workbook["Ngưỡng"].append([code, "Cấp xã", 2024, "98,5"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("code", [BAD_TARGET, "TTHC-Ố1"])
def test_the_catalogue_import_refuses_a_code_naming_sheet_row_and_column(catalogue, secretariat, code):
    data = catalogue_with_target_code(code)
    row = load_workbook(io.BytesIO(data))["Chỉ tiêu"].max_row
    with translation.override("vi"):
        result = catalogue_import(upload=SimpleUploadedFile("danh-muc.xlsx", data), by=secretariat, reason="Thử")
        errors = [(e.sheet, e.row, e.column, e.message) for e in result.errors]
    assert ("Chỉ tiêu", row, "Mã", code_message()) in errors, errors
    assert not Target.objects.filter(code=code).exists()


def test_the_catalogue_import_takes_a_good_code(catalogue, secretariat):
    data = catalogue_with_target_code("TTHC-99")
    result = catalogue_import(upload=SimpleUploadedFile("danh-muc.xlsx", data), by=secretariat, reason="Thử")
    assert result.ok, [str(e) for e in result.errors]
    assert Target.objects.filter(code="TTHC-99").exists()


def test_an_area_code_is_refused_too(db):
    area = AreaFactory.build(code="CẢI CÁCH", name="Cải cách", order=9)
    with pytest.raises(ValidationError) as caught:
        area.full_clean()
    assert caught.value.message_dict["code"] == [code_message()]


@pytest.fixture
def bad_codes(catalogue, period, submitted_a, district_a, district_b, commune_b1, secretariat, steering):
    """A target and two units whose codes were written before the rule (SQL, an old import):
    Nghi Lộc has a report waiting for review, Diễn Châu sent nothing."""
    event = SuccessionEventFactory()
    renamed = UnitFactory(code="17201", name="Xã Diễn Kỷ Mới", kind=Kind.COMMUNE, parent=district_b)
    link(event, commune_b1, renamed)
    period_recompute(period)
    Target.objects.filter(pk=catalogue["online"].pk).update(code=BAD_TARGET)
    Unit.objects.filter(pk=district_a.pk).update(code="429 CŨ")
    Unit.objects.filter(pk=district_b.pk).update(code=BAD_UNIT)
    Unit.objects.filter(pk=commune_b1.pk).update(code="17200 CŨ")
    return {"target": BAD_TARGET, "units": {"Huyện Nghi Lộc": "429 CŨ", "Huyện Diễn Châu": BAD_UNIT}}


Q = "?period=2025-Q1"
PAGES = [
    ("/", True),
    ("/units/", True),
    ("/units/?q=Huyện", True),
    ("/units/40/", True),
    ("/units/17201/", True),
    ("/targets/", True),
    ("/dashboard/" + Q, True),
    ("/dashboard/heatmap/" + Q, True),
    ("/dashboard/ranking/" + Q + "&level=district", True),
    ("/dashboard/ranking/" + Q + "&level=commune", True),
    ("/dashboard/laggards/" + Q, True),
    ("/dashboard/targets/TTHC-09/" + Q, True),
    ("/reports/review/", False),
]


@pytest.mark.parametrize(("url", "for_steering"), PAGES)
def test_pages_show_a_bad_code_in_old_data_as_text(bad_codes, login, secretariat, steering, url, for_steering):
    for user in (secretariat, steering) if for_steering else (secretariat,):
        response = login(user).get(url)
        assert response.status_code == 200, (user, url)
        body = response.content.decode()
        for name, code in bad_codes["units"].items():
            # Shown, but not as a link: its pages cannot be reached.
            assert not re.search(rf"<a [^>]*>{name}</a>", body), (user, url, name)
            assert f"/units/{escape(code)}/" not in body, (user, url, code)
            assert f"/reports/2025-Q1/{escape(code)}/" not in body, (user, url, code)
        assert f"/{escape(BAD_TARGET)}/" not in body


def test_the_bad_codes_are_shown(bad_codes, login, secretariat, steering):
    client = login(secretariat)
    assert BAD_TARGET in client.get("/targets/").content.decode()
    assert BAD_TARGET in client.get("/dashboard/" + Q).content.decode()
    directory = client.get("/units/").content.decode()
    assert "Huyện Nghi Lộc" in directory and "Huyện Diễn Châu" in directory
    assert "Huyện Nghi Lộc" in client.get("/reports/review/").content.decode()
    assert "Huyện Diễn Châu" in client.get("/dashboard/laggards/" + Q).content.decode()
    heatmap = login(steering).get("/dashboard/heatmap/" + Q).content.decode()
    assert "Huyện Nghi Lộc" in heatmap and "Huyện Diễn Châu" in heatmap


def test_the_people_of_a_unit_with_a_bad_code_still_open_their_home_page(bad_codes, login, reporter_a, unit_head_a):
    for user in (reporter_a, unit_head_a):
        response = login(user).get("/")
        assert response.status_code == 200, user
        body = response.content.decode()
        assert "Huyện Nghi Lộc" in body
        assert "unit=429" not in body  # no Excel template to fetch for a code the portal refuses
