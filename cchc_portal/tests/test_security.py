"""Login throttling, password rules, sessions, CSRF and the security headers."""

import datetime as dt
from unittest import mock

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD
from units.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def attempt(client, username, password, ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_wrong_passwords_lock_the_user_name_from_that_address(client, reporter_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, reporter_a.username, "sai-mat-khau").status_code == 200
    locked = attempt(client, reporter_a.username, "sai-mat-khau")
    assert locked.status_code == 429
    assert "Tạm khoá đăng nhập" in locked.content.decode()
    assert "15 phút" in locked.content.decode()
    # Even the right password waits out the cool-off from that address ...
    assert attempt(client, reporter_a.username, PASSWORD).status_code == 429
    # ... while a colleague at another computer still signs in, and so does another user here.
    assert attempt(Client(), reporter_a.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_a_colleague_on_the_same_address_is_not_locked_out(client, reporter_a, reporter_b, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, reporter_a.username, "sai-mat-khau")
    assert attempt(Client(), reporter_b.username, PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, reporter_a, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, reporter_a.username, "sai-mat-khau")
    assert attempt(client, reporter_a.username, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, reporter_a.username, "sai-mat-khau").status_code == 200


def test_the_cool_off_ends(client, reporter_a, settings):
    from axes.models import AccessAttempt

    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, reporter_a.username, "sai-mat-khau")
    assert attempt(client, reporter_a.username, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME)
    assert attempt(client, reporter_a.username, PASSWORD).status_code == 302


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(settings, rf):
    from cchc_portal.security import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9", REMOTE_ADDR="127.0.0.1")
    settings.BEHIND_TLS_PROXY = True
    assert client_ip(request) == "203.0.113.9"  # the client cannot pick its address by sending a header
    settings.BEHIND_TLS_PROXY = False
    assert client_ip(request) == "127.0.0.1"


@pytest.mark.parametrize(
    "password",
    ["ngan123", "1234567890123", "password1234", "baocao.nghiloc1", " " * 10],
    ids=["short", "numeric", "common", "like-the-user-name", "only-spaces"],
)
def test_weak_passwords_are_refused_in_vietnamese(password):
    user = UserFactory(username="baocao.nghiloc", full_name="Nguyễn Văn Báo")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert all(message.startswith("Mật khẩu") for message in refused.value.messages), refused.value.messages


def test_a_strong_password_is_accepted():
    validate_password("Cchc#Nghe-An-2025", UserFactory(username="sonv"))


def test_sessions_end_with_the_browser(client, reporter_a, settings, login):
    login(reporter_a)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert cookie["httponly"]


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def signed_in_at(client, moment) -> bool:
    """Whether the home page at `moment` is for a signed-in person (else: the login page)."""
    with at(moment):
        response = client.get("/")
    if response.status_code != 200:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    return response.status_code == 200


@pytest.mark.parametrize(("hours", "minutes", "signed_in"), [(7, 59, True), (8, 1, False)])
def test_a_busy_session_lasts_a_working_day(client, reporter_a, login, hours, minutes, signed_in):
    start = timezone.now()
    with at(start):
        login(reporter_a)
    end = start + dt.timedelta(hours=hours, minutes=minutes)
    moment = start + dt.timedelta(minutes=45)
    while moment < end:  # a page every 45 minutes: never idle for an hour
        assert signed_in_at(client, moment)
        moment += dt.timedelta(minutes=45)
    assert signed_in_at(client, end) is signed_in


@pytest.mark.parametrize(("minutes", "signed_in"), [(59, True), (61, False)])
def test_an_idle_session_ends_after_an_hour(client, reporter_a, login, minutes, signed_in):
    start = timezone.now()
    with at(start):
        login(reporter_a)
    last_page = start + dt.timedelta(minutes=50)
    assert signed_in_at(client, last_page)
    # Counted from the last page, not from signing in.
    assert signed_in_at(client, last_page + dt.timedelta(minutes=minutes)) is signed_in


def test_an_expired_session_asks_to_sign_in_again(client, reporter_a, login):
    login(reporter_a)
    session = client.session
    session.set_expiry(-1)
    session.save()
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_posts_without_the_csrf_token_are_refused(reporter_a, draft_a):
    strict = Client(enforce_csrf_checks=True)
    login_page = strict.get("/accounts/login/")
    assert login_page.status_code == 200
    refused = strict.post("/accounts/login/", {"username": reporter_a.username, "password": PASSWORD})
    assert refused.status_code == 403
    assert "Chưa có dữ liệu nào được lưu" in refused.content.decode()


def test_every_page_sends_the_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_person_changes_their_password_under_the_rules(client, reporter_a, login):
    client = login(reporter_a)
    page = client.get("/accounts/password/").content.decode()
    assert "Đổi mật khẩu" in page and "Ít nhất 10 ký tự" in page
    weak = client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"}
    )
    body = weak.content.decode()
    assert weak.status_code == 200 and "quá ngắn" in body and "is-invalid" in body
    wrong_old = client.post(
        "/accounts/password/",
        {"old_password": "doan-mo", "new_password1": "Cchc#Nghe-An-2025", "new_password2": "Cchc#Nghe-An-2025"},
    )
    assert wrong_old.status_code == 200
    reporter_a.refresh_from_db()
    assert reporter_a.check_password(PASSWORD)  # both refused: unchanged
    done = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "Cchc#Nghe-An-2025", "new_password2": "Cchc#Nghe-An-2025"},
        follow=True,
    )
    assert "Đã đổi mật khẩu" in done.content.decode()
    reporter_a.refresh_from_db()
    assert reporter_a.check_password("Cchc#Nghe-An-2025")
    assert client.get("/dashboard/units/429/").status_code == 200  # still signed in on this browser
