"""The help link: on every page of the portal, to the guide's section about that page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from cchc_portal.tests.test_access_matrix import ACCESS, GET, OK, ROLES
from guide.help import CHOOSE, CONTENTS, HELP, PAGES, ROLE_GUIDES
from units.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a [^>]*href="([^"]*)"[^>]*data-testid="help-link"')
GUIDE = {"index": "/huong-dan/", "reporter": "/huong-dan/can-bo-bao-cao/", "secretariat": "/huong-dan/so-noi-vu/"}
GUIDE |= {"unit-head": "/huong-dan/lanh-dao-don-vi/", "steering": "/huong-dan/ban-chi-dao/"}
# The pages every (URL, role) pair of the access matrix opens.
PAGES_OPENED = [
    pytest.param(url, role, id=f"{url} [{role}]")
    for method, url, *answers in ACCESS
    if method == GET
    for role, expected in zip(ROLES, answers, strict=True)
    if expected == OK
]


def anchors_of(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return set(re.findall(r'\bid="([^"]+)"', response.content.decode()))


def resolves_into_the_guide(client, href: str) -> None:
    parts = urlsplit(href)
    assert resolve(parts.path).namespace == "guide", href
    assert parts.fragment, f"{href}: the help link names a section"
    assert parts.fragment in anchors_of(client, parts.path), f"{href}: no such section"


@pytest.mark.parametrize(("url", "role"), PAGES_OPENED)
def test_every_page_links_to_an_existing_section_of_the_guide(world, client, login, url, role):
    if role != "anonymous":
        client = login(world.users[role])
    response = client.get(url.format(**world.ids))
    if not response.get("Content-Type", "").startswith("text/html"):
        response.close()
        pytest.skip("a download, not a page")
    help_url = str(response.context["help_url"])
    if any(t.name == "base_portal.html" for t in response.templates):
        links = LINK.findall(response.content.decode())
        assert links == [help_url], f"one help link, to {help_url}: {links}"
    # What the page's help link would be where the layout is base.html's (sign-in, errors): the
    # guide opens without signing in, so the anonymous client follows it.
    client.logout()
    resolves_into_the_guide(client, help_url)


def _routes(patterns, namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_the_help_map_names_real_pages_and_real_sections(client):
    names = set(_routes(get_resolver().url_patterns))
    assert set(HELP) - names == set(), "sections for pages that do not exist"
    sections = {page: anchors_of(client, GUIDE[page]) for page in PAGES}
    for name, section in HELP.items():
        if isinstance(section, tuple):
            page, anchor = section
            assert anchor in sections[page], f"{name}: {page} has no section {anchor}"
        else:  # the section of that name in each role's own guide
            for page in ROLE_GUIDES:
                assert section in sections[page], f"{name}: {page} has no section {section}"
    for page in PAGES:
        assert CONTENTS in sections[page], page
    assert CHOOSE in sections["index"]


@pytest.mark.parametrize(
    ("role", "section"),
    [
        ("reporter_a", "/huong-dan/can-bo-bao-cao/#trang-chu"),
        ("unit_head_a", "/huong-dan/lanh-dao-don-vi/#trang-chu"),
        ("steering", "/huong-dan/ban-chi-dao/#trang-chu"),
        ("secretariat", "/huong-dan/so-noi-vu/#trang-chu"),
    ],
)
def test_each_roles_home_links_to_the_home_section_of_its_own_guide(world, login, role, section):
    body = login(world.users[role]).get("/").content.decode()
    assert LINK.findall(body) == [section]


@pytest.mark.parametrize(
    ("role", "section"),
    [
        ("reporter_a", "/huong-dan/can-bo-bao-cao/#bao-cao"),  # filling it in
        ("unit_head_a", "/huong-dan/lanh-dao-don-vi/#bao-cao"),  # reading it
        ("steering", "/huong-dan/ban-chi-dao/#bao-cao"),
        ("secretariat", "/huong-dan/so-noi-vu/#bao-cao"),  # reviewing it
    ],
)
def test_a_report_links_to_what_that_role_does_with_it(world, login, role, section):
    body = login(world.users[role]).get("/reports/2025-Q1/429/").content.decode()
    assert LINK.findall(body) == [section]


def test_a_page_shared_by_every_role_has_one_section_for_all(world, login):
    for role in ("reporter_a", "steering", "secretariat"):
        body = login(world.users[role]).get("/dashboard/units/429/").content.decode()
        assert LINK.findall(body) != []
        body = login(world.users[role]).get("/targets/").content.decode()
        assert LINK.findall(body) == ["/huong-dan/#danh-muc-chi-tieu"]
        body = login(world.users[role]).get("/dashboard/" if role != "reporter_a" else "/units/").content.decode()
        assert LINK.findall(body) == [
            "/huong-dan/ban-chi-dao/#tong-quan" if role != "reporter_a" else "/huong-dan/#danh-ba-don-vi"
        ]


def test_a_page_without_a_section_opens_the_readers_own_guide(world, client, login):
    assert LINK.findall(login(world.users["reporter_a"]).get("/huong-dan/").content.decode()) == [
        "/huong-dan/can-bo-bao-cao/#noi-dung"
    ]
    client.logout()
    assert LINK.findall(client.get("/huong-dan/ban-chi-dao/").content.decode()) == ["/huong-dan/#chon-huong-dan"]
    staff = UserFactory(username="quantri", is_staff=True)
    client.force_login(staff)
    assert LINK.findall(client.get("/huong-dan/").content.decode()) == ["/huong-dan/so-noi-vu/#noi-dung"]


def test_the_sign_in_page_opens_the_guide_on_signing_in_and_forgotten_passwords(client):
    response = client.get("/accounts/login/")
    assert str(response.context["help_url"]) == "/huong-dan/can-bo-bao-cao/#dang-nhap"
    sections = anchors_of(client, "/huong-dan/can-bo-bao-cao/")
    assert {"dang-nhap", "quen-mat-khau", "loi-moi", "doi-mat-khau"} <= sections


@pytest.mark.parametrize("url", ["/accounts/login/", "/khong-co-trang-nay/"])
def test_the_sign_in_and_error_pages_show_the_help_link(client, url):
    assert LINK.findall(client.get(url).content.decode()) != []
