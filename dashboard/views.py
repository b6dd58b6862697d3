"""The Steering Committee's pages: overview, heatmap, ranking, laggards, unit trends.

Every table page also downloads as .xlsx (?format=xlsx) with the same rows: every row of the
filtered list, where the page shows them a page at a time. A long list opens on a scope that fits
(the viewer's own units, or one level) and says so; the filters show the rest.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from attainment.models import FlagTier, Status
from cchc_portal.xlsx import XLSX_CONTENT_TYPE, report_sheet, workbook_bytes
from reports.models import Period
from targets.models import Area, Programme, Target
from units.access import province_reader_required, unit_for_user
from units.models import Level, Unit

from .colours import STATUS_COLOURS
from .selectors import (
    RANKING_ORDER,
    HeatmapFilters,
    ListFilters,
    Scope,
    dashboard_period,
    flag_counts,
    headline,
    heatmap,
    heatmap_scope,
    laggard_count,
    laggard_page,
    laggards_by_member,
    levels_reporting,
    list_scope,
    most_behind,
    most_ranked_level,
    overview,
    page_of,
    periods_by_programme,
    programme_comparison,
    programme_of,
    provisional,
    ranking_scores,
    target_view,
    unit_programmes,
    unit_trend,
    unranked_units,
)

# The heatmap's own filters: with none of them in the query the page opens on its default scope.
HEATMAP_KEYS = ("level", "area", "district", "pilot", "mine")
# The ranking's and laggard list's filter form always sends "q"; "mine" also comes from links.
LIST_KEYS = ("q", "mine")
# How many of the units without data the ranking names (the .xlsx lists them all).
UNRANKED_SHOWN = 100


def dashboard_access(view):
    """The province-wide pages: read by the secretariat and the Steering Committee."""
    return province_reader_required(require_GET(view))


def _period(request) -> Period:
    period = dashboard_period(request.GET.get("period"))
    if period is None:
        raise Http404
    return period


def _xlsx(
    name: str,
    title: str,
    period: Period | None,
    headers: list[str],
    rows: list[list],
    statuses: list[list[str | None]] | None = None,
) -> HttpResponse:
    """A page's table as a workbook that prints: the province, the title and period, the day it
    was taken (and that its figures are provisional while reporting is open)."""
    province = Unit.objects.provinces().order_by("path").first()
    exported = _("Exported on %s") % timezone.localdate().strftime("%d/%m/%Y")
    if period is not None and provisional(period):
        exported += " · " + _("provisional figures: reporting is still open")
    lines = [province.name if province else "", f"{title} · {period.label}" if period else title, exported]
    workbook = Workbook()
    header_row = report_sheet(workbook.active, title_lines=lines, headers=headers, rows=rows)
    for r, row in enumerate(statuses or [], start=header_row + 1):
        for c, status in enumerate(row, start=1):
            if status:
                fill = "FF" + STATUS_COLOURS[status].upper()
                workbook.active.cell(row=r, column=c).fill = PatternFill("solid", fgColor=fill, bgColor=fill)
    response = HttpResponse(workbook_bytes(workbook), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def _context(request, period: Period, **extra) -> dict:
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    query["period"] = period.key
    context = {
        "period": period,
        "period_groups": periods_by_programme(),
        "programme": programme_of(period),
        "query": query,
        "page_query": query.urlencode(),
    }
    page = extra.get("page")
    asked = request.GET.get("page", "")
    if page is not None and asked and asked != str(page.number):
        # Said on the page: "there is no page 999" (a number is echoed, anything else is not).
        context["page_asked"] = asked if asked.isascii() and asked.isdigit() and len(asked) <= 10 else "-"
    return {**context, "provisional": provisional(period), **extra}


def _chosen(request, keys) -> bool:
    """Whether the viewer chose any of the page's filters (else it opens on its default scope)."""
    return any(key in request.GET for key in keys)


def _wants_xlsx(request) -> bool:
    return request.GET.get("format") == "xlsx"


def _list_filters(request) -> ListFilters:
    return ListFilters(mine=request.GET.get("mine") == "on", query=request.GET.get("q", "")[:100])


