"""The administration pages: a new account is invited instead of given a typed password, unit
edits are recorded, and the records are read-only; the e-mail settings read EMAIL_URL."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail

from conftest import PASSWORD
from units.invitations import account_status, people_list
from units.models import AccountAction, AccountChange, Invitation, Unit, UnitChange, UnitChangeAction, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("quantri", "quantri@nghean.gov.vn", PASSWORD)


@pytest.fixture
def admin_client(client, admin):
    client.post("/accounts/login/", {"username": "quantri", "password": PASSWORD})
    return client


def test_a_new_account_is_made_from_its_address_and_invited(admin_client, admin, django_capture_on_commit_callbacks):
    page = admin_client.get("/admin/units/user/add/")
    body = page.content.decode()
    assert page.status_code == 200 and 'name="password1"' not in body and 'name="email"' in body
    data = {
        "email": "Lan@Xa.gov.vn",
        "full_name": "Nguyễn Thị Lan",
        "position": "",
        "phone": "",
        "role_assignments-TOTAL_FORMS": "0",
        "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0",
        "role_assignments-MAX_NUM_FORMS": "1000",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/units/user/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    lan = User.objects.get(username="lan@xa.gov.vn")
    assert lan.email == "lan@xa.gov.vn" and not lan.has_usable_password()
    assert Invitation.objects.get(user=lan).requested_by == admin
    assert AccountChange.objects.get(user=lan).action == AccountAction.CREATED
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]
    again = admin_client.post("/admin/units/user/add/", {**data, "email": "LAN@xa.gov.vn"})
    assert again.status_code == 200 and "email" in again.context["adminform"].form.errors


def test_the_admin_action_sends_invitations_to_those_without_a_password(admin_client, reporter_a):
    waiting = User.objects.create(username="moi@xa.gov.vn", email="moi@xa.gov.vn")
    waiting.set_unusable_password()
    waiting.save()
    response = admin_client.post(
        "/admin/units/user/",
        {"action": "send_invitations", "_selected_action": [waiting.pk, reporter_a.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert list(Invitation.objects.values_list("user__username", flat=True)) == ["moi@xa.gov.vn"]
    listing = admin_client.get("/admin/units/user/").content.decode()
    assert account_status(people_list().get(pk=waiting.pk)).text in listing
    assert {m.level_tag for m in response.context["messages"]} == {"success", "warning"}


def test_only_a_superuser_types_a_password_for_someone_else(client, login, secretariat, reporter_a, admin):
    from django.contrib.auth.models import Permission

    User.objects.filter(pk=secretariat.pk).update(is_staff=True)
    secretariat.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    assert login(secretariat).get(f"/admin/units/user/{reporter_a.pk}/password/").status_code == 403
    assert login(admin).get(f"/admin/units/user/{reporter_a.pk}/password/").status_code == 200


def test_a_unit_edited_in_the_administration_pages_is_recorded(admin_client, admin, tree):
    unit = Unit.objects.get(code="17700")
    data = {
        "code": "17700",
        "name": "Xã Nghi Phong mới",
        "kind": "commune",
        "parent": Unit.objects.get(code="40").pk,
        "valid_from": "01/01/2008",
        "valid_to": "",
    }
    response = admin_client.post(f"/admin/units/unit/{unit.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    change = UnitChange.objects.get(unit=unit)
    assert change.action == UnitChangeAction.UPDATED and change.changed_by == admin and change.source == "admin"
    assert change.changes == {"name": ["Xã Nghi Phong", "Xã Nghi Phong mới"], "parent": ["429", "40"]}
    assert Unit.objects.get(code="17700").path == "/40/17700/"


@pytest.mark.parametrize("page", ["unitchange", "accountchange", "invitation"])
def test_the_records_are_read_only(admin_client, page):
    assert admin_client.get(f"/admin/units/{page}/").status_code == 200
    assert admin_client.get(f"/admin/units/{page}/add/").status_code == 403


# --- E-mail settings, read as a server would, in a fresh interpreter ---

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL, "
    "s.INVITATION_TIMEOUT_DAYS, s.PASSWORD_RESET_MAILS_PER_HOUR)"
)


def settings_with(**env) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEFAULT_FROM", "INVITATION_"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "cchc_portal.settings", "DJANGO_DEBUG": "true", **env})
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_mail_is_printed_to_the_console_unless_a_mail_server_is_configured():
    backend, *_rest = settings_with()
    assert backend == "django.core.mail.backends.console.EmailBackend"


def test_email_url_configures_the_mail_server():
    out = settings_with(
        EMAIL_URL="smtp+tls://cchc%40nghean.gov.vn:mat-khau@mail.nghean.gov.vn:587",
        DEFAULT_FROM_EMAIL="Cổng CCHC <cchc@nghean.gov.vn>",
        INVITATION_TIMEOUT_DAYS="10",
    )
    assert out[:5] == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.nghean.gov.vn",
        "587",
        "cchc@nghean.gov.vn",
        "True",
    ]
    assert out[-2:] == ["10", "3"]
    assert "<cchc@nghean.gov.vn>" in out
