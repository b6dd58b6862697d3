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
from .selectors import ThresholdResolver, catalogue, catalogue_years, describe_change


def _default_year(years: list[int]) -> int:
    today = timezone.localdate().year
    return min(today, years[-1]) if years else today


@login_required
def catalogue_list(request):
    form = CatalogueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    years = catalogue_years()
    year = filters.get("year") or _default_year(years)
    area, level = filters.get("area"), filters.get("level", "")
    areas = list(catalogue(area=area.code if area else "", level=level))
    resolver = ThresholdResolver.load()
    for item in areas:
        for target in item.listed_targets:
            target.threshold_cells = [
                resolver.resolve(target.pk, lv, year) if target.applies_to(lv) else None for lv in Level.values
            ]
    context = {"form": form, "areas": areas, "year": year, "levels": Level.choices}
    return render(request, "targets/catalogue.html", context)


@login_required
def target_detail(request, code: str):
    target = get_object_or_404(Target.objects.select_related("area"), code=code)
    last = target.last_year or max(target.first_year, timezone.localdate().year)
    years = list(range(target.first_year, last + 1))
    resolver = ThresholdResolver.load(targets=[target])
    table = [
        (label, [resolver.resolve(target.pk, lv, y) for y in years])
        for lv, label in Level.choices
        if target.applies_to(lv)
    ]
    context = {
        "target": target,
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