@dashboard_access
def overview_page(request):
    period = _period(request)
    data = overview(period)
    if request.GET.get("format") == "xlsx":
        rows = [
            [area.name, line.target.code, line.target.title, _value(line.rollup), _threshold(line.rollup),
             line.rollup.units_met if line.rollup else None, line.rollup.units_total if line.rollup else None]
            for area, _r, lines in data["areas"] for line in lines
        ]  # fmt: skip
        lines = [line for _area, _r, lines in data["areas"] for line in lines]
        for row, line in zip(rows, lines, strict=True):
            row.append(str(Status(line.status).label))
        headers = [_("Reform area"), _("Code"), _("Target"), _("Province"), _("Threshold"), _("Units met"), _("Units"),
                   _("Status")]  # fmt: skip
        statuses = [[None] * 7 + [line.status] for line in lines]
        return _xlsx(f"tong-quan-{period.key}", _("Targets province-wide"), period, headers, rows, statuses)
    chart = [
        {
            "code": line.target.code,
            "title": line.target.title,
            "value": _value(line.rollup),
            "threshold": _threshold(line.rollup),
            "status": line.status,
        }
        for _area, _r, lines in data["areas"]
        for line in lines
    ]
    context = _context(
        request, period, chart=chart, headline=headline(period), behind=most_behind(period),
        flag_counts=flag_counts(period), continued=programme_comparison(period), **data,
    )  # fmt: skip
    return render(request, "dashboard/overview.html", context)


def _num(value):
    return float(value) if value is not None else None


def _value(rollup):
    return float(rollup.value) if rollup and rollup.value is not None else None


def _threshold(rollup):
    return float(rollup.threshold) if rollup and rollup.threshold is not None else None


@dashboard_access
def heatmap_page(request):
    period = _period(request)
    filters = HeatmapFilters(
        level=request.GET.get("level", "") if request.GET.get("level") in Level.values else "",
        area=request.GET.get("area", "")[:20],
        district=request.GET.get("district", "")[:20],
        pilot=request.GET.get("pilot") == "on",
        mine=request.GET.get("mine") == "on",
    )
    scope = Scope()
    if not _chosen(request, HEATMAP_KEYS):
        filters, scope = heatmap_scope(period, request.user)
    # The .xlsx holds every unit that passes the filters; the page, HEATMAP_PAGE of them.
    data = heatmap(period, filters, request.user, page=None if _wants_xlsx(request) else request.GET.get("page", 1))
    if _wants_xlsx(request):
        headers = [_("Unit code"), _("Unit")] + [t.code for t in data["targets"]]
        rows = [[u.code, u.name] + [_cell(c) for c in cells] for u, cells in data["rows"]]
        headers.append(_("Note"))
        for row, (_unit, cells) in zip(rows, data["rows"], strict=True):
            row.append(_("* sent, not yet approved") if any(c and c.provisional for c in cells) else "")
        statuses = [[None, None] + [c.status if c else None for c in cells] for _u, cells in data["rows"]]
        return _xlsx(f"ban-do-nhiet-{period.key}", _("Results by unit and target"), period, headers, rows, statuses)
    districts = Unit.objects.current_on(period.end).at_level(Level.DISTRICT).order_by("name")
    areas = Area.objects.all()
    # Links are built once here, not reversed for each of the thousands of cells.
    report_base = reverse("reports:submission", args=[period.key, "0"])[:-2]
    unit_base = reverse("dashboard:unit", args=["0"])[:-2]
    context = _context(
        request, period, filters=filters, districts=districts, levels=levels_reporting(period),
        report_base=report_base, unit_base=unit_base, areas=areas, scope=scope, **data,
    )  # fmt: skip
    return render(request, "dashboard/heatmap.html", context)


def _cell(attainment):
    """A number in the workbook (a float, so Excel shows it the reader's way); text for no data."""
    if attainment is None or attainment.value is None:
        return str(Status.NO_DATA.label) if attainment is not None else ""
    return float(attainment.value)


@dashboard_access
def ranking_page(request):
    period = _period(request)
    levels = levels_reporting(period)
    default = most_ranked_level(period) or (levels[-1][0] if levels else Level.COMMUNE)
    level = request.GET.get("level") if request.GET.get("level") in Level.values else default
    filters = _list_filters(request)
    scope = Scope()
    if not _chosen(request, LIST_KEYS):
        filters, scope = list_scope(ranking_scores(period, level).count(), request.user)
    order = request.GET.get("sort", "rank")
    order = order if order in RANKING_ORDER else "rank"
    scores = ranking_scores(period, level, filters, request.user, order)
    unranked = unranked_units(period, level, filters, request.user)
    if _wants_xlsx(request):  # the whole list, not a page
        headers = [_("Rank"), _("Unit code"), _("Unit"), _("Score"), _("Band"), _("Movement"), _("Targets met")]
        rows = [
            [
                s.rank,
                s.unit.code,
                s.unit.name,
                s.score,
                s.get_band_display(),
                s.movement,
                f"{s.targets_met}/{s.targets_total}",
            ]
            for s in scores
        ]
        no_data = str(Status.NO_DATA.label)
        rows += [[None, u.code, u.name, None, no_data, None, None] for u in unranked]
        return _xlsx(f"xep-hang-{period.key}-{level}", _("Ranking of %s") % Level(level).label, period, headers, rows)
    page = page_of(scores, request.GET.get("page", 1))
    programme = Programme.objects.covering(period.year).first()
    context = _context(
        request, period, scores=list(page.object_list), page=page, unranked=list(unranked[:UNRANKED_SHOWN]),
        unranked_count=unranked.count(), level=level, levels=levels, filters=filters, order=order,
        programme=programme, scope=scope,
    )  # fmt: skip
    return render(request, "dashboard/ranking.html", context)


