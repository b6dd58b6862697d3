"""Who may do what, URL by URL: one table for the whole portal, checked for every role.

Each row of ACCESS is one request (method and URL) and what each role must get back. Every
(row, role) pair is its own test. A POST row also names, in SCENARIOS, the state it needs, the
form it sends and what it changes in the database: an allowed POST must change it, a denied one
must leave it exactly as it was. `test_every_route_is_in_the_table` fails when a URL pattern
appears that the table does not cover, so the table cannot silently go stale.

The world (see the `world` fixture): Tỉnh Thử with Huyện Nghi Lộc (unit A, "429") and Huyện
Diễn Châu (unit B, "425"), the three-target catalogue, the open quarter 2025-Q1, a draft report
for A and for B with one evidence document each ({evidence_a}, {evidence_b}), a quarterly
report still being built ({export}) and a finished one ({export_done}).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from openpyxl import load_workbook

from conftest import COMPLETE, PASSWORD
from dashboard.models import ExportStatus, ReportExport
from reports.evidence import evidence_add
from reports.excel import template_workbook
from reports.models import Evidence, Period, Submission
from reports.services import submission_approve, submission_for, submission_save_figures, submission_submit
from targets.excel import catalogue_export
from targets.models import CatalogueChange, Threshold
from units.models import AccountAction, AccountChange, Invitation, Unit, User
from units.workbook import PEOPLE_SHEET, UNIT_SHEET, province_template

pytestmark = pytest.mark.django_db

# What a role gets back.
OK = 200  # allowed: the page or the file
DONE = 302  # allowed: redirected onwards (a POST that did its work; /accounts/login/ when already signed in)
LOGIN = "login"  # denied: 302 to /accounts/login/?next=<this URL>
ADMIN = "admin"  # denied: 302 to the admin's login (the admin is for is_staff users; none of these roles is)
DENY = 403  # denied: signed in, but the role may not
HIDE = 404  # denied: not their unit (or not that unit's document), so for them it does not exist
REJECT = 400  # the page is theirs, but every row of the upload is refused: the rows are another unit's
VERB = 405  # this method is taken from nobody
DENIED = {LOGIN, ADMIN, DENY, HIDE, REJECT, VERB}

# The columns of ACCESS, in order: fixtures of conftest.py (unit A is Huyện Nghi Lộc "429", unit B Diễn Châu "425").
ROLES = ("anonymous", "reporter_a", "reporter_b", "unit_head_a", "steering", "secretariat")
GET, POST = "GET", "POST"
Q = "/reports/2025-Q1"  # the open quarter's reports
P = "?period=2025-Q1"  # the dashboard's period

# fmt: off
ACCESS = [
    # method URL                                             anon   rep_a  rep_b  head_a steer  secret.
    # Signing in and out, language
    (GET,  "/",                                              LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/accounts/login/",                               OK,    DONE,   DONE,   DONE,   DONE,   DONE),
    (GET,  "/accounts/logout/",                              VERB,  VERB,   VERB,   VERB,   VERB,   VERB),
    (POST, "/accounts/logout/",                              DONE,  DONE,   DONE,   DONE,   DONE,   DONE),
    (GET,  "/accounts/password/",                            LOGIN, OK,     OK,     OK,     OK,     OK),
    (POST, "/accounts/password/",                            LOGIN, DONE,   DONE,   DONE,   DONE,   DONE),
    (GET,  "/accounts/password/done/",                       LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/favicon.ico",                                   301,   301,    301,    301,    301,    301),
    (POST, "/i18n/setlang/",                                 DONE,  DONE,   DONE,   DONE,   DONE,   DONE),
    # Units directory: every signed-in official reads every unit
    (GET,  "/units/",                                        LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/units/429/",                                    LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/units/425/",                                    LOGIN, OK,     OK,     OK,     OK,     OK),
    # Setting up the province: the units-and-people workbook, the accounts and their invitations
    # The user guide: prose without data, readable before signing in (a person locked out reads it)
    (GET,  "/huong-dan/",                                    OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/huong-dan/can-bo-bao-cao/",                     OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/huong-dan/so-noi-vu/",                          OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/huong-dan/lanh-dao-don-vi/",                    OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/huong-dan/ban-chi-dao/",                        OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/units/setup/",                                  LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (POST, "/units/setup/",                                  LOGIN, DENY,   DENY,   DENY,   DENY,   DONE),
    (GET,  "/units/setup/template.xlsx",                     LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (GET,  "/units/setup/template.xlsx?filled=1",            LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (GET,  "/units/setup/people/",                           LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (POST, "/units/setup/people/{invitee}/invite/",          LOGIN, DENY,   DENY,   DENY,   DENY,   DONE),
    # Invitations and forgotten passwords: anyone, and the same answer whoever asks (a bad link's page says so)
    (GET,  "/accounts/password/reset/",                      OK,    OK,     OK,     OK,     OK,     OK),
    (POST, "/accounts/password/reset/",                      DONE,  DONE,   DONE,   DONE,   DONE,   DONE),
    (GET,  "/accounts/password/reset/done/",                 OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/accounts/password/reset/MQ/bad-token/",         OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/accounts/password/reset/complete/",             OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/accounts/invitation/MQ/bad-token/",             OK,    OK,     OK,     OK,     OK,     OK),
    (GET,  "/accounts/invitation/done/",                     OK,    OK,     OK,     OK,     OK,     OK),
    # Target catalogue: read by all, exported and imported by the secretariat
    (GET,  "/targets/",                                      LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/targets/TTHC-08/",                              LOGIN, OK,     OK,     OK,     OK,     OK),
    (GET,  "/targets/export.xlsx",                           LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (GET,  "/targets/import/",                               LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (POST, "/targets/import/",                               LOGIN, DENY,   DENY,   DENY,   DENY,   DONE),
    # Reports: review queue, Excel template and import
    (GET,  "/reports/review/",                               LOGIN, DENY,   DENY,   DENY,   DENY,   OK),
    (GET,  f"{Q}/template.xlsx?unit=429",                    LOGIN, OK,     HIDE,   HIDE,   HIDE,   OK),
    (GET,  f"{Q}/template.xlsx?unit=425",                    LOGIN, HIDE,   OK,     HIDE,   HIDE,   OK),
    (GET,  f"{Q}/import/",                                   LOGIN, OK,     OK,     DENY,   DENY,   OK),
    (POST, f"{Q}/import/",                                   LOGIN, DONE,   REJECT, DENY,   DENY,   DONE),
    # A unit's report: read by its people and the province, written by its reporters, reviewed by the secretariat
    (GET,  f"{Q}/429/",                                      LOGIN, OK,     HIDE,   OK,     OK,     OK),
    (GET,  f"{Q}/425/",                                      LOGIN, HIDE,   OK,     HIDE,   OK,     OK),
    (POST, f"{Q}/429/save/",                                 LOGIN, DONE,   HIDE,   DENY,   DENY,   DENY),
    (POST, f"{Q}/425/save/",                                 LOGIN, HIDE,   DONE,   HIDE,   DENY,   DENY),
    (POST, f"{Q}/429/approve/",                              LOGIN, DENY,   HIDE,   DENY,   DENY,   DONE),
    (POST, f"{Q}/429/return/",                               LOGIN, DENY,   HIDE,   DENY,   DENY,   DONE),
    (POST, f"{Q}/429/reopen/",                               LOGIN, DENY,   HIDE,   DENY,   DENY,   DONE),
    # Evidence documents, also fetched through the other unit's URL
    (POST, f"{Q}/429/evidence/",                             LOGIN, DONE,   HIDE,   DENY,   DENY,   DENY),
    (POST, f"{Q}/425/evidence/",                             LOGIN, HIDE,   DONE,   HIDE,   DENY,   DENY),
    (GET,  f"{Q}/429/evidence/{{evidence_a}}/",              LOGIN, OK,     HIDE,   OK,     OK,     OK),
    (GET,  f"{Q}/425/evidence/{{evidence_b}}/",              LOGIN, HIDE,   OK,     HIDE,   OK,     OK),
    (GET,  f"{Q}/425/evidence/{{evidence_a}}/",              LOGIN, HIDE,   HIDE,   HIDE,   HIDE,   HIDE),
    (POST, f"{Q}/429/evidence/{{evidence_a}}/remove/",       LOGIN, DONE,   HIDE,   DENY,   DENY,   DENY),
    (POST, f"{Q}/425/evidence/{{evidence_b}}/remove/",       LOGIN, HIDE,   DONE,   HIDE,   DENY,   DENY),
    (POST, f"{Q}/425/evidence/{{evidence_a}}/remove/",       LOGIN, HIDE,   HIDE,   HIDE,   HIDE,   HIDE),
    # Steering Committee dashboard: province-wide pages for the committee and the secretariat
    (GET,  f"/dashboard/{P}",                                LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  f"/dashboard/heatmap/{P}",                        LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  f"/dashboard/ranking/{P}",                        LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  f"/dashboard/laggards/{P}",                       LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  f"/dashboard/targets/TTHC-08/{P}",                LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  "/dashboard/units/429/",                          LOGIN, OK,     HIDE,   OK,     OK,     OK),
    (GET,  "/dashboard/units/425/",                          LOGIN, HIDE,   OK,     HIDE,   OK,     OK),
    (POST, "/dashboard/report/",                             LOGIN, DENY,   DENY,   DENY,   DONE,   DONE),
    (GET,  "/dashboard/report/{export}/",                    LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    (GET,  "/dashboard/report/{export_done}/download/",      LOGIN, DENY,   DENY,   DENY,   OK,     OK),
    # Django admin: is_staff only
    (GET,  "/admin/",                                        ADMIN, ADMIN,  ADMIN,  ADMIN,  ADMIN,  ADMIN),
]
# fmt: on

# Routes the table need not cover, and why.
NOT_IN_TABLE = {
    "admin:*": "Django admin's own pages, behind /admin/ (in the table): Django lets in is_staff users only",
}

# --- The world every request runs in ---

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    period: Period
    users: dict[str, User]
    ids: dict[str, int]


@pytest.fixture
def world(tree, catalogue, period, reporter_a, reporter_b, unit_head_a, steering, secretariat):
    ids = {}
    for code, reporter, name in (("429", reporter_a, "evidence_a"), ("425", reporter_b, "evidence_b")):
        draft = submission_for(unit=Unit.objects.get(code=code), period=period, by=reporter)
        upload = SimpleUploadedFile("kiem-chung.pdf", PDF)
        ids[name] = evidence_add(submission=draft, upload=upload, by=reporter).pk
    ids["export"] = ReportExport.objects.create(period=period, requested_by=steering).pk
    done = ReportExport(period=period, requested_by=steering, status=ExportStatus.DONE, progress=100)
    done.file.save("bao-cao-cchc.xlsx", ContentFile(b"PK\x03\x04 workbook"), save=True)
    ids["export_done"] = done.pk
    # An account still waiting to set its password (no role, so nothing else in the table sees it).
    invitee = User(username="moi@xa.gov.vn", email="moi@xa.gov.vn", full_name="Người Được Mời")
    invitee.set_unusable_password()
    invitee.save()
    ids["invitee"] = invitee.pk
    users = {
        "reporter_a": reporter_a,
        "reporter_b": reporter_b,
        "unit_head_a": unit_head_a,
        "steering": steering,
        "secretariat": secretariat,
    }
    return World(period=period, users=users, ids=ids)


# --- What each POST needs, sends and changes ---


def report_of(code: str) -> Callable[[World], tuple]:
    """A unit's report as the database holds it: status, version, figures, history."""

    def snapshot(world: World) -> tuple:
        submission = Submission.objects.get(unit__code=code, period=world.period)
        figures = sorted(submission.figures.values_list("target__code", "numerator", "denominator", "value"))
        return submission.status, submission.version, figures, submission.events.count()

    return snapshot


