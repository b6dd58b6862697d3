"""What an attack on the portal in production mode found: password spraying, a client picking its
own address, blank passwords, private pages kept in caches, the language cookie, the favicon.

Sign-in attempts go through the real login form, each from a fresh browser at a given address.
The throttle reads the real clock (django-axes), so `wait` dates its records back instead.
"""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import F, Sum
from django.test import Client

from conftest import PASSWORD
from units.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WRONG = "sai-mat-khau"
SIGNED_IN, REFUSED, PAUSED = 302, 200, 429  # what the login form answers


def sign_in(username: str, password: str, ip: str, **headers):
    return Client().post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def attempt(username: str, password: str, ip: str, **headers) -> int:
    return sign_in(username, password, ip, **headers).status_code


def wait(seconds: float) -> None:
    """Let `seconds` pass for the sign-in throttle."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(seconds=seconds))


def failures_recorded(**where) -> int:
    return AccessAttempt.objects.filter(**where).aggregate(n=Sum("failures_since_start"))["n"] or 0


def wait_out_the_slow_down(settings) -> None:
    wait(settings.LOGIN_SLOW_DOWN_SECONDS + 1)


def wrong_passwords(settings, count: int, *, names: list[str], ips: list[str], slowed_from: int) -> None:
    """`count` wrong passwords, cycling through `names` and `ips`, each try waiting out the
    slow-down pause once `slowed_from` failures are counted (but never the lock)."""
    for n in range(count):
        if n >= slowed_from:
            wait_out_the_slow_down(settings)
        answer = attempt(names[n % len(names)], WRONG, ips[n % len(ips)])
        assert answer == (PAUSED if n + 1 >= slowed_from else REFUSED), (n, answer)


# --- 1. Password spraying: limits per user name across addresses and per address across names ---


def test_spraying_three_passwords_on_eleven_accounts_from_one_address_is_stopped(settings):
    accounts = [UserFactory(username=f"canbo.xa{n:02d}").username for n in range(11)]
    responses = [
        sign_in(name, password, "10.0.0.9") for name in accounts for password in ("Matkhau@2025", "12345678aA", WRONG)
    ]
    answers = [response.status_code for response in responses]
    first_pause = answers.index(PAUSED)
    assert first_pause == settings.LOGIN_ADDRESS_SLOW_DOWN_FROM - 1  # the 10th wrong password
    assert set(answers[:first_pause]) == {REFUSED} and set(answers[first_pause:]) == {PAUSED}
    paused = responses[first_pause]
    assert paused.context["pause_reason"] == "address" and paused.context["slowed_down"]
    assert re.search(r"\b1 phút", paused.content.decode())
    assert failures_recorded() == 10  # the other 23 passwords were never tried
    # The owner of an account, at their own computer, signs in meanwhile.
    assert attempt(accounts[-1], PASSWORD, "10.0.0.10") == SIGNED_IN


def test_an_address_slows_down_from_ten_wrong_passwords_across_user_names(settings):
    ip = "10.0.0.9"
    names = [UserFactory().username for _ in range(4)]
    wrong_passwords(settings, 9, names=names, ips=[ip], slowed_from=10)
    assert attempt(UserFactory().username, PASSWORD, ip) == SIGNED_IN  # 9: full speed
    locked = sign_in(names[0], WRONG, ip)
    assert locked.status_code == PAUSED  # the 10th is checked, then the address waits a minute
    assert re.search(r"\b1 phút", locked.content.decode())
    late = UserFactory().username
    assert attempt(late, PASSWORD, ip) == PAUSED  # even a right password waits
    wait(settings.LOGIN_SLOW_DOWN_SECONDS - 1)
    assert attempt(late, PASSWORD, ip) == PAUSED
    wait(2)
    assert attempt(late, PASSWORD, ip) == SIGNED_IN


def test_an_address_locks_at_twenty_wrong_passwords_across_user_names(settings):
    ip = "10.0.0.9"
    names = [UserFactory().username for _ in range(7)]
    own = UserFactory(username="ke.tan.cong").username  # the sprayer's own account
    wrong_passwords(settings, 19, names=names, ips=[ip], slowed_from=10)
    wait_out_the_slow_down(settings)
    assert attempt(own, PASSWORD, ip) == SIGNED_IN  # 19: still in, and the address is not cleared by it
    wait_out_the_slow_down(settings)
    locked = sign_in(names[0], WRONG, ip)
    assert locked.status_code == PAUSED  # the 20th
    assert locked.context["pause_reason"] == "address" and not locked.context["slowed_down"]
    assert "15 phút" in locked.content.decode()
    wait_out_the_slow_down(settings)
    assert attempt(UserFactory().username, PASSWORD, ip) == PAUSED  # locked, not slowed down
    assert attempt(names[0], PASSWORD, "10.0.0.10") == SIGNED_IN  # the others, at their own desks
    wait(settings.AXES_COOLOFF_TIME.total_seconds())
    assert attempt(own, PASSWORD, ip) == SIGNED_IN


def test_a_user_name_slows_down_from_six_wrong_passwords_from_any_addresses(settings, reporter_a):
    name = reporter_a.username
    wrong_passwords(settings, 5, names=[name], ips=[f"10.0.1.{n}" for n in range(5)], slowed_from=6)
    # 5 is the limit of one desk: a person mistyping at one computer never slows their name down elsewhere.
    assert attempt(name, PASSWORD, "10.0.2.1") == SIGNED_IN
    assert attempt(name, WRONG, "10.0.1.5") == PAUSED  # the 6th is checked, then the name waits a minute
    assert attempt(name, PASSWORD, "10.0.2.1") == PAUSED
    wait(settings.LOGIN_SLOW_DOWN_SECONDS - 1)
    assert attempt(name, PASSWORD, "10.0.2.1") == PAUSED
    wait(2)
    assert attempt(name, PASSWORD, "10.0.2.1") == SIGNED_IN


def test_a_user_name_locked_from_many_addresses_cannot_sign_in_from_another(settings, reporter_a, reporter_b):
    name = reporter_a.username
    ips = [f"10.0.1.{n}" for n in range(10)]
    wrong_passwords(settings, 9, names=[name], ips=ips, slowed_from=6)
    wait_out_the_slow_down(settings)
    assert attempt(name, PASSWORD, "10.0.2.1") == SIGNED_IN  # 9: still in
    wait_out_the_slow_down(settings)
    locked = sign_in(name, WRONG, ips[9])
    assert locked.status_code == PAUSED  # the 10th
    assert locked.context["pause_reason"] == "username" and not locked.context["slowed_down"]
    wait_out_the_slow_down(settings)
    assert attempt(name, PASSWORD, "10.0.2.1") == PAUSED  # locked from everywhere
    assert attempt(name, PASSWORD, "10.0.2.2") == PAUSED
    # A colleague with their own account signs in, at another computer or at that one.
    assert attempt(reporter_b.username, PASSWORD, "10.0.2.2") == SIGNED_IN
    assert attempt(reporter_b.username, PASSWORD, "10.0.2.1") == SIGNED_IN
    wait(settings.AXES_COOLOFF_TIME.total_seconds())
    assert attempt(name, PASSWORD, "10.0.2.1") == SIGNED_IN


def test_tries_while_paused_are_not_counted(settings, reporter_a):
    """Someone hammering their paused sign-in at one computer does not push their user name to
    its own limit, which would lock out a colleague signing in correctly at another."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(reporter_a.username, WRONG, "10.0.0.1")
    for _ in range(settings.LOGIN_USERNAME_FAILURE_LIMIT):
        assert attempt(reporter_a.username, WRONG, "10.0.0.1") == PAUSED
    assert failures_recorded() == settings.AXES_FAILURE_LIMIT
    assert attempt(reporter_a.username, PASSWORD, "10.0.0.2") == SIGNED_IN


