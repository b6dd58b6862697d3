"""Who may do what: the checks views share."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def secretariat_required(view):
    """Only Sở Nội vụ staff (the secretariat role) get past; others get 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_secretariat:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