@dashboard_access
def laggards_page(request):
    period = _period(request)
    tier = request.GET.get("tier", FlagTier.LAGGARD)
    tier = tier if tier in FlagTier.values else None  # "all": both tiers
    filters = _list_filters(request)
    scope = Scope()
    if not _chosen(request, LIST_KEYS):
        filters, scope = list_scope(laggard_count(period, tier), request.user)
    if _wants_xlsx(request):  # the whole list, not a page
        groups = laggards_by_member(period, first=request.user, tier=tier, filters=filters)
        headers = [_("Responsible member"), _("Unit code"), _("Unit"), _("Tier"), _("Reasons")]
        rows = [
            [
                member.get_full_name() if member else _("No member assigned"),
                f.unit.code,
                f.unit.name,
                f.get_tier_display(),
                f.reason_text,
            ]
            for member, flags in groups
            for f in flags
        ]
        return _xlsx(f"don-vi-cham-tien-do-{period.key}", _("Units flagged"), period, headers, rows)
    groups, page = laggard_page(period, first=request.user, tier=tier, filters=filters, page=request.GET.get("page", 1))
    context = _context(
        request, period, groups=groups, page=page, tier=tier or "all", filters=filters,
        flag_counts=flag_counts(period), tiers=FlagTier.choices, scope=scope,
    )  # fmt: skip
    return render(request, "dashboard/laggards.html", context)


@login_required
@require_GET
def unit_page(request, code: str):
    unit = unit_for_user(request.user, code)
    programmes = unit_programmes(unit)
    chosen = request.GET.get("programme")
    programme = next((p for p in programmes if p.code == chosen), programmes[-1] if programmes else None)
    data = unit_trend(unit, programme)
    if request.GET.get("format") == "xlsx":
        headers = [
            _("Target"), _("Reported on"), _("Period"), _("Value"), _("Official value"), _("Threshold"), _("Status"),
            _("Note"),
        ]  # fmt: skip
        rows = [
            [
                item.target.code,
                p.target.code,
                p.period.label,
                _num(p.value),
                _num(p.official),
                _num(p.threshold),
                str(Status(p.status).label),
                _point_note(p),
            ]
            for item in data["series"]
            for p in item.points
        ]
        title = _("Results of %s") % unit.name
        return _xlsx(f"ket-qua-{unit.code}", f"{title} · {programme}" if programme else title, None, headers, rows)
    chart = [
        {
            "code": item.target.code,
            "labels": [p.period.label for p in item.points],
            "values": [float(p.value) if p.value is not None else None for p in item.points],
            "thresholds": [float(p.threshold) if p.threshold is not None else None for p in item.points],
        }
        for item in data["series"]
    ]
    context = {"unit": unit, "chart": chart, "programmes": programmes, "programme": programme, **data}
    return render(request, "dashboard/unit.html", context)


def _point_note(point) -> str:
    notes = []
    if point.combined:
        names = ", ".join(u.name for u in point.combined_with)
        notes.append(_("combined with the counts of %s, absorbed later") % names)
        if point.incomplete:
            notes.append(_("incomplete: an absorbed unit had no approved figure"))
    if point.derived:
        notes.append(_("from predecessors"))
    return "; ".join(notes)


@dashboard_access
def target_page(request, code: str):
    period = _period(request)
    target = get_object_or_404(Target.objects.select_related("area"), code=code)
    # The .xlsx lists every unit missing the target; the page, a page of them.
    data = target_view(target, period, page=None if _wants_xlsx(request) else request.GET.get("page", 1))
    if _wants_xlsx(request):
        headers = [_("Unit code"), _("Unit"), _("Value"), _("Threshold"), _("Gap")]
        rows = [[r.unit.code, r.unit.name, r.value, r.threshold, r.gap] for r in data["missing"]]
        return _xlsx(f"{target.code}-{period.key}", _("Units missing %s") % target.code, period, headers, rows)
    chart = {
        "buckets": data["buckets"],
        "labels": [f"{i * 10}–{i * 10 + 10}%" for i in range(10)],
        "trend": [{"period": r.period.label, "value": _value(r), "threshold": _threshold(r)} for r in data["trend"]],
    }
    context = _context(request, period, target=target, chart=chart, **data)
    return render(request, "dashboard/target.html", context)