# --- 2. X-Forwarded-For only from the configured proxies ---


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", ["127.0.0.1", "::1"], "203.0.113.9"),
        ("::1", "203.0.113.9", ["127.0.0.1", "::1"], "203.0.113.9"),
        ("198.51.100.7", "203.0.113.9", ["127.0.0.1", "::1"], "198.51.100.7"),
        ("10.20.0.5", "1.1.1.1, 203.0.113.9", ["10.20.0.0/16"], "203.0.113.9"),
        ("10.21.0.5", "203.0.113.9", ["10.20.0.0/16"], "10.21.0.5"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.20.0.5", ["127.0.0.1", "10.20.0.0/16"], "203.0.113.9"),
        ("127.0.0.1", "127.0.0.1, 203.0.113.9", ["127.0.0.1"], "203.0.113.9"),
        ("127.0.0.1", "not-an-address", ["127.0.0.1"], "127.0.0.1"),
        ("127.0.0.1", "", ["127.0.0.1"], "127.0.0.1"),
    ],
    ids=[
        "local-proxy",
        "local-proxy-ipv6",
        "direct-client",
        "proxy-network",
        "outside-the-network",
        "chain-of-proxies",
        "client-claims-to-be-the-proxy",
        "garbage",
        "no-header",
    ],
)
def test_forwarded_for_counts_only_from_a_trusted_proxy(settings, rf, remote, forwarded, trusted, expected):
    from cchc_portal.security import client_ip

    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXIES = trusted
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_trusted_proxies_default_to_this_host(settings):
    assert settings.TRUSTED_PROXIES == ["127.0.0.1", "::1"]


