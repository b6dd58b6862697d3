from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cchc_portal.imports import import_page
from cchc_portal.xlsx import XLSX_CONTENT_TYPE

from .forms import PeopleFilterForm, ProvinceImportForm, UnitSearchForm
from .invitations import InvitationRefused, account_status, invitation_resend, invited_not_activated, people_list
from .models import KIND_LEVEL, Level, Role, Unit, User
from .onboarding import import_summary, province_import
from .selectors import unit_directory, unit_people, unit_succession_history
from .workbook import province_template, template_filename


@login_required
def directory(request):
    form = UnitSearchForm(request.GET or None)
    query, include_closed = "", False
    if form.is_valid():
        query, include_closed = form.cleaned_data["q"], form.cleaned_data["closed"]
    units = list(unit_directory(query=query, include_closed=include_closed))
    context = {"form": form, "query": query, "units": units}
    if not query:
        context["sections"] = _directory_sections(units)
        context["closed_hidden"] = 0 if include_closed else Unit.objects.filter(valid_to__isnull=False).count()
    return render(request, "units/directory.html", context)


def _directory_sections(units: list[Unit]) -> list[dict]:
    """Group units into the directory's tree: departments, then districts with their communes."""
    children: dict[int, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    by_level: dict[str, list[Unit]] = {level: [] for level in Level.values}
    for unit in units:
        parent_level = KIND_LEVEL[unit.parent.kind] if unit.parent_id else None
        # Communes under a district are shown inside it; the rest stand in their level's section.
        if not (KIND_LEVEL[unit.kind] == Level.COMMUNE and parent_level == Level.DISTRICT):
            by_level[KIND_LEVEL[unit.kind]].append(unit)
    return [
        {
            "level": Level(level).label,
            "units": [(u, children.get(u.id, []) if level == Level.DISTRICT else []) for u in items],
        }
        for level, items in by_level.items()
        if items
    ]


@login_required
def unit_detail(request, code: str):
    unit = get_object_or_404(Unit.objects.select_related("parent"), code=code)
    context = {
        "unit": unit,
        "children": unit.children.order_by("path"),
        "people": unit_people(unit),
        "history": unit_succession_history(unit),
    }
    return render(request, "units/unit_detail.html", context)


# --- Setting up the province: the units and people workbook, accounts and invitations ---


def setup_required(view):
    """The secretariat, or a superuser setting up an empty portal (who holds no role yet: the
    first workbook gives them theirs); anyone else 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (request.user.is_superuser or request.user.has_role(Role.SECRETARIAT)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@setup_required
@require_http_methods(["GET", "POST"])
def setup(request):
    today = timezone.localdate()
    context = {
        "units_in_force": Unit.objects.current_on(today).count(),
        "accounts": User.objects.filter(is_active=True).count(),
        "pending": invited_not_activated(),
    }
    return import_page(
        request,
        form=ProvinceImportForm(request.POST or None, request.FILES or None),
        run=lambda file, invite: province_import(upload=file, by=request.user, invite=invite),
        done=import_summary,
        success_url=reverse("units:setup"),
        template="units/setup.html",
        context=context,
    )


@setup_required
@require_GET
def setup_template(request):
    response = HttpResponse(province_template(filled=request.GET.get("filled") == "1"), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{template_filename()}"'
    return response


PEOPLE_PAGE_SIZE = 50


@setup_required
@require_GET
def people(request):
    form = PeopleFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    users = people_list(query=filters.get("q", ""), pending=filters.get("pending", False))
    page = Paginator(users, PEOPLE_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(user, account_status(user, now)) for user in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode()}
    return render(request, "units/people.html", context)


@setup_required
@require_POST
def invitation_send(request, pk: int):
    """Send an account a new invitation (recorded: who asked, when)."""
    user = get_object_or_404(User, pk=pk)
    try:
        invitation_resend(user=user, by=request.user)
    except InvitationRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("An invitation will be sent to %s.") % user.email)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("units:people")
    return redirect(back)
