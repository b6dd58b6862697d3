from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from attainment.engine import period_recompute
from attainment.services import stale_periods
from reports.demo import OPEN_QUARTER, demo_submissions_create, older_demo
from targets.models import Target
from units.demo import DEMO_PASSWORD, demo_users_create
from units.services import units_rebuild_derived


class Command(BaseCommand):
    help = "Load the demo province as it stands on 1/12/2026 and one demo account per role. Safe to run again."

    def handle(self, *args, **options):
        call_command("loaddata", "demo_province", verbosity=0)
        units_rebuild_derived()
        # The catalogue is loaded once: after that it belongs to the secretariat, whose edits a
        # second run must not overwrite.
        if not Target.objects.exists():
            call_command("loaddata", "catalogue", verbosity=0)
            self.stdout.write(_("Target catalogue loaded: %d targets.") % Target.objects.count())
        accounts = demo_users_create()
        if older_demo():
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "This database holds the demo of an earlier date (no report for %(quarter)s): delete it "
                        "and run seed_demo again to see the province as it stands now."
                    )
                    % {"quarter": OPEN_QUARTER}
                )
            )
        made = demo_submissions_create()
        if made:
            self.stdout.write(_("Demo submissions created: %d.") % made)
        for period in stale_periods():
            summary = period_recompute(period)
            self.stdout.write(
                _("Results computed for %(period)s in %(seconds).1f s.")
                % {"period": period.label, "seconds": summary.seconds}
            )
        self.stdout.write(self.style.SUCCESS(_("Demo data ready. Demo logins (password for all: %s):") % DEMO_PASSWORD))
        for username, roles in accounts:
            self.stdout.write(f"  {username:<18} {roles}")
