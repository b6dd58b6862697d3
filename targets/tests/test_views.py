import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import load_workbook

from targets.models import CatalogueChange, Programme, Target, Threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_catalogue(db):
    call_command("loaddata", "catalogue", verbosity=0)


OLD = {"programme": "2021-2025"}


def test_catalogue_page_for_every_signed_in_user(real_catalogue, login, reporter_a, steering):
    for user in (reporter_a, steering):
        body = login(user).get("/targets/", {**OLD, "year": 2025}).content.decode()
        assert "Danh mục chỉ tiêu" in body
        assert "CQS-05" in body and "Hồ sơ công việc" in body
        assert "Xuất Excel" not in body  # export is the secretariat's


def test_anonymous_cannot_read_the_catalogue(real_catalogue, client):
    assert client.get("/targets/").status_code == 302
    assert client.get("/targets/CQS-05/").status_code == 302


def test_catalogue_shows_thresholds_by_level_for_the_year(real_catalogue, login, reporter_a):
    response = login(reporter_a).get("/targets/", {**OLD, "area": "CQS", "year": 2025})
    body = response.content.decode()
    assert "TTHC-09" not in body  # other area filtered out
    row = body[body.index(">CQS-05<") :].split("</tr>")[0]
    assert [cell for cell in ("≥ 90%", "≥ 80%", "≥ 60%") if cell in row] == ["≥ 90%", "≥ 80%", "≥ 60%"]


def test_catalogue_filter_by_level(real_catalogue, login, reporter_a):
    body = login(reporter_a).get("/targets/", {**OLD, "level": "commune"}).content.decode()
    assert "CV-01" in body  # commune civil servants
    assert "TCBM-01" not in body  # districts only
    body = login(reporter_a).get("/targets/", {**OLD, "level": "district"}).content.decode()
    assert "TCBM-01" in body and "CV-01" not in body


def test_target_page_shows_the_roadmap(real_catalogue, login, reporter_a):
    response = login(reporter_a).get("/targets/CQS-05/")
    table = response.content.decode().split('data-testid="threshold-table"')[1].split("</table>")[0]
    commune_row = table.split("Cấp xã")[1].split("</tr>")[0]
    assert "20%" in commune_row and "60%" in commune_row
    assert login(reporter_a).get("/targets/KHONG-CO/").status_code == 404


@pytest.mark.parametrize("url", ["/targets/export.xlsx", "/targets/import/"])
def test_only_the_secretariat_exports_and_imports(real_catalogue, login, reporter_a, steering, unit_head_a, url):
    for user in (reporter_a, steering, unit_head_a):
        client = login(user)
        assert client.get(url).status_code == 403


