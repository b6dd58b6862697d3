"""Which part of the guide answers for which page of the portal.

The help link in the top bar opens the guide at the section about the page the person is on.
`HELP` maps a view name (`request.resolver_match.view_name`) to that section. A (page, anchor) pair
is the same section for everyone; an anchor alone is looked up in the person's own guide, because
some pages read differently by role (the home page, a report, a unit's results) and every role's
guide has a section of that name for them. A page not listed opens the person's own guide at its
contents; someone without a role (or not signed in) gets the index, where each role finds its guide.

The guide links to the other apps by URL name only: it imports nothing from them.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

# The guide's pages: key -> (URL name, template, title).
PAGES = {
    "index": ("guide:index", "guide/index.html", _("User guide")),
    "reporter": ("guide:reporter", "guide/reporter.html", _("Guide for reporters")),
    "secretariat": ("guide:secretariat", "guide/secretariat.html", _("Guide for the Department of Home Affairs")),
    "unit-head": ("guide:unit-head", "guide/unit_head.html", _("Guide for unit heads")),
    "steering": ("guide:steering", "guide/steering.html", _("Guide for Steering Committee members")),
}
ROLE_GUIDES = ("reporter", "secretariat", "unit-head", "steering")

# A person's own guide: that of the first role they hold, in this order (the values of
# units.models.Role). A staff account without a role works in the administration pages, which the
# secretariat's guide explains.
ROLE_PAGES = (
    ("secretariat", "secretariat"),
    ("steering", "steering"),
    ("unit_head", "unit-head"),
    ("reporter", "reporter"),
)
STAFF_PAGE = "secretariat"

CONTENTS = "noi-dung"  # every guide page opens with its contents under this anchor
CHOOSE = "chon-huong-dan"  # the index's "which guide is yours"

HELP: dict[str, str | tuple[str, str]] = {
    # Read by role: each role's guide has these three sections.
    "home": "trang-chu",
    "reports:submission": "bao-cao",
    "reports:save": "bao-cao",
    "dashboard:unit": "ket-qua",
    # Signing in and the account.
    "login": ("reporter", "dang-nhap"),
    "password_change": ("reporter", "doi-mat-khau"),
    "password_change_done": ("reporter", "doi-mat-khau"),
    "accounts:password-reset": ("reporter", "quen-mat-khau"),
    "accounts:password-reset-done": ("reporter", "quen-mat-khau"),
    "accounts:password-reset-confirm": ("reporter", "quen-mat-khau"),
    "accounts:password-reset-complete": ("reporter", "quen-mat-khau"),
    "accounts:invitation": ("reporter", "loi-moi"),
    "accounts:invitation-done": ("reporter", "loi-moi"),
    # Pages everyone reads.
    "units:directory": ("index", "danh-ba-don-vi"),
    "units:unit-detail": ("index", "danh-ba-don-vi"),
    "targets:catalogue": ("index", "danh-muc-chi-tieu"),
    "targets:target-detail": ("index", "danh-muc-chi-tieu"),
    # The reporter's work.
    "reports:import": ("reporter", "nhap-excel"),
    # The secretariat's work.
    "units:setup": ("secretariat", "don-vi-nguoi-dung"),
    "units:people": ("secretariat", "thu-moi"),
    "reports:review": ("secretariat", "duyet"),
    "targets:catalogue-import": ("secretariat", "danh-muc"),
    # The dashboard, for the Steering Committee and the secretariat.
    "dashboard:overview": ("steering", "tong-quan"),
    "dashboard:heatmap": ("steering", "ban-do-nhiet"),
    "dashboard:ranking": ("steering", "xep-hang"),
    "dashboard:laggards": ("steering", "cham-tien-do"),
    "dashboard:target": ("steering", "chi-tieu"),
    "dashboard:report": ("steering", "bao-cao-quy"),
    "dashboard:report-request": ("steering", "bao-cao-quy"),
}


def own_page(user) -> str | None:
    """The key of the guide written for `user`'s role, or None (not signed in, no role)."""
    if user is None or not user.is_authenticated:
        return None
    for role, page in ROLE_PAGES:
        if user.has_role(role):
            return page
    return STAFF_PAGE if user.is_staff else None


def page_url(page: str, anchor: str | None = None) -> str:
    url = reverse(PAGES[page][0])
    return f"{url}#{anchor}" if anchor else url


def help_url(request) -> str:
    """The guide's section about the page `request` shows, for the person who asked."""
    match = getattr(request, "resolver_match", None)
    section = HELP.get(match.view_name) if match else None
    if isinstance(section, tuple):
        return page_url(*section)
    own = own_page(getattr(request, "user", None))
    if own is None:
        return page_url("index", CHOOSE)
    return page_url(own, section or CONTENTS)


lazy_help_url = lazy(help_url, str)
