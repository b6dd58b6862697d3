"""Writes and reorganisation logic for units."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from cchc_portal.text import fold, nfc

from .models import Unit


def units_rebuild_derived() -> int:
    """Recompute `path` and `search_name` of every unit; returns how many rows changed.

    One read, one bulk write: used after loading fixtures (which bypass model code) and after a
    unit is moved, since a move changes the path of the whole subtree.
    """
    units = list(Unit.objects.only("id", "code", "name", "parent_id", "path", "search_name"))
    by_id = {u.id: u for u in units}
    paths: dict[int, str] = {}

    def path_of(unit: Unit) -> str:
        if unit.id not in paths:
            seen: list[Unit] = []
            node: Unit | None = unit
            while node is not None and node.id not in paths:
                if node in seen:
                    raise ValueError(f"Unit hierarchy has a cycle at {node.code}")
                seen.append(node)
                node = by_id.get(node.parent_id) if node.parent_id else None
            prefix = paths[node.id] if node is not None else "/"
            for item in reversed(seen):
                prefix = item.derived_path(prefix)
                paths[item.id] = prefix
        return paths[unit.id]

    changed = []
    for unit in units:
        path, search_name = path_of(unit), fold(f"{unit.name} {unit.code}")
        if (unit.path, unit.search_name) != (path, search_name):
            unit.path, unit.search_name = path, search_name
            changed.append(unit)
    Unit.objects.bulk_update(changed, ["path", "search_name"], batch_size=500)
    return len(changed)


@transaction.atomic
def unit_save(*, unit: Unit) -> Unit:
    """Validate and save a unit created or edited by a person, keeping derived columns right."""
    unit.name = nfc(unit.name.strip())
    unit.code = unit.code.strip()
    unit.search_name = fold(f"{unit.name} {unit.code}")
    moved = (
        unit.pk is None or Unit.objects.filter(pk=unit.pk).exclude(parent_id=unit.parent_id, code=unit.code).exists()
    )
    unit.full_clean()
    unit.save()
    if moved:
        units_rebuild_derived()
        unit.refresh_from_db(fields=["path"])
    return unit


@transaction.atomic
def unit_close(*, unit: Unit, last_day: dt.date) -> Unit:
    """Close a unit: it stays in the database with its history, valid until `last_day`."""
    unit.valid_to = last_day
    unit.full_clean()
    unit.save(update_fields=["valid_to"])
    return unit
