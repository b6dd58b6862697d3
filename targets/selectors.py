"""Reads of the catalogue: which threshold applies to whom, the programmes and the series their
targets make, and the catalogue page's listing.

Other apps call these for programme selection and trends:

- `programme_of_year(year)`: the programme whose years hold `year` (the one that scores it), or None.
- `programme_choices()`: (code, label) of every programme, newest first, a closed one marked so.
- `default_programme(year)`: the programme a page opens on: the open one of `year`, else the
  latest open one, else the latest.
- `lineage(target)`: the series a target belongs to up to it, oldest first (the chain of
  `continues`, ending with `target`).
- `lineages(targets)`: the same as ids for many targets, {target id: [ids, oldest first]}.
- `lineage_map(targets)`: {target id: id of the oldest target of its series} (itself when it
  continues nothing).

The lineage reads take one query over the catalogue's (id, continues) pairs, whatever the number
of targets; `lineage` one more for the targets themselves.
"""

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

from .models import Area, CatalogueChange, Programme, Target, Threshold

# A series of programmes is short (2021-2025, 2026-2030, ...); the walk stops here in bad data.
MAX_LINEAGE = 20


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


# --- Programmes ------------------------------------------------------------------------------------


def programme_of_year(year: int) -> Programme | None:
    """The programme whose years hold `year`: the one a period of that year is scored under."""
    return Programme.objects.covering(year).first()


def programme_choices() -> list[tuple[str, str]]:
    """(code, label) of every programme, newest first, for a select; a closed one says so."""
    return [(p.code, programme_label(p)) for p in Programme.objects.order_by("-first_year")]


def programme_label(programme: Programme) -> str:
    label = f"{programme.years} · {programme.name}"
    return _("%(programme)s (closed)") % {"programme": label} if programme.closed else label


def default_programme(year: int) -> Programme | None:
    """The programme a page opens on: the open programme of `year`, else the latest open one,
    else the latest one."""
    programmes = list(Programme.objects.order_by("-first_year"))
    of_year = next((p for p in programmes if p.first_year <= year <= p.last_year and not p.closed), None)
    return of_year or next((p for p in programmes if not p.closed), None) or next(iter(programmes), None)


# --- Series across programmes ---------------------------------------------------------------------


def lineages(targets: Iterable[Target | int]) -> dict[int, list[int]]:
    """For each target, the ids of its series up to it, oldest first: the targets it continues,
    then itself. One query, whatever the number of targets."""
    continues = dict(Target.objects.values_list("pk", "continues_id"))
    chains = {}
    for target in targets:
        node = target if isinstance(target, int) else target.pk
        chain = [node]
        while (node := continues.get(node)) is not None and node not in chain and len(chain) < MAX_LINEAGE:
            chain.append(node)
        chains[chain[0]] = chain[::-1]
    return chains


def lineage_map(targets: Iterable[Target | int]) -> dict[int, int]:
    """{target id: id of the oldest target of its series}; a target that continues nothing is
    its own root. One query."""
    return {target_id: chain[0] for target_id, chain in lineages(targets).items()}


def lineage(target: Target) -> list[Target]:
    """The series `target` ends: the targets it continues, oldest first, then `target` itself.
    Two queries."""
    ids = lineages([target])[target.pk]
    found = Target.objects.select_related("programme").in_bulk(ids[:-1])
    return [found[i] for i in ids[:-1] if i in found] + [target]


# --- The catalogue page ---------------------------------------------------------------------------


def catalogue(*, programme: Programme | None = None, area: str = "", level: str = "") -> QuerySet[Area]:
    """Areas with the targets of `programme` (every programme when None), filtered by area code
    and by the level that reports them; each target with its programme and the target it continues."""
    targets = Target.objects.select_related("programme", "continues__programme")
    if programme is not None:
        targets = targets.of_programme(programme)
    if level:
        targets = targets.for_level(level)
    areas = Area.objects.prefetch_related(Prefetch("targets", queryset=targets, to_attr="listed_targets"))
    return areas.filter(code=area) if area else areas


def describe_change(change: CatalogueChange) -> list[tuple[str, str, str]]:
    """(what, before, after) lines of a recorded change, in words a reader of the page knows."""
    data = change.changes
    if "threshold" in data:
        level = str(Level(data["level"]).label) if data.get("level") else str(_("every level"))
        what = _("Threshold (%(level)s, from %(year)s)") % {"level": level, "year": data.get("from_year")}
        return [(what, _shown(data["threshold"][0]), _shown(data["threshold"][1]))]
    model = Target if change.target_id else Area if change.area_id else Programme
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
            shown = "code" if field.related_model in (Target, Programme) else "name"
            names = dict(field.related_model.objects.filter(pk__in=[old, new]).values_list("pk", shown))
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
