from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from reports.models import Period, PeriodState
from reports.periods import PeriodKeyError, parse_key, period_create, period_set_state


class Command(BaseCommand):
    help = "Create a reporting period by its key (2024-Q1, 2024-H1, 2024-9M, 2024-Y) or change its state."

    def add_arguments(self, parser):
        parser.add_argument("key")
        parser.add_argument("--calendar", action="store_true", help="calendar-month window instead of 15th-14th")
        parser.add_argument("--state", choices=PeriodState.values)

    def handle(self, *args, key, calendar, state, **options):
        try:
            year, part = parse_key(key)
        except PeriodKeyError as exc:
            raise CommandError(str(exc)) from exc
        period = Period.objects.filter(key=f"{year}-{part}").first() or period_create(key=key, calendar=calendar)
        if state:
            period_set_state(period=period, state=state)
        self.stdout.write(
            _("%(key)s: data %(start)s-%(end)s, deadline %(deadline)s, %(state)s")
            % {
                "key": period.key,
                "start": period.start.strftime("%d/%m/%Y"),
                "end": period.end.strftime("%d/%m/%Y"),
                "deadline": period.deadline.strftime("%d/%m/%Y"),
                "state": period.get_state_display(),
            }
        )
