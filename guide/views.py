"""The user guide (hướng dẫn sử dụng): an index and one page per role.

The guide's prose is written in Vietnamese directly in its templates rather than through gettext:
it is long text for the portal's Vietnamese users, and one language is enough for it. The words of
the interface around it (the page titles, the help link) are translated like the rest of the
portal.

The pages hold no data, so they are open without signing in: a person locked out of their account
can still read how to sign in or reset a password.
"""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .help import PAGES, ROLE_GUIDES, own_page


def _render(request, page: str):
    _url_name, template, title = PAGES[page]
    context = {
        "page": page,
        "page_title": title,
        "guides": [(key, PAGES[key][0], PAGES[key][2]) for key in ROLE_GUIDES],
        "own": own_page(request.user),
    }
    return render(request, template, context)


@require_GET
def index(request):
    return _render(request, "index")


@require_GET
def guide_page(request, page: str):
    if page not in ROLE_GUIDES:
        raise Http404
    return _render(request, page)
