"""Reads about units shared by views, services and the attainment engine."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import F, Q, QuerySet

from .models import RoleAssignment, SuccessionLink, Unit


def predecessors_in_force(
    day: dt.date, units: dict[int, Unit], links: Iterable[tuple[int, int, Decimal]]
) -> dict[int, list[tuple[int, Decimal]]]:
    """For each unit created after `day`: the units in force on `day` it descends from, with the
    share of each it carries. Merges add up (share 1 each), a split hands on its recorded weight,
    chains multiply. In memory over rows already loaded, for the engine's whole-period runs.

    `links` are (predecessor_id, successor_id, weight) rows; `units` all units by id.
    """
    backwards: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for predecessor_id, successor_id, weight in links:
        backwards[successor_id].append((predecessor_id, weight))
    result = {}
    for unit in units.values():
        if unit.valid_from <= day:
            continue
        found: dict[int, Decimal] = defaultdict(Decimal)
        stack, seen = [(unit.pk, Decimal(1))], set()
        while stack:
            node, share = stack.pop()
            for predecessor_id, weight in backwards.get(node, []):
                if (node, predecessor_id) in seen:
                    continue  # a cycle in bad data must not loop forever
                seen.add((node, predecessor_id))
                predecessor = units.get(predecessor_id)
                if predecessor is None:
                    continue
                if predecessor.is_current_on(day):
                    found[predecessor_id] += share * weight
                else:
                    stack.append((predecessor_id, share * weight))
        if found:
            result[unit.pk] = list(found.items())
    return result


def unit_succession_history(unit: Unit) -> QuerySet[SuccessionLink]:
    """Links in which `unit` is predecessor or successor, newest event first."""
    return (
        SuccessionLink.objects.filter(Q(predecessor=unit) | Q(successor=unit))
        .select_related("event", "predecessor", "successor")
        .order_by("-event__effective_date", "event__code", "predecessor__code")
    )


def unit_people(unit: Unit) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(unit=unit).select_related("user").order_by("role", "user__full_name")


def unit_directory(*, query: str = "", include_closed: bool = False) -> QuerySet[Unit]:
    """The directory: units in force, or every unit. A search looks among closed units too (a
    district closed on 30/06/2025 is still looked up by name), units in force listed first."""
    if query.strip():
        units = Unit.objects.search(query).order_by(F("valid_to").desc(nulls_first=True), "path")
        return units.select_related("parent")
    units = Unit.objects.all() if include_closed else Unit.objects.open()
    return units.select_related("parent").order_by("path")
