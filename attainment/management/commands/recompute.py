from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from attainment.services import all_refresh
from reports.models import Period


class Command(BaseCommand):
    help = "Recompute attainment, roll-ups, scores and laggards: one period (--period 2024-Q3) or all."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="period key, e.g. 2024-Q3; every period when omitted")

    def handle(self, *args, period=None, **options):
        periods = Period.objects.order_by("end", "kind")
        if period:
            periods = periods.filter(key=period.strip().upper())
            if not periods:
                raise CommandError(_("No period %s.") % period)
        for refresh in all_refresh(periods):
            if refresh.busy:
                self.stdout.write(_("%(period)s: being recomputed by a worker already.") % {"period": refresh.period})
            elif refresh.skipped and not refresh.runs:
                self.stdout.write(_("%(period)s: skipped, no approved figure.") % {"period": refresh.period})
            for summary in refresh.runs:
                self.stdout.write(
                    _(
                        "%(period)s: %(rows)d results (%(changed)d changed status), %(scores)d scores, "
                        "%(rollups)d roll-ups, %(laggards)d laggard units, in %(seconds).1f s"
                    )
                    % {
                        "period": summary.period,
                        "rows": summary.attainments,
                        "changed": summary.changed,
                        "scores": summary.scores,
                        "rollups": summary.rollups,
                        "laggards": summary.laggards,
                        "seconds": summary.seconds,
                    }
                )
