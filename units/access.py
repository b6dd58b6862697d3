"""Who may do what: the role checks and the unit rule every app builds on.

Pages open to roles use a decorator (`role_required`); pages about one object go through that
object's access helper, which answers 404 to a person who may not see it (so that nobody learns
which codes exist) and says what the person may do with it.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Role, Unit, User

# Who reads every unit's reports and results: the secretariat and the Steering Committee.
PROVINCE_READERS = (Role.SECRETARIAT, Role.STEERING)


def has_any_role(user: User, roles) -> bool:
    return any(user.has_role(role) for role in roles)


def role_required(*roles: str):
    """Signed in, and holding one of `roles` on some unit; otherwise 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_any_role(request.user, roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


secretariat_required = role_required(Role.SECRETARIAT)
province_reader_required = role_required(*PROVINCE_READERS)


def can_view_unit(user: User, unit: Unit) -> bool:
    """Secretariat and steering members read every unit; reporters and heads their own units."""
    if has_any_role(user, PROVINCE_READERS):
        return True
    return user.has_role(Role.REPORTER, unit) or user.has_role(Role.UNIT_HEAD, unit)


def unit_for_user(user: User, code: str) -> Unit:
    """The unit of `code` if `user` may read its reports and results, else 404."""
    unit = get_object_or_404(Unit, code=code)
    if not can_view_unit(user, unit):
        raise Http404
    return unit