def evidence_of(code: str) -> Callable[[World], list]:
    def snapshot(world: World) -> list:
        return sorted(Evidence.objects.filter(submission__unit__code=code).values_list("pk", "removed_at"))

    return snapshot


def all_evidence(world: World) -> tuple:
    return evidence_of("429")(world), evidence_of("425")(world)


def both_reports(world: World) -> tuple:
    return report_of("429")(world), report_of("425")(world)


def catalogue_state(world: World) -> tuple:
    thresholds = sorted(Threshold.objects.current().values_list("target__code", "level", "from_year", "value"))
    return CatalogueChange.objects.count(), thresholds


def exports(world: World) -> list:
    return sorted(ReportExport.objects.values_list("pk", flat=True))


def send_a(world: World) -> None:
    draft = Submission.objects.get(unit__code="429", period=world.period)
    submission_save_figures(submission=draft, figures=COMPLETE, by=world.users["reporter_a"])
    submission_submit(submission=draft, by=world.users["reporter_a"])


def approve_a(world: World) -> None:
    send_a(world)
    submission = Submission.objects.get(unit__code="429", period=world.period)
    submission_approve(submission=submission, by=world.users["secretariat"])


def version_of(code: str, **extra) -> Callable[[World], dict]:
    def data(world: World) -> dict:
        return {"version": Submission.objects.get(unit__code=code, period=world.period).version, **extra}

    return data