def test_secretariat_downloads_the_catalogue(real_catalogue, login, secretariat):
    response = login(secretariat).get("/targets/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="danh-muc-chi-tieu-')
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Lĩnh vực", "Chỉ tiêu", "Ngưỡng"]


def _workbook_with(client, edit) -> SimpleUploadedFile:
    workbook = load_workbook(io.BytesIO(client.get("/targets/export.xlsx").content))
    edit(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile("danh-muc.xlsx", out.getvalue())


def test_reporter_cannot_post_an_import(real_catalogue, login, reporter_a, secretariat):
    upload = _workbook_with(login(secretariat), lambda wb: None)
    client = login(reporter_a)
    response = client.post("/targets/import/", {"file": upload, "reason": "x"})
    assert response.status_code == 403
    assert not CatalogueChange.objects.exists()


def test_import_with_errors_lists_them_and_saves_nothing(real_catalogue, login, secretariat):
    client = login(secretariat)
    upload = _workbook_with(client, lambda wb: wb["Ngưỡng"].cell(row=3, column=3, value="2o25"))
    response = client.post("/targets/import/", {"file": upload, "reason": "Cập nhật"})
    assert response.status_code == 400
    assert "trang tính “Ngưỡng”, dòng 3, cột “Từ năm”: Nhập số nguyên không âm." in response.content.decode()
    assert not CatalogueChange.objects.exists()


def test_import_requires_a_reason_and_an_xlsx(real_catalogue, login, secretariat):
    client = login(secretariat)
    response = client.post("/targets/import/", {"file": SimpleUploadedFile("a.xlsx", b"not a zip"), "reason": "x"})
    assert "Tệp không phải là sổ tính Excel (.xlsx)." in response.content.decode()
    upload = _workbook_with(client, lambda wb: None)
    response = client.post("/targets/import/", {"file": upload, "reason": ""})
    assert "Trường này là bắt buộc." in response.content.decode()


def test_successful_import_is_reported_and_recorded(real_catalogue, login, secretariat):
    client = login(secretariat)

    def edit(workbook):
        sheet = workbook["Ngưỡng"]
        for row in sheet.iter_rows(min_row=2):
            if (row[0].value, row[2].value) == ("TTHC-26-04", 2026):
                row[3].value = 96

    response = client.post(
        "/targets/import/", {"file": _workbook_with(client, edit), "reason": "Kế hoạch 2026"}, follow=True
    )
    assert "Đã nhập danh mục: thay đổi 0 lĩnh vực, 0 chỉ tiêu và 1 ngưỡng." in response.content.decode()
    assert Threshold.objects.current().get(target__code="TTHC-26-04", from_year=2026).value == Decimal("96")
    assert CatalogueChange.objects.get().reason == "Kế hoạch 2026"


@pytest.fixture
def staff_secretariat(secretariat):
    secretariat.is_staff = True
    secretariat.save()
    secretariat.user_permissions.set(Permission.objects.filter(content_type__app_label="targets"))
    return secretariat


def _admin_target_form(client, target):
    """The admin change form's current values, as the browser would post them back."""
    response = client.get(f"/admin/targets/target/{target.pk}/change/")
    form = response.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if name != "change_reason"}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (None, False)}
    formset = response.context["inline_admin_formsets"][0].formset
    data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
    for i, inline in enumerate(formset.forms):
        for name in ("id", "level", "from_year", "value"):
            value = inline[name].value()
            if value is not None:
                data[f"{formset.prefix}-{i}-{name}"] = value
        data[f"{formset.prefix}-{i}-target"] = target.pk
    return data, formset.prefix


