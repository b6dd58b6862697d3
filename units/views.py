from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .forms import UnitSearchForm
from .models import KIND_LEVEL, Level, Unit
from .selectors import unit_directory, unit_people, unit_succession_history


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
