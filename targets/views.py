from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cchc_portal.imports import import_page
from cchc_portal.xlsx import XLSX_CONTENT_TYPE
from units.access import secretariat_required
from units.models import Level

from .excel import catalogue_export, catalogue_filename, catalogue_import
from .forms import CatalogueFilterForm, CatalogueImportForm
from .models import Target, Threshold
from .selectors import ThresholdResolver, catalogue, default_programme, describe_change


@login_required
def catalogue_list(request):
    """The targets of one programme (the open one of this year unless another is chosen), by area,
    with their thresholds by level for one year of the programme."""
    form = CatalogueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate().year
    programme = filters.get("programme") or default_programme(today)
    year = filters.get("year") or today
    if programme is not None:  # a year of the programme shown: another's thresholds would mislead
        year = min(max(year, programme.first_year), programme.last_year)
    area, level = filters.get("area"), filters.get("level", "")
    areas = list(catalogue(programme=programme, area=area.code if area else "", level=level))
    targets = [t for a in areas for t in a.listed_targets]
    # Only the levels the programme's targets are reported at (2026-2030 has no district level).
    levels = [(lv, label) for lv, label in Level.choices if any(t.applies_to(lv) for t in targets)] or Level.choices
    resolver = ThresholdResolver.load()
    for target in targets:
        target.threshold_cells = [
            resolver.resolve(target.pk, lv, year) if target.applies_to(lv) else None for lv, _label in levels
        ]
    context = {"form": form, "areas": areas, "year": year, "levels": levels, "programme": programme}
    return render(request, "targets/catalogue.html", context)


@login_required
def target_detail(request, code: str):
    target = get_object_or_404(Target.objects.select_related("area", "programme", "continues__programme"), code=code)
    years = list(range(target.first_year, target.end_year + 1))
    resolver = ThresholdResolver.load(targets=[target])
    table = [
        (label, [resolver.resolve(target.pk, lv, y) for y in years])
        for lv, label in Level.choices
        if target.applies_to(lv)
    ]
    context = {
        "target": target,
        "continued_by": target.continued_by.select_related("programme").first(),
        "years": years,
        "table": table,
        "rows": Threshold.objects.filter(target=target)
        .select_related("recorded_by")
        .order_by("level", "from_year", "recorded_at"),
        "changes": [(c, describe_change(c)) for c in target.changes.select_related("changed_by")],
    }
    return render(request, "targets/target_detail.html", context)


@secretariat_required
def catalogue_download(request):
    response = HttpResponse(catalogue_export(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{catalogue_filename()}"'
    return response


@secretariat_required
@require_http_methods(["GET", "POST"])
def catalogue_upload(request):
    return import_page(
        request,
        form=CatalogueImportForm(request.POST or None, request.FILES or None),
        run=lambda file, reason: catalogue_import(upload=file, by=request.user, reason=reason),
        done=lambda result: (
            _("Catalogue imported: %(areas)d areas, %(targets)d targets and %(thresholds)d thresholds changed.")
            % {key: result.saved.get(key, 0) for key in ("areas", "targets", "thresholds")}
        ),
        success_url=reverse("targets:catalogue"),
        template="targets/import.html",
    )