def figures_form(code: str) -> Callable[[World], dict]:
    def data(world: World) -> dict:
        figures = {
            "TTHC-08__numerator": "1500",
            "TTHC-08__denominator": "2000",
            "TTHC-09__value": "91",
            "TCBM-02__numerator": "88",
            "TCBM-02__denominator": "100",
        }
        return {**version_of(code)(world), **figures}

    return data


def evidence_file(world: World) -> dict:
    return {"file": SimpleUploadedFile("bien-ban.pdf", PDF)}


def filled_template_of_a(world: World) -> dict:
    """Unit A's Excel template with every figure filled in."""
    workbook = load_workbook(io.BytesIO(template_workbook(period=world.period, units=[Unit.objects.get(code="429")])))
    values = {"TTHC-08": (1500, 2000, None), "TTHC-09": (None, None, 91), "TCBM-02": (88, 100, None)}
    for row in workbook.worksheets[0].iter_rows(min_row=2):
        row[7].value, row[8].value, row[9].value = values[row[3].value]  # numerator, denominator, value
    out = io.BytesIO()
    workbook.save(out)
    return {"file": SimpleUploadedFile("bao-cao.xlsx", out.getvalue())}


def edited_catalogue(world: World) -> dict:
    """The exported catalogue with one threshold raised, and the reason the import asks for."""
    workbook = load_workbook(io.BytesIO(catalogue_export()))
    for row in workbook["Ngưỡng"].iter_rows(min_row=2):
        if row[0].value == "TTHC-09":
            row[3].value = 92
    out = io.BytesIO()
    workbook.save(out)
    return {"file": SimpleUploadedFile("danh-muc.xlsx", out.getvalue()), "reason": "Kế hoạch CCHC năm 2025"}


