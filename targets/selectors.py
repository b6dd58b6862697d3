"""Reads of the catalogue: which threshold applies to whom, and the catalogue page's listing."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from units.models import Level
from units.templatetags.portal import num

from .models import Area, CatalogueChange, Target, Threshold


class ThresholdResolver:
    """Answers "what threshold applies to level L for target T in year Y", from one query.

    Resolution, most specific rule first: a row for the unit's own level beats a row for every
    level; within a level, the row with the latest `from_year` not after Y applies (a roadmap).
    `as_of` reads the catalogue as it stood at that moment, so a period is judged against the
    thresholds in force when it was reported.
    """

    def __init__(self, rows: Iterable[tuple[int, str, int, Decimal]]):
        table: dict[tuple[int, str], list[tuple[int, Decimal]]] = defaultdict(list)
        for target_id, level, from_year, value in rows:
            table[(target_id, level)].append((from_year, value))
        self._years = {key: sorted(v) for key, v in table.items()}

    @classmethod
    def load(cls, *, as_of: dt.datetime | None = None, targets: Iterable[Target] | None = None) -> ThresholdResolver:
        rows = Threshold.objects.in_force_at(as_of or timezone.now())
        if targets is not None:
            rows = rows.filter(target__in=list(targets))
        return cls(rows.values_list("target_id", "level", "from_year", "value"))

    def resolve(self, target_id: int, level: str, year: int) -> Decimal | None:
        for key in ((target_id, level), (target_id, "")):
            rows = self._years.get(key)
            if rows:
                index = bisect.bisect_right(rows, (year, Decimal("Infinity"))) - 1
                if index >= 0:
                    return rows[index][1]
        return None


def catalogue(*, area: str = "", level: str = "") -> QuerySet[Area]:
    """Areas with their targets, filtered by area code and by the level that reports them."""
    targets = Target.objects.all()
    if level:
        targets = targets.for_level(level)
    areas = Area.objects.prefetch_related(Prefetch("targets", queryset=targets, to_attr="listed_targets"))
    return areas.filter(code=area) if area else areas


def catalogue_years() -> list[int]:
    """Years the catalogue covers, for the threshold tables."""
    first = min(Target.objects.values_list("first_year", flat=True), default=None)
    if first is None:
        return []
    last = max((y or first for y in Target.objects.values_list("last_year", flat=True)), default=first)
    return list(range(first, max(last, first) + 1))


def describe_change(change: CatalogueChange) -> list[tuple[str, str, str]]:
    """(what, before, after) lines of a recorded change, in words a reader of the page knows."""
    data = change.changes
    if "threshold" in data:
        level = str(Level(data["level"]).label) if data.get("level") else str(_("every level"))
        what = _("Threshold (%(level)s, from %(year)s)") % {"level": level, "year": data.get("from_year")}
        return [(what, _shown(data["threshold"][0]), _shown(data["threshold"][1]))]
    model = Target if change.target_id else Area
    lines = []
    for name, (old, new) in data.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            lines.append((name, _shown(old), _shown(new)))
            continue
        if field.choices:
            labels = dict(field.choices)
            old, new = labels.get(old, old), labels.get(new, new)
        elif field.is_relation:
            names = dict(field.related_model.objects.filter(pk__in=[old, new]).values_list("pk", "name"))
            old, new = names.get(old, old), names.get(new, new)
        lines.append((str(field.verbose_name).capitalize(), _shown(old), _shown(new)))
    return lines


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, int):
        return str(value)  # years and orders: no thousands separator
    if isinstance(value, str):
        try:
            return num(Decimal(value))
        except InvalidOperation:
            return value
    return str(value)
