"""Who may see and touch which submission."""

from __future__ import annotations

from units.models import Role, Unit, User


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
