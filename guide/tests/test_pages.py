"""The guide's pages: open to everyone, one per role, and written in the words of the interface."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.conf import settings

from guide.help import CHOOSE, CONTENTS, PAGES, ROLE_GUIDES, ROLE_PAGES
from units.models import Role
from units.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URLS = {
    "index": "/huong-dan/",
    "reporter": "/huong-dan/can-bo-bao-cao/",
    "secretariat": "/huong-dan/so-noi-vu/",
    "unit-head": "/huong-dan/lanh-dao-don-vi/",
    "steering": "/huong-dan/ban-chi-dao/",
}
# The titles are interface words (translated); the prose is Vietnamese in the templates.
TITLES = {page: str(title) for page, (_name, _template, title) in PAGES.items()}
USERS = ("reporter_a", "unit_head_a", "steering", "secretariat")
OWN = {"reporter_a": "reporter", "unit_head_a": "unit-head", "steering": "steering", "secretariat": "secretariat"}


def ids(body: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', body))


def test_every_page_of_the_guide_has_a_url_and_a_title():
    assert set(PAGES) == set(URLS)
    assert set(ROLE_GUIDES) == set(URLS) - {"index"}
    assert {role for role, _page in ROLE_PAGES} == set(Role.values)


@pytest.mark.parametrize("page", URLS)
def test_the_guide_is_readable_without_signing_in(client, page, django_assert_num_queries):
    with django_assert_num_queries(0):  # no data on these pages: nothing to hide from anyone
        response = client.get(URLS[page])
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<h1 class="h3 mb-3">{TITLES[page]}</h1>' in body
    assert CONTENTS in ids(body)
    # Each picture with its size in plain digits ("1.280" would draw it a pixel wide).
    pictures = re.findall(r'<img src="/static/guide/[\w-]+\.png" width="([^"]+)" height="([^"]+)"', body)
    assert len(pictures) == body.count('class="guide-shot"')
    assert all(w == "1280" and h.isdigit() for w, h in pictures), pictures
    # Signed out: the top bar offers to sign in, and no link that would only send the reader to it.
    assert 'href="/accounts/login/"' in body and 'action="/accounts/logout/"' not in body
    assert 'href="/units/"' not in body
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("page", URLS)
@pytest.mark.parametrize("role", USERS)
def test_the_guide_is_readable_by_every_role_and_marks_its_own_guide(world, login, page, role):
    response = login(world.users[role]).get(URLS[page])
    assert response.status_code == 200
    body = response.content.decode()
    assert TITLES[page] in body
    own = re.search(
        r'<a href="([^"]+)"[^>]*>[^<]*</a> <span class="badge text-bg-primary" data-testid="own-guide">', body
    )
    assert own and own.group(1) == URLS[OWN[role]]
    assert body.count('data-testid="own-guide"') == 1


def test_a_person_without_a_role_is_sent_to_choose_a_guide(client):
    person = UserFactory(username="moi.tao")
    client.force_login(person)
    body = client.get("/").content.decode()
    assert 'href="/huong-dan/#chon-huong-dan" data-testid="help-link"' in body
    assert 'data-testid="own-guide"' not in client.get("/huong-dan/").content.decode()
    assert CHOOSE in ids(client.get("/huong-dan/").content.decode())


def test_an_unknown_page_of_the_guide_is_not_found(client):
    assert client.get("/huong-dan/khong-co-trang-nay/").status_code == 404


def test_the_index_leads_each_role_to_its_guide(client):
    body = client.get("/huong-dan/").content.decode()
    section = body[body.index('id="chon-huong-dan"') : body.index('id="nhip-bao-cao"')]
    for page in ROLE_GUIDES:
        assert f'href="{URLS[page]}"' in section, page


# The vocabulary of DOMAIN.md, each explained in the index's glossary.
GLOSSARY = [
    "Đơn vị",
    "Cấp",
    "Điểm chỉ đạo",
    "Giai đoạn",
    "Lĩnh vực",
    "Chỉ tiêu",
    "Ngưỡng (mục tiêu)",
    "Kỳ báo cáo",
    "Hạn nộp",
    "Quá hạn",
    "Số liệu",
    "Tử số / Mẫu số",
    "Tỷ lệ",
    "Đạt / Có nguy cơ / Không đạt / Chưa có số liệu",
    "Số liệu tạm thời",
    "Điểm và xếp loại",
    "Xếp hạng",
    "Đơn vị chậm tiến độ / Cần theo dõi",
    "Nháp / Đã gửi / Đã duyệt / Trả lại",
    "Lý do",
    "Tài liệu kiểm chứng",
    "Ban Chỉ đạo",
    "Phụ trách",
]


def test_the_glossary_explains_the_portals_words(client):
    body = client.get("/huong-dan/").content.decode()
    glossary = body[body.index('data-testid="glossary"') : body.index('id="ho-tro"')]
    terms = [html.unescape(t) for t in re.findall(r"<dt>(.*?)</dt>", glossary)]
    assert [t for t in GLOSSARY if t not in terms] == []


# --- Each role's guide names its main actions as the interface labels them ---

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"

# page -> (file where the label is written, its English msgid), read in that file and translated
# through django.po: renaming a button, or changing its Vietnamese word, breaks this test until the
# guide says the new word.
MAIN_ACTIONS = {
    "reporter": [
        ("templates/registration/login.html", "Username"),
        ("templates/registration/login.html", "Password"),
        ("templates/registration/login.html", "Sign in"),
        ("templates/registration/login.html", "Forgot your password?"),
        ("templates/base_portal.html", "Change password"),
        ("templates/base_portal.html", "Log out"),
        ("templates/dashboard/home.html", "My units' reports"),
        ("templates/dashboard/home.html", "Open report"),
        ("templates/dashboard/home.html", "Excel template"),
        ("templates/dashboard/home.html", "Import a filled workbook for %(period)s"),
        ("templates/reports/_figures_form.html", "Threshold"),
        ("templates/reports/_figures_form.html", "Numerator"),
        ("templates/reports/_figures_form.html", "Denominator"),
        ("templates/reports/_figures_form.html", "Value"),
        ("templates/reports/_figures_form.html", "Rate"),
        ("templates/reports/_figures_form.html", "Previous period"),
        ("templates/reports/_figures_form.html", "Note"),
        ("templates/reports/_figures_form.html", "Save draft"),
        ("templates/reports/_figures_form.html", "Draft saved."),
        ("templates/reports/_figures_form.html", "Some figures are not valid; see the marked fields."),
        ("templates/reports/_figures_form.html", "Send for review"),
        ("reports/services.py", "Required before sending."),
        ("reports/views.py", "The report was sent for review."),
        ("reports/forms.py", "Filled workbook (.xlsx)"),
        ("templates/_import.html", "Import"),
        ("templates/reports/submission.html", "Evidence documents"),
        ("templates/reports/submission.html", "Attach"),
        ("templates/reports/submission.html", "Remove"),
        ("templates/reports/submission.html", "History"),
        ("templates/reports/submission.html", "Returned for correction:"),
    ],
    "secretariat": [
        ("templates/dashboard/home.html", "Reporting progress"),
        ("templates/base_portal.html", "Review queue"),
        ("templates/reports/review.html", "Period"),
        ("templates/reports/review.html", "Status"),
        ("templates/reports/review.html", "Unit kind"),
        ("templates/reports/review.html", "Late only"),
        ("templates/reports/review.html", "Search a unit"),
        ("templates/reports/review.html", "Filter"),
        ("templates/reports/review.html", "Sent"),
        ("templates/reports/review.html", "Times returned"),
        ("templates/reports/submission.html", "Approve"),
        ("templates/reports/submission.html", "Reason for returning"),
        ("templates/reports/submission.html", "Return"),
        ("templates/reports/submission.html", "Reopen"),
        ("templates/reports/submission.html", "Reason for reopening"),
        ("reports/views.py", "This page is out of date: reload it and decide again."),
        ("reports/views.py", "A reason is required."),
        ("reports/views.py", "Next report waiting for review: %s."),
        ("templates/base_portal.html", "Administration"),
        ("reports/admin.py", "Open the selected periods"),
        ("reports/admin.py", "Close the selected periods"),
        ("reports/admin.py", "Lock the selected periods"),
        ("reports/admin.py", "Show the selected period first on the dashboard"),
        ("reports/admin.py", "Open the dashboard on the latest closed quarter again"),
        ("templates/targets/catalogue.html", "Export to Excel"),
        ("templates/targets/catalogue.html", "Import from Excel"),
        ("targets/admin.py", "Reason for the change"),
    ],
    "unit-head": [
        ("templates/dashboard/home.html", "Targets missed"),
        ("templates/dashboard/home.html", "Result"),
        ("templates/dashboard/home.html", "Threshold"),
        ("templates/dashboard/home.html", "Short by"),
        ("templates/dashboard/home.html", "The unit's results"),
        ("templates/dashboard/home.html", "No approved figure in this period: no score and no rank yet."),
        ("templates/dashboard/unit.html", "Show"),
        ("templates/dashboard/unit.html", "Reports"),
        ("templates/dashboard/unit.html", "Download .xlsx"),
    ],
    "steering": [
        ("templates/dashboard/home.html", "See the list"),
        ("templates/base_portal.html", "Dashboard"),
        ("templates/dashboard/_nav.html", "Overview"),
        ("templates/dashboard/_nav.html", "Heatmap"),
        ("templates/dashboard/_nav.html", "Ranking"),
        ("templates/dashboard/_nav.html", "Laggards"),
        ("templates/dashboard/_nav.html", "Period"),
        ("templates/dashboard/_nav.html", "Show"),
        ("templates/dashboard/_nav.html", "Quarterly report (.xlsx)"),
        ("templates/dashboard/_nav.html", "Quarterly report (.docx)"),
        ("templates/dashboard/_nav.html", "Download .xlsx"),
        ("templates/dashboard/overview.html", "Units most behind"),
        ("templates/dashboard/overview.html", "Responsible member"),
        ("templates/dashboard/overview.html", "Targets met province-wide"),
        ("templates/dashboard/overview.html", "Reporting progress"),
        ("templates/dashboard/heatmap.html", "Level"),
        ("templates/dashboard/heatmap.html", "Reform area"),
        ("templates/dashboard/heatmap.html", "Pilot units"),
        ("templates/dashboard/heatmap.html", "Units I am responsible for"),
        ("templates/dashboard/heatmap.html", "Filter"),
        ("templates/dashboard/ranking.html", "Rank"),
        ("templates/dashboard/ranking.html", "Unit"),
        ("templates/dashboard/ranking.html", "Score"),
        ("templates/dashboard/ranking.html", "Band"),
        ("templates/dashboard/ranking.html", "Targets met"),
        ("templates/dashboard/ranking.html", "Movement"),
        ("templates/dashboard/laggards.html", "Laggards"),
        ("templates/dashboard/laggards.html", "To watch"),
        ("templates/dashboard/laggards.html", "All"),
        ("templates/dashboard/target.html", "Distribution across units"),
        ("templates/dashboard/target.html", "Province trend"),
        ("templates/dashboard/target.html", "Gap"),
        ("templates/dashboard/_export_status.html", "Download the report (.docx)"),
        ("templates/dashboard/_export_status.html", "Download the report (.xlsx)"),
    ],
}


def _po_translations() -> dict[str, str]:
    """msgid -> msgstr of the Vietnamese catalogue (entries without a context, singular)."""
    found = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            match = re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if match:
                key, value = match.groups()
                fields[key] = value
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if "msgctxt" not in fields and fields.get("msgid"):
            text = fields.get("msgstr", fields.get("msgstr[0]", ""))
            found[fields["msgid"].replace('\\"', '"')] = text.replace('\\"', '"')
    return found


def _before_placeholder(text: str) -> str:
    """The words of a label up to its first placeholder ("Nhập tệp Excel đã điền cho %(period)s")."""
    return re.split(r"%\(\w+\)[sd]|%[sd]|\{\{", text)[0].strip()


@pytest.mark.parametrize("page", MAIN_ACTIONS)
def test_each_roles_guide_names_its_main_actions_as_the_interface_labels_them(client, page):
    translations = _po_translations()
    body = html.unescape(client.get(URLS[page]).content.decode())
    problems = []
    for source, msgid in MAIN_ACTIONS[page]:
        written = (ROOT / source).read_text(encoding="utf-8")
        if _before_placeholder(msgid) not in written:
            problems.append(f"{source} no longer says {msgid!r}")
        elif not translations.get(msgid):
            problems.append(f"{msgid!r} has no Vietnamese translation in django.po")
        elif _before_placeholder(translations[msgid]) not in body:
            problems.append(f"the guide does not say {_before_placeholder(translations[msgid])!r} ({msgid!r})")
    assert not problems, "\n".join(problems)