def province_workbook(world: World) -> dict:
    """The units-and-people template with a new commune and its reporter."""
    workbook = load_workbook(io.BytesIO(province_template()))
    workbook[str(UNIT_SHEET.title)].append(["25000", "Xã Mới", "commune", "40", "01/07/2025", None, ""])
    workbook[str(PEOPLE_SHEET.title)].append(["Nguyễn Thị Lan", "lan@xa.gov.vn", "", "", "25000", "reporter"])
    out = io.BytesIO()
    workbook.save(out)
    return {"file": SimpleUploadedFile("don-vi.xlsx", out.getvalue()), "invite": "on"}


def units_and_accounts(world: World) -> tuple:
    return sorted(Unit.objects.values_list("code", "name")), sorted(User.objects.values_list("username", flat=True))


def invitations(world: World) -> list:
    return sorted(Invitation.objects.values_list("user__username", "requested_by__username"))


def reset_requests(world: World) -> int:
    return AccountChange.objects.filter(action=AccountAction.RESET_REQUESTED).count()


@dataclass(frozen=True)
class Scenario:
    data: Callable[[World], dict] = lambda world: {}
    changes: Callable[[World], object] | None = None  # None: nothing in the database (a session, a cookie)
    given: Callable[[World], None] | None = None  # brings the world into the state the request needs


REASON = {"reason": "Mẫu số chưa khớp với sổ một cửa"}


def passwords(world: World):
    return sorted(User.objects.values_list("username", "password"))


NEW_PASSWORD = {"old_password": PASSWORD, "new_password1": "Cchc#Nghe-An-2025", "new_password2": "Cchc#Nghe-An-2025"}

