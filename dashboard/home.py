"""Each person's start page: the reports they fill or review, and the results they answer for."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from reports.access import reports_for_user, reviews
from reports.models import Period
from reports.selectors import reporting_progress
from units.models import Role, Unit

from .selectors import dashboard_period, member_summary, unit_summary
from .setup import setup_checklist


@login_required
def home(request):
    user = request.user
    periods = list(Period.objects.open().order_by("deadline"))
    shown = dashboard_period(None)
    headed = Unit.objects.filter(pk__in=user.unit_ids_for(Role.UNIT_HEAD)).order_by("path")
    # Until the province is set up, the secretariat (or the superuser setting up an empty portal) sees what is left.
    checklist = setup_checklist(user) if reviews(user) or user.is_superuser else None
    context = {
        "rows": reports_for_user(user, timezone.localdate()),
        "summary": reporting_progress(periods) if reviews(user) else [],
        "import_periods": periods if user.unit_ids_for(Role.REPORTER) else [],
        "results_period": shown,
        "member": member_summary(user, shown) if shown and user.has_role(Role.STEERING) else None,
        "headed": [unit_summary(unit, shown) for unit in headed] if shown else [],
        "setup": checklist if checklist and not checklist.complete else None,
    }
    return render(request, "dashboard/home.html", context)
