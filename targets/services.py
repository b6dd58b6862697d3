"""Writes to the target catalogue. Every change records who, when, what and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from cchc_portal.text import nfc
from units.models import User

from .models import Area, CatalogueChange, ChangeAction, Programme, Target, Threshold
from .signals import catalogue_changed

CENTS = Decimal("0.01")
TEXT_FIELDS = ("title", "description", "numerator_label", "denominator_label", "baseline_label", "legal_source")


def _jsonable(value):
    return str(value) if isinstance(value, Decimal | dt.date) else value


def _diff(before: dict, after: dict) -> dict[str, list]:
    return {k: [_jsonable(before.get(k)), _jsonable(v)] for k, v in after.items() if before.get(k) != v}


def _log(
    *,
    action: str,
    changes: dict,
    by: User | None,
    reason: str,
    at: dt.datetime,
    target: Target | None = None,
    area: Area | None = None,
    programme: Programme | None = None,
) -> None:
    change = CatalogueChange(
        target=target,
        area=area,
        programme=programme,
        action=action,
        changes=changes,
        reason=nfc(reason.strip()),
        changed_by=by,
    )
    change.changed_at = at
    change.full_clean()
    change.save()


def refuse_closed(programme: Programme | None) -> None:
    """A closed programme's targets and thresholds are history: kept for reading, never changed."""
    if programme is not None and programme.closed:
        raise ValidationError(
            _("The programme %(programme)s is closed: its targets can no longer be changed or given thresholds.")
            % {"programme": programme.code},
            code="programme_closed",
        )


def _save_recorded(
    instance: Area | Programme | Target,
    *,
    by: User | None,
    reason: str,
    at: dt.datetime,
    guard: Callable[[Area | Programme | Target | None], None] | None = None,
) -> bool:
    """Validate and save `instance`, recording the fields that changed, who, when and why;
    returns whether anything changed. `guard(stored)` may refuse a change before it is saved."""
    instance.full_clean()
    model, exclude = type(instance), ["id"]
    stored = model.objects.get(pk=instance.pk) if instance.pk else None
    before = model_to_dict(stored, exclude=exclude) if stored else {}
    changes = _diff(before, model_to_dict(instance, exclude=exclude))
    if not changes:
        return False
    if guard is not None:
        guard(stored)
    instance.save()
    action = ChangeAction.UPDATED if before else ChangeAction.CREATED
    _log(**{model._meta.model_name: instance}, action=action, changes=changes, by=by, reason=reason, at=at)
    return True


@transaction.atomic
def area_save(*, area: Area, by: User | None, reason: str, at: dt.datetime | None = None) -> Area:
    """Create or update a reform area, recording what changed and why."""
    area.name = nfc(area.name.strip())
    _save_recorded(area, by=by, reason=reason, at=at or timezone.now())
    return area


@transaction.atomic
def programme_save(*, programme: Programme, by: User | None, reason: str, at: dt.datetime | None = None) -> Programme:
    """Create or update a programme (its years and how units are scored), recording what changed
    and why; results are judged anew since scores may change."""
    programme.name = nfc(programme.name.strip())
    if _save_recorded(programme, by=by, reason=reason, at=at or timezone.now()):
        catalogue_changed.send(sender=Programme)
    return programme


@transaction.atomic
def target_save(*, target: Target, by: User | None, reason: str, at: dt.datetime | None = None) -> Target:
    """Create or update a target, recording the fields that changed and the reason.

    A target of a closed programme is refused any change, and so is moving a target into one.
    """
    for field in TEXT_FIELDS:
        setattr(target, field, nfc(getattr(target, field).strip()))

    def guard(stored: Target | None) -> None:
        refuse_closed(stored.programme if stored else None)
        refuse_closed(target.programme)

    if _save_recorded(target, by=by, reason=reason, at=at or timezone.now(), guard=guard):
        catalogue_changed.send(sender=Target)
    return target


@transaction.atomic
def threshold_set(
    *,
    target: Target,
    level: str,
    from_year: int,
    value: Decimal,
    by: User | None,
    reason: str,
    at: dt.datetime | None = None,
) -> Threshold:
    """Make `value` the threshold of `target` for `level` ("" = every level) from `from_year` on.

    The row in force is superseded, never edited, so earlier periods keep their thresholds.
    Setting the value already in force changes nothing.
    """
    at = at or timezone.now()
    value = Decimal(value).quantize(CENTS)
    current = (
        Threshold.objects.select_for_update()
        .filter(target=target, level=level, from_year=from_year, superseded_at__isnull=True)
        .first()
    )
    if current is not None and current.value == value:
        return current
    refuse_closed(target.programme)
    if current is not None:
        current.superseded_at = at
        current.save(update_fields=["superseded_at"])
    threshold = Threshold(target=target, level=level, from_year=from_year, value=value, recorded_at=at, recorded_by=by)
    threshold.full_clean()
    threshold.save()
    old = str(current.value) if current else None
    catalogue_changed.send(sender=Target)
    _log(
        target=target,
        action=ChangeAction.THRESHOLD_SET,
        changes={"threshold": [old, str(threshold.value)], "level": level, "from_year": from_year},
        by=by,
        reason=reason,
        at=at,
    )
    return threshold


@transaction.atomic
def threshold_remove(*, threshold: Threshold, by: User | None, reason: str, at: dt.datetime | None = None) -> None:
    """Stop a threshold row from applying from now on; it stays for the periods it judged."""
    refuse_closed(threshold.target.programme)
    at = at or timezone.now()
    threshold.superseded_at = at
    threshold.save(update_fields=["superseded_at"])
    catalogue_changed.send(sender=Target)
    _log(
        target=threshold.target,
        action=ChangeAction.THRESHOLD_REMOVED,
        changes={"threshold": [str(threshold.value), None], "level": threshold.level, "from_year": threshold.from_year},
        by=by,
        reason=reason,
        at=at,
    )


@transaction.atomic
def thresholds_replace(
    *, target: Target, wanted: dict[tuple[str, int], Decimal], by: User | None, reason: str, at: dt.datetime
) -> int:
    """Make the target's thresholds in force exactly `wanted` ((level, from_year) -> value).

    Returns the number of rows changed.
    """
    changed = 0
    for row in Threshold.objects.current().filter(target=target):
        if (row.level, row.from_year) not in wanted:
            threshold_remove(threshold=row, by=by, reason=reason, at=at)
            changed += 1
    current = {(t.level, t.from_year): t.value for t in Threshold.objects.current().filter(target=target)}
    for (level, from_year), value in sorted(wanted.items()):
        if current.get((level, from_year)) != value:
            threshold_set(target=target, level=level, from_year=from_year, value=value, by=by, reason=reason, at=at)
            changed += 1
    return changed