def test_secretariat_edits_a_threshold_in_the_admin_with_a_reason(real_catalogue, login, staff_secretariat):
    client = login(staff_secretariat)
    target = Target.objects.get(code="TTHC-26-03")
    data, prefix = _admin_target_form(client, target)
    data[f"{prefix}-0-value"] = "99"

    refused = client.post(f"/admin/targets/target/{target.pk}/change/", data)
    assert refused.status_code == 200  # the reason is required
    assert Threshold.objects.current().get(target=target).value == Decimal("98")

    data["change_reason"] = "Theo Kế hoạch CCHC năm 2026"
    response = client.post(f"/admin/targets/target/{target.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    rows = Threshold.objects.filter(target=target).order_by("recorded_at")
    assert [(r.value, r.superseded_at is None) for r in rows] == [(Decimal("98"), False), (Decimal("99"), True)]
    change = CatalogueChange.objects.get(target=target)
    assert (change.changed_by, change.reason) == (staff_secretariat, "Theo Kế hoạch CCHC năm 2026")
    assert change.changes["threshold"] == ["98.00", "99.00"]


def test_a_closed_programmes_target_is_read_only_in_the_admin(real_catalogue, login, staff_secretariat):
    client = login(staff_secretariat)
    target = Target.objects.get(code="TTHC-09")
    page = client.get(f"/admin/targets/target/{target.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    data = {"title": "Sửa", "change_reason": "Thử", "programme": target.programme_id}
    assert client.post(f"/admin/targets/target/{target.pk}/change/", data).status_code == 403
    assert Target.objects.get(pk=target.pk).title == target.title
    assert not CatalogueChange.objects.exists()
    # An open programme's target next to it stays editable.
    open_target = Target.objects.get(code="TTHC-26-04")
    assert client.get(f"/admin/targets/target/{open_target.pk}/change/").context["has_change_permission"]


# --- Programmes on the catalogue pages ------------------------------------------------------------


def test_the_catalogue_opens_on_the_open_programme_with_its_levels(real_catalogue, login, reporter_a):
    body = login(reporter_a).get("/targets/").content.decode()
    programme = body.split('data-testid="programme"')[1].split("</section>")[0]
    assert "Kế hoạch cải cách hành chính nhà nước trọng tâm giai đoạn 2026-2030" in programme
    assert "Quyết định 282/QĐ-TTg" in programme and 'data-testid="programme-closed"' not in programme
    assert "TTHC-26-04" in body and not _listed(body, "CQS-05") and not _listed(body, "TTHC-09")
    header = body.split("<thead")[1].split("</thead>")[0]
    assert "Cấp huyện" not in header and "Cấp xã" in header  # no district level after 1/7/2025
    assert ">2026</span>" in header or "2026" in header


def test_a_closed_programme_is_chosen_and_shown_closed(real_catalogue, login, reporter_a):
    body = login(reporter_a).get("/targets/", {"programme": "2021-2025", "year": 2030}).content.decode()
    assert 'data-testid="programme-closed"' in body
    assert ">CQS-05<" in body and "TTHC-26-04" not in body
    header = body.split("<thead")[1].split("</thead>")[0]
    assert "Cấp huyện" in header and "2025" in header and "2030" not in header  # the year kept in the programme
    options = body.split('data-testid="programme-select"')[1].split("</select>")[0]
    assert options.index("2026-2030") < options.index("2021-2025")
    assert '<option value="2021-2025" selected>' in options


def test_each_target_shows_its_programme_and_what_it_continues(real_catalogue, login, reporter_a):
    body = login(reporter_a).get("/targets/", {"area": "TTHC"}).content.decode()
    row = body[body.index(">TTHC-26-04<") :].split("</tr>")[0]
    assert "2026-2030" in row
    continues = row.split('data-testid="continues"')[1].split("</div>")[0]
    assert '<a href="/targets/TTHC-09/">TTHC-09</a>' in continues and "2021-2025" in continues
    row = body[body.index(">TTHC-26-03<") :].split("</tr>")[0]
    assert 'data-testid="continues"' not in row  # a new target continues nothing


def test_target_pages_link_the_series_both_ways(real_catalogue, login, reporter_a):
    client = login(reporter_a)
    new = client.get("/targets/TTHC-26-04/").content.decode()
    assert '<a href="/targets/TTHC-09/">TTHC-09</a>' in new.split('data-testid="continues"')[1].split("</dd>")[0]
    table = new.split('data-testid="threshold-table"')[1].split("</table>")[0]
    assert [y for y in range(2025, 2032) if f">{y}<" in table] == [2026, 2027, 2028, 2029, 2030]
    old = client.get("/targets/TTHC-09/").content.decode()
    assert 'data-testid="programme-closed"' in old
    assert '<a href="/targets/TTHC-26-04/">TTHC-26-04</a>' in old.split('data-testid="continued-by"')[1]
    assert 'data-testid="continued-by"' not in client.get("/targets/TTHC-01/").content.decode()


def _listed(body: str, code: str) -> bool:
    """The target has a row of its own (not only a "continues" link)."""
    return f'<td class="text-nowrap"><a href="/targets/{code}/">{code}</a></td>' in body


def test_secretariat_closes_a_programme_in_the_admin_with_a_reason(real_catalogue, login, staff_secretariat):
    client = login(staff_secretariat)
    programme = Programme.objects.get(code="2026-2030")
    data = {
        "code": programme.code, "name": programme.name, "first_year": 2026, "last_year": 2030,
        "legal_sources": programme.legal_sources, "plan_documents": programme.plan_documents, "closed": "on",
        "scoring": programme.scoring, "scoring_floor": "50",
    }  # fmt: skip
    assert client.post(f"/admin/targets/programme/{programme.pk}/change/", data).status_code == 200  # no reason
    assert not Programme.objects.get(pk=programme.pk).closed
    data["change_reason"] = "Giai đoạn 2026-2030 kết thúc"
    assert client.post(f"/admin/targets/programme/{programme.pk}/change/", data).status_code == 302
    assert Programme.objects.get(pk=programme.pk).closed
    change = CatalogueChange.objects.get(programme=programme)
    assert (change.changes, change.changed_by) == ({"closed": [False, True]}, staff_secretariat)
    target = Target.objects.get(code="TTHC-26-04")
    assert not client.get(f"/admin/targets/target/{target.pk}/change/").context["has_change_permission"]
