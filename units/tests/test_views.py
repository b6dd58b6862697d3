import unicodedata

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get("/units/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_speaks_vietnamese(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "vi"
    assert "Đăng nhập" in response.content.decode()


def test_wrong_password_is_refused_in_vietnamese(client, reporter_a):
    response = client.post("/accounts/login/", {"username": "reporter.a", "password": "sai-mat-khau"})
    assert response.status_code == 200
    assert "mật khẩu chính xác" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_then_logout(client, reporter_a):
    response = client.post("/accounts/login/", {"username": "reporter.a", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # logging out is a POST
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_directory_shows_tree_by_level(tree, login, reporter_a):
    body = login(reporter_a).get("/units/").content.decode()
    for text in ["Sở Nội vụ", "Huyện Nghi Lộc", "Xã Nghi Phong", "Thị trấn Quán Hành", "Xã Diễn Kỷ", "Cấp huyện"]:
        assert text in body


def test_directory_search_without_diacritics(tree, login, reporter_a):
    response = login(reporter_a).get("/units/", {"q": "nghi phong"})
    body = response.content.decode()
    assert "Xã Nghi Phong" in body
    assert "Xã Diễn Kỷ" not in body


def test_directory_search_accepts_decomposed_text(tree, login, reporter_a):
    response = login(reporter_a).get("/units/", {"q": unicodedata.normalize("NFD", "Diễn Kỷ")})
    body = response.content.decode()
    assert "Xã Diễn Kỷ" in body and "Xã Nghi Phong" not in body


def test_directory_hides_closed_units_unless_asked(login, reporter_a, commune_b1):
    import datetime as dt

    from units.services import unit_close

    unit_close(unit=commune_b1, last_day=dt.date(2025, 6, 30))
    client = login(reporter_a)
    assert "Xã Diễn Kỷ" not in client.get("/units/").content.decode()
    body = client.get("/units/", {"q": "dien ky", "closed": "on"}).content.decode()
    assert "Xã Diễn Kỷ" in body and "30/06/2025" in body


def test_unit_page_shows_parent_children_people(tree, login, steering, reporter_a, district_a):
    body = login(steering).get("/units/429/").content.decode()
    assert "Tỉnh Thử" in body  # parent
    assert "Xã Nghi Phong" in body  # child
    assert "Reporter A" in body and "Người báo cáo" in body
    assert "Điểm chỉ đạo" in body


def test_unknown_unit_is_404(login, reporter_a):
    assert login(reporter_a).get("/units/99999/").status_code == 404


def test_english_is_available(login, reporter_a):
    client = login(reporter_a)
    client.post("/i18n/setlang/", {"language": "en", "next": "/units/"})
    body = client.get("/units/").content.decode()
    assert "Unit directory" in body


def test_english_browser_still_gets_vietnamese_by_default(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "vi"
    assert "Đăng nhập" in response.content.decode()
