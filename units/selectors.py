"""Reads about units shared by views, services and later the attainment engine."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import RoleAssignment, SuccessionLink, Unit

# One recursive query walks the succession graph in either direction; UNION stops on cycles.
_CHAIN_SQL = """
WITH RECURSIVE chain(unit_id) AS (
    SELECT {next} FROM units_successionlink WHERE {this} = %s
    UNION
    SELECT l.{next} FROM units_successionlink l JOIN chain c ON l.{this} = c.unit_id
)
SELECT unit_id FROM chain
"""


def unit_predecessors(unit: Unit) -> QuerySet[Unit]:
    """Every unit that was merged, split or renamed into `unit`, however many steps back."""
    sql = _CHAIN_SQL.format(this="successor_id", next="predecessor_id")
    return Unit.objects.filter(id__in=RawSQL(sql, [unit.pk]))  # noqa: S611 - constant SQL, bound parameter


def unit_successors(unit: Unit) -> QuerySet[Unit]:
    """Every unit that took over from `unit`, however many steps forward."""
    sql = _CHAIN_SQL.format(this="predecessor_id", next="successor_id")
    return Unit.objects.filter(id__in=RawSQL(sql, [unit.pk]))  # noqa: S611 - constant SQL, bound parameter


def unit_current_on(unit: Unit, day: dt.date) -> list[Unit]:
    """The unit(s) that stand for `unit` on `day`: itself while it exists, its successors after it
    closed, its predecessors before it was created. Several after a split or before a merger."""
    if unit.is_current_on(day):
        return [unit]
    related = unit_successors(unit) if unit.valid_to and day > unit.valid_to else unit_predecessors(unit)
    return list(related.current_on(day).order_by("path"))


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
    units = Unit.objects.all() if include_closed else Unit.objects.open()
    if query.strip():
        units = units.search(query)
    return units.select_related("parent").order_by("path")
