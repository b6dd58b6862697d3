from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cchc_portal.backup import BackupError, restore


class Command(BaseCommand):
    help = "Replace the database and the private files with a backup made by `backup`."

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, folder, yes, **options):
        if not yes and input(_("Everything now in the portal will be replaced. Type yes to go on: ")) != "yes":
            raise CommandError(_("Nothing was changed."))
        try:
            manifest = restore(Path(folder))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(_("Restored the backup of %(date)s; row counts match.") % {"date": manifest["made_at"][:19]})
