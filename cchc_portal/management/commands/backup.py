from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from cchc_portal.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database and the private files (evidence, exports) into one new folder."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", help="an empty or new folder (default backups/<date-time>)")

    def handle(self, *args, folder, **options):
        target = Path(folder or f"backups/{timezone.localtime():%Y-%m-%d_%H%M%S}")
        try:
            manifest = backup(target)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(manifest["rows"].values())
        self.stdout.write(_("Backup written to %(folder)s (%(rows)d rows).") % {"folder": target, "rows": rows})
