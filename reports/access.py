"""Who may see and touch which submission."""

from __future__ import annotations

from django.db.models import QuerySet

from units.models import Role, Unit, User

from .models import Submission


def can_view_unit(user: User, unit: Unit) -> bool:
    """Secretariat and steering members read every unit; reporters and heads their own units."""
    if user.has_role(Role.SECRETARIAT) or user.has_role(Role.STEERING):
        return True
    return user.has_role(Role.REPORTER, unit) or user.has_role(Role.UNIT_HEAD, unit)


def can_edit(user: User, unit: Unit) -> bool:
    """Only the unit's own reporters fill and send its figures."""
    return user.has_role(Role.REPORTER, unit)


def can_review(user: User) -> bool:
    return user.has_role(Role.SECRETARIAT)


def units_visible_to(user: User) -> QuerySet[Unit]:
    if user.has_role(Role.SECRETARIAT) or user.has_role(Role.STEERING):
        return Unit.objects.all()
    ids = user.unit_ids_for(Role.REPORTER) | user.unit_ids_for(Role.UNIT_HEAD)
    return Unit.objects.filter(pk__in=ids)


def submissions_visible_to(user: User) -> QuerySet[Submission]:
    return Submission.objects.filter(unit__in=units_visible_to(user))
