"""Reporting periods: keys, data windows, deadlines, and the job that opens the next quarter."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from units.models import User

from .models import KEY_RE, Period, PeriodEvent, PeriodKind, PeriodState

# Parts of a key -> (kind, quarter, CCHC window start month/day offset, end month).
# The CCHC regime's windows run from the 15th to the 14th: Quý I is 15/12 of the year before to 14/3.
_PARTS = {
    "Q1": (PeriodKind.QUARTER, 1, (12, True), 3),
    "Q2": (PeriodKind.QUARTER, 2, (3, False), 6),
    "Q3": (PeriodKind.QUARTER, 3, (6, False), 9),
    "Q4": (PeriodKind.QUARTER, 4, (9, False), 12),
    "H1": (PeriodKind.HALF, None, (12, True), 6),
    "9M": (PeriodKind.NINE_MONTHS, None, (12, True), 9),
    "Y": (PeriodKind.YEAR, None, (12, True), 12),
}
_CALENDAR_START_MONTH = {"Q1": 1, "Q2": 4, "Q3": 7, "Q4": 10, "H1": 1, "9M": 1, "Y": 1}


class PeriodKeyError(ValueError):
    pass


def parse_key(key: str) -> tuple[int, str]:
    match = KEY_RE.match(key.strip().upper())
    if not match:
        raise PeriodKeyError(_("“%s” is not a period key (e.g. 2024-Q1, 2024-H1, 2024-9M, 2024-Y).") % key)
    return int(match["year"]), match["part"]


def period_window(key: str, *, calendar: bool = False) -> tuple[dt.date, dt.date]:
    """The data window of a period: CCHC 15th-to-14th by default, calendar months if asked."""
    year, part = parse_key(key)
    _kind, _quarter, (start_month, previous_year), end_month = _PARTS[part]
    if calendar:
        start = dt.date(year, _CALENDAR_START_MONTH[part], 1)
        next_month = dt.date(year + (end_month == 12), end_month % 12 + 1, 1)
        return start, next_month - dt.timedelta(days=1)
    return dt.date(year - previous_year, start_month, 15), dt.date(year, end_month, 14)


def default_deadline(end: dt.date) -> dt.date:
    """The internal deadline: a configurable day (default the 17th) of the window's last month,
    or of the next month when the window ends after that day (calendar periods end on the 31st)."""
    day = settings.REPORT_DEADLINE_DAY
    if end.day < day:
        return end.replace(day=day)
    return (end.replace(day=1) + dt.timedelta(days=32)).replace(day=day)


@transaction.atomic
def period_create(*, key: str, calendar: bool = False, deadline: dt.date | None = None) -> Period:
    """Create the period named `key` (or return it when it exists)."""
    year, part = parse_key(key)
    key = f"{year}-{part}"
    existing = Period.objects.filter(key=key).first()
    if existing:
        return existing
    kind, quarter, *_rest = _PARTS[part]
    start, end = period_window(key, calendar=calendar)
    period = Period(key=key, kind=kind, year=year, quarter=quarter, start=start, end=end)
    period.deadline = deadline or default_deadline(end)
    period.full_clean()
    period.save()
    return period


def quarter_containing(day: dt.date) -> str:
    """The key of the CCHC quarter whose window holds `day` (15/12 already belongs to next year's Q1)."""
    for quarter, (month, day_of_month) in enumerate([(3, 14), (6, 14), (9, 14), (12, 14)], start=1):
        if (day.month, day.day) <= (month, day_of_month):
            return f"{day.year}-Q{quarter}"
    return f"{day.year + 1}-Q1"


def periods_open_due(today: dt.date | None = None) -> Period:
    """Make sure the quarter under way exists; the scheduled job calls this daily (idempotent)."""
    today = today or timezone.localdate()
    return period_create(key=quarter_containing(today))


def _record(period: Period, changes: dict, by: User | None) -> None:
    if changes:
        PeriodEvent.objects.create(period=period, changes=changes, by=by, at=timezone.now())


@transaction.atomic
def period_set_state(*, period: Period, state: str, by: User | None = None) -> Period:
    """Open, close or lock a period, on the record.

    `locked_at` is set by the first lock and kept: it is the moment whose thresholds judge the
    period, and unlocking to correct a figure must not move it.
    """
    if period.state == state:
        return period
    changes = {"state": [period.state, state]}
    period.state = state
    if state == PeriodState.LOCKED and period.locked_at is None:
        period.locked_at = timezone.now()
    period.save(update_fields=["state", "locked_at"])
    _record(period, changes, by)
    return period


@transaction.atomic
def period_feature(*, period: Period | None, by: User | None = None) -> Period | None:
    """Make `period` the one the dashboard opens on (None: back to the latest closed quarter), on
    the record of both periods concerned."""
    current = Period.objects.select_for_update().filter(featured=True).first()
    if current == period:
        return period
    if current is not None:
        current.featured = False
        current.save(update_fields=["featured"])
        _record(current, {"featured": [True, False]}, by)
    if period is not None:
        period.featured = True
        period.save(update_fields=["featured"])
        _record(period, {"featured": [False, True]}, by)
    return period


@transaction.atomic
def period_set_deadline(*, period: Period, deadline: dt.date, by: User | None = None) -> Period:
    """Move a period's internal deadline, on the record. Reports already sent keep their lateness."""
    if period.deadline == deadline:
        return period
    changes = {"deadline": [period.deadline.isoformat(), deadline.isoformat()]}
    period.deadline = deadline
    period.full_clean()
    period.save(update_fields=["deadline"])
    _record(period, changes, by)
    return period
