"""Scripted installs: province_template, import_province and invite on the command line."""

import io
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from units.models import Invitation, Unit, UnitChange, User
from units.tests.factories import UserFactory
from units.workbook import PEOPLE_SHEET, UNIT_SHEET

pytestmark = pytest.mark.django_db

COMMUNE = ("25000", "Xã Mới", "commune", "40", "01/07/2025", None, "")
LAN = ("Nguyễn Thị Lan", "lan@xa.gov.vn", "", "", "25000", "reporter")


def command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def filled(tmp_path: Path, units=(), people=()) -> Path:
    template = tmp_path / "mau.xlsx"
    command("province_template", str(template))
    book = load_workbook(template)
    for sheet, rows in ((UNIT_SHEET, units), (PEOPLE_SHEET, people)):
        for row in rows:
            book[str(sheet.title)].append(list(row))
    path = tmp_path / "tinh.xlsx"
    book.save(path)
    return path


def test_province_template_writes_an_empty_or_a_filled_workbook(tmp_path, tree):
    command("province_template", str(tmp_path / "trong.xlsx"))
    command("province_template", str(tmp_path / "day.xlsx"), "--filled")
    assert load_workbook(tmp_path / "trong.xlsx")[str(UNIT_SHEET.title)].max_row == 1
    assert load_workbook(tmp_path / "day.xlsx")[str(UNIT_SHEET.title)].max_row == 1 + 7


def test_import_province_saves_and_invites_when_asked(tmp_path, tree, secretariat, django_capture_on_commit_callbacks):
    path = filled(tmp_path, [COMMUNE], [LAN])
    with django_capture_on_commit_callbacks(execute=True):
        out, err = command("import_province", str(path), "--invite", "--by", "sonv")
    assert err == "" and "1" in out
    assert UnitChange.objects.get(unit__code="25000").changed_by == secretariat
    assert UnitChange.objects.get(unit__code="25000").source == "tinh.xlsx"
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]


def test_a_dry_run_saves_nothing(tmp_path, tree, django_capture_on_commit_callbacks):
    path = filled(tmp_path, [COMMUNE], [LAN])
    with django_capture_on_commit_callbacks(execute=True):
        out, _err = command("import_province", str(path), "--dry-run", "--invite")
    assert out.strip()
    assert not Unit.objects.filter(code="25000").exists() and not User.objects.filter(email="lan@xa.gov.vn").exists()
    assert mail.outbox == []


def test_errors_are_printed_in_the_pages_words_and_the_command_fails(tmp_path, tree):
    bad = ("25001", "Xã Khác", "commune", "999", "01/07/2025", None, "")
    path = filled(tmp_path, [COMMUNE, bad, ("25002", "", "commune", "40", "01/07/2025", None, "")])
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_province", str(path), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and "999" in lines[0] and str(UNIT_SHEET.title) in lines[0]
    assert "2" in str(raised.value)
    assert not Unit.objects.filter(code="25000").exists()


def test_the_command_exits_non_zero_on_error(tmp_path, tree):
    import subprocess
    import sys

    path = filled(tmp_path, [("25001", "Xã Khác", "commune", "999", "01/07/2025", None, "")])
    # A fresh process on an empty database file: the error is the same, the exit status 1.
    env = {"DJANGO_DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"}
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_province", str(path)], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1 and "999" in done.stderr


def test_a_file_that_is_no_workbook_or_no_file(tmp_path, tree):
    (tmp_path / "x.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(CommandError):
        command("import_province", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError):
        command("import_province", str(tmp_path / "khong-co.xlsx"))
    with pytest.raises(CommandError):
        command("import_province", str(filled(tmp_path)), "--by", "khong-co-ai")


def invited(username: str) -> User:
    user = UserFactory(username=username, email=username)
    user.set_unusable_password()
    user.save()
    return user


def test_invite_one_address_or_everyone_pending(tree, reporter_a, django_capture_on_commit_callbacks):
    lan, hung = invited("lan@xa.gov.vn"), invited("hung@xa.gov.vn")
    with django_capture_on_commit_callbacks(execute=True):
        command("invite", "--email", "LAN@xa.gov.vn")
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]
    with django_capture_on_commit_callbacks(execute=True):
        out, _err = command("invite", "--pending")
    assert [m.to for m in mail.outbox][1:] == [["hung@xa.gov.vn"]]  # Lan's invitation is still live
    assert "1" in out
    assert Invitation.objects.filter(user=lan).count() == 1 and Invitation.objects.filter(user=hung).count() == 1


def test_invite_refuses_an_unknown_address_or_an_account_with_a_password(tree, reporter_a):
    with pytest.raises(CommandError):
        command("invite", "--email", "khong-co@xa.gov.vn")
    User.objects.filter(pk=reporter_a.pk).update(email="bc@xa.gov.vn")
    with pytest.raises(CommandError):
        command("invite", "--email", "bc@xa.gov.vn")
    with pytest.raises(CommandError):
        command("invite")  # one of --email or --pending