SCENARIOS = {
    "/accounts/logout/": Scenario(),
    "/accounts/password/": Scenario(data=lambda world: NEW_PASSWORD, changes=passwords),
    "/i18n/setlang/": Scenario(data=lambda world: {"language": "en"}),
    "/units/setup/": Scenario(data=province_workbook, changes=units_and_accounts),
    "/units/setup/people/{invitee}/invite/": Scenario(changes=invitations),
    "/accounts/password/reset/": Scenario(data=lambda world: {"email": "moi@xa.gov.vn"}, changes=reset_requests),
    "/targets/import/": Scenario(data=edited_catalogue, changes=catalogue_state),
    f"{Q}/import/": Scenario(data=filled_template_of_a, changes=both_reports),
    f"{Q}/429/save/": Scenario(data=figures_form("429"), changes=report_of("429")),
    f"{Q}/425/save/": Scenario(data=figures_form("425"), changes=report_of("425")),
    f"{Q}/429/approve/": Scenario(data=version_of("429"), changes=report_of("429"), given=send_a),
    f"{Q}/429/return/": Scenario(data=version_of("429", **REASON), changes=report_of("429"), given=send_a),
    f"{Q}/429/reopen/": Scenario(data=version_of("429", **REASON), changes=report_of("429"), given=approve_a),
    f"{Q}/429/evidence/": Scenario(data=evidence_file, changes=evidence_of("429")),
    f"{Q}/425/evidence/": Scenario(data=evidence_file, changes=evidence_of("425")),
    f"{Q}/429/evidence/{{evidence_a}}/remove/": Scenario(changes=evidence_of("429")),
    f"{Q}/425/evidence/{{evidence_b}}/remove/": Scenario(changes=evidence_of("425")),
    f"{Q}/425/evidence/{{evidence_a}}/remove/": Scenario(changes=all_evidence),
    # A build still waiting would be handed out again: let the earlier ones have failed.
    "/dashboard/report/": Scenario(
        data=lambda world: {"period": "2025-Q1"},
        changes=exports,
        given=lambda world: ReportExport.objects.update(status=ExportStatus.FAILED),
    ),
}


# --- The tests ---

CASES = [
    pytest.param(method, url, role, expected, id=f"{method} {url} [{role}]")
    for method, url, *answers in ACCESS
    for role, expected in zip(ROLES, answers, strict=True)
]


def _problems(response, expected, url: str) -> list[str]:
    status, location = response.status_code, response.headers.get("Location", "")
    if expected == LOGIN:
        parts = urlsplit(location)
        if status != 302 or parts.path != "/accounts/login/" or parse_qs(parts.query).get("next") != [url]:
            return [f"expected the login page with next={url}, got {status} {location}"]
    elif expected == ADMIN:
        if status != 302 or not location.startswith("/admin/login/?next="):
            return [f"expected the admin login page, got {status} {location}"]
    elif status != expected:
        return [f"expected {expected}, got {status} {location}"]
    elif status == DONE and ("next=" in location or location.startswith("/admin/login/")):
        return [f"expected an allowed redirect, got a login page: {location}"]
    return []


@pytest.mark.parametrize(("method", "url", "role", "expected"), CASES)
def test_access(world, client, login, method, url, role, expected):
    if role != "anonymous":
        client = login(world.users[role])
    scenario = SCENARIOS[url] if method == POST else None
    if scenario and scenario.given:
        scenario.given(world)
    watch = scenario.changes if scenario else None
    before = watch(world) if watch else None
    target = url.format(**world.ids)
    response = client.post(target, scenario.data(world)) if method == POST else client.get(target)
    problems = _problems(response, expected, target)
    if watch:
        after = watch(world)
        if expected in DENIED and after != before:
            problems.append(f"denied, yet the database changed:\n  before {before}\n  after  {after}")
        if expected not in DENIED and after == before:
            problems.append(f"allowed, yet the database did not change: {before}")
    response.close()
    assert not problems, "\n".join(problems)


def _routes(patterns, namespace: str = ""):
    """(view name, route) of every URL pattern, through every include."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            for name, route in _routes(pattern.url_patterns, inner):
                yield name, f"{pattern.pattern}{route}"
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or '(unnamed)'}", str(pattern.pattern)


def _ignored(name: str) -> bool:
    return name in NOT_IN_TABLE or any(name.startswith(p[:-1]) for p in NOT_IN_TABLE if p.endswith("*"))


def test_every_route_is_in_the_table():
    in_table = {resolve(re.sub(r"\{\w+\}", "1", url.split("?")[0])).view_name for _method, url, *_a in ACCESS}
    routes = list(_routes(get_resolver().url_patterns))
    missing = {(name, route) for name, route in routes if name not in in_table and not _ignored(name)}
    assert not missing, f"URL patterns with no row in ACCESS (add rows, or a reason to NOT_IN_TABLE): {missing}"
    assert "admin:index" in in_table


def test_every_post_row_says_what_it_sends_and_changes():
    posts = {url for method, url, *_a in ACCESS if method == POST}
    assert posts == set(SCENARIOS)
    for method, url, *answers in ACCESS:
        if method == POST and set(answers) & DENIED:
            assert SCENARIOS[url].changes, f"{url} denies someone: its scenario must say what must not change"
