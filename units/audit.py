"""The record of changes to units and accounts: each field's [old, new], who, when, from where.

The import writes these rows in bulk; the administration pages write one per save. Values are
stored as JSON: dates as ISO text, a parent as its code, so a row still reads right after the
parent itself is renamed or closed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .models import Unit, UnitChange, UnitChangeAction, User
from .services import unit_save

UNIT_FIELDS = ("code", "name", "kind", "parent", "valid_from", "valid_to", "is_pilot")
ACCOUNT_FIELDS = ("username", "email", "full_name", "phone", "position")


def jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: dict, after: dict) -> dict[str, list]:
    """{field: [old, new]} for the fields that differ; a new record has None as every old value."""
    return {
        key: [jsonable(before.get(key)), jsonable(value)] for key, value in after.items() if before.get(key) != value
    }


def unit_values(unit: Unit, parent_code: str | None) -> dict:
    """What the record keeps of a unit: its own fields and its parent's code."""
    values = {field: getattr(unit, field) for field in UNIT_FIELDS if field != "parent"}
    values["parent"] = parent_code
    return values


def account_values(user: User) -> dict:
    return {field: getattr(user, field) for field in ACCOUNT_FIELDS}


@transaction.atomic
def unit_save_recorded(*, unit: Unit, by: User | None, source: str = "") -> Unit:
    """`unit_save`, with a UnitChange row saying what changed (nothing recorded when nothing did)."""
    before = {}
    if unit.pk is not None:
        stored = Unit.objects.select_related("parent").get(pk=unit.pk)
        before = unit_values(stored, stored.parent.code if stored.parent_id else None)
    unit = unit_save(unit=unit)
    parent_code = Unit.objects.filter(pk=unit.parent_id).values_list("code", flat=True).first()
    changes = diff(before, unit_values(unit, parent_code))
    if changes:
        UnitChange.objects.create(
            unit=unit,
            action=UnitChangeAction.UPDATED if before else UnitChangeAction.CREATED,
            changes=changes,
            source=source,
            changed_by=by,
            changed_at=timezone.now(),
        )
    return unit