def test_a_client_reaching_the_application_directly_cannot_pick_its_address(settings, reporter_a):
    settings.BEHIND_TLS_PROXY = True
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(reporter_a.username, WRONG, "198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert attempt(reporter_a.username, PASSWORD, "198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.99") == PAUSED


# --- 3. Blank passwords ---


@pytest.mark.parametrize("password", [" " * 10, "\t" * 12, "\u00a0" * 10, "\u3000 " * 6, ""])
def test_a_password_of_only_spaces_is_refused(password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, UserFactory(username="sonv"))
    assert "password_blank" in [error.code for error in refused.value.error_list]


def test_a_passphrase_with_spaces_is_accepted():
    validate_password("  nghe an   cchc 2025  ", UserFactory(username="sonv"))


# --- 4. Nothing private is kept in a cache ---


def test_signed_in_pages_are_not_kept_in_caches(client, login, reporter_a):
    login(reporter_a)
    for url in ("/", "/units/", "/accounts/password/", "/no-such-page/"):
        assert client.get(url)["Cache-Control"] == "private, no-store", url


def test_downloads_are_not_kept_in_caches(client, login, secretariat, catalogue):
    login(secretariat)
    response = client.get("/targets/export.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"] == "private, no-store"


def test_the_sign_in_redirect_is_not_kept_either(reporter_a):
    response = Client().post("/accounts/login/", {"username": reporter_a.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"


def test_anonymous_answers_are_left_as_the_view_made_them(client):
    assert "Cache-Control" not in client.get("/")  # a redirect to the login page: nothing private
    # The login page carries Django's own never_cache headers (it holds a CSRF token), untouched.
    assert "max-age=0" in client.get("/accounts/login/")["Cache-Control"]


# --- 6. The language cookie ---


def test_the_language_cookie_is_same_site_and_hidden_from_scripts(client, settings):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["samesite"] == "Lax" and cookie["httponly"]
    assert not cookie["secure"]  # development runs on plain http; production: see test_settings


# --- 8. The favicon ---


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    body = b"".join(icon.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00" and int.from_bytes(body[4:6], "little") >= 1  # an ICO with images


def test_pages_name_their_icon(client):
    assert '<link rel="icon" href="/static/favicon.ico">' in client.get("/accounts/login/").content.decode()
