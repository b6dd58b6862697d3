"""Is the province ready to report? The checklist on the secretariat's home until it is.

Five items, each done or not, each with a link to where it is done: units (a department and a
commune-level unit in force), the catalogue (targets in force this year, with a threshold, for
every level that has units), a period open now with a deadline, accounts (a reporter on every
unit that reports, and how many invited people have not set their password yet), and the day
the first reminders go. A handful of queries, whatever the size of the province.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from reports.models import Period
from targets.models import Target
from targets.selectors import ThresholdResolver
from units.invitations import invited_not_activated
from units.models import KIND_LEVEL, Level, Role, RoleAssignment, Unit, User


@dataclass(frozen=True)
class SetupItem:
    key: str
    title: str
    done: bool
    detail: str
    url: str = ""
    link: str = ""


@dataclass(frozen=True)
class SetupChecklist:
    items: list[SetupItem]

    @property
    def complete(self) -> bool:
        return all(item.done for item in self.items)


def _day(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def setup_checklist(user: User, today: dt.date | None = None) -> SetupChecklist:
    today = today or timezone.localdate()
    in_force = Unit.objects.current_on(today)
    reporting = in_force.below_province()
    kinds = set(reporting.values_list("kind", flat=True).distinct())
    levels = [level for level in Level.values if any(KIND_LEVEL[kind] == level for kind in kinds)]
    period = Period.objects.open().filter(deadline__gte=today).order_by("deadline").first()
    items = [
        _units_item(in_force),
        _catalogue_item(levels, today.year),
        _period_item(period, user),
    ]
    reporters = RoleAssignment.objects.filter(role=Role.REPORTER, unit=OuterRef("pk"), user__is_active=True)
    without_reporter = reporting.exclude(Exists(reporters)).count()
    items.append(_accounts_item(reporting.exists(), without_reporter))
    unreachable = reporting.exclude(Exists(reporters.exclude(user__email=""))).count()
    items.append(_reminders_item(period, unreachable))
    return SetupChecklist(items)


def _units_item(in_force) -> SetupItem:
    departments = in_force.at_level(Level.DEPARTMENT).count()
    communes = in_force.at_level(Level.COMMUNE).count()
    return SetupItem(
        "units",
        _("Units"),
        departments > 0 and communes > 0,
        _("%(departments)d departments and agencies, %(communes)d commune-level units in force.")
        % {"departments": departments, "communes": communes},
        reverse("units:setup"),
        _("Import units and people"),
    )


def _catalogue_item(levels: list[str], year: int) -> SetupItem:
    targets = {level: list(Target.objects.in_force(year).for_level(level)) for level in levels}
    resolver = ThresholdResolver.load(targets={t for level_targets in targets.values() for t in level_targets})
    empty = [str(Level(level).label) for level in levels if not targets[level]]
    unset = sorted({t.code for level in levels for t in targets[level] if resolver.resolve(t.pk, level, year) is None})
    problems = []
    if not levels:
        problems.append(_("No unit reports yet: import the units first."))
    if empty:
        problems.append(
            _("No target in force in %(year)d for: %(levels)s.") % {"year": year, "levels": ", ".join(empty)}
        )
    if unset:
        problems.append(
            _("Targets without a threshold for %(year)d: %(codes)s.") % {"year": year, "codes": ", ".join(unset)}
        )
    detail = " ".join(problems) or _("%(count)d targets in force in %(year)d, each with its threshold.") % {
        "count": len({t.pk for level_targets in targets.values() for t in level_targets}),
        "year": year,
    }
    return SetupItem(
        "catalogue", _("Target catalogue"), not problems, detail, reverse("targets:catalogue"), _("Open the catalogue")
    )


def _period_item(period: Period | None, user: User) -> SetupItem:
    url = reverse("admin:reports_period_changelist") if user.is_staff else ""
    if period is None:
        detail = _(
            "No period is open for reporting. manage.py period (e.g. 2026-Q4) creates one; the administration "
            "pages open, close and lock periods and move their deadline."
        )
    else:
        detail = _("%(period)s is open; the deadline is %(deadline)s.") % {
            "period": period.label,
            "deadline": _day(period.deadline),
        }
    return SetupItem("period", _("Reporting period"), period is not None, detail, url, _("Periods") if url else "")


def _accounts_item(any_unit: bool, without_reporter: int) -> SetupItem:
    pending = invited_not_activated()
    detail = (
        _("%(count)d units in force have no reporter.") % {"count": without_reporter}
        if without_reporter
        else _("Every unit in force has a reporter.")
    )
    if pending:
        detail += " " + _("%(count)d invited people have not set their password yet.") % {"count": pending}
    url = reverse("units:people") + ("?pending=on" if pending else "")
    return SetupItem(
        "accounts", _("Accounts"), any_unit and without_reporter == 0, detail, url, _("People and invitations")
    )


def _reminders_item(period: Period | None, unreachable: int) -> SetupItem:
    if period is None:
        return SetupItem("reminders", _("Reminders"), False, _("Reminders are dated from the open period's deadline."))
    day = period.deadline - dt.timedelta(days=settings.REMINDER_DAYS_BEFORE)
    detail = _(
        "The first reminders go on %(day)s (the deadline less %(days)d days) to units that have sent nothing."
    ) % {"day": _day(day), "days": settings.REMINDER_DAYS_BEFORE}
    if unreachable:
        detail += " " + _("%(count)d units have no reporter with an e-mail address: they will not receive them.") % {
            "count": unreachable
        }
    return SetupItem("reminders", _("Reminders"), unreachable == 0, detail, reverse("units:people"), "")
