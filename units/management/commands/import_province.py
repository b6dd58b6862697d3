from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cchc_portal.xlsx import WorkbookRejected
from units.onboarding import import_summary, province_import


class Command(BaseCommand):
    help = (
        "Import the units-and-people workbook: all of it or nothing. Prints every error (sheet, row, column) "
        "and exits with status 1 when there is one."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--invite", action="store_true", help="send an invitation e-mail to each new account")
        parser.add_argument("--dry-run", action="store_true", help="check and count, save nothing")
        parser.add_argument("--by", help="user name recorded as the author of the changes")

    def handle(self, *args, file: Path, invite: bool, dry_run: bool, by: str | None, **options):
        author = None
        if by:
            author = get_user_model().objects.filter(username=by).first()
            if author is None:
                raise CommandError(_("No account has the user name %s.") % by)
        if not file.is_file():
            raise CommandError(_("No such file: %s.") % file)
        with file.open("rb") as handle:
            try:
                result = province_import(
                    upload=File(handle, name=file.name), by=author, invite=invite, dry_run=dry_run, source=file.name
                )
            except WorkbookRejected as exc:
                raise CommandError(str(exc)) from exc
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("%(count)d errors; nothing was saved.") % {"count": len(result.errors)}
                if len(result.errors) > 1
                else _("1 error; nothing was saved.")
            )
        summary = import_summary(result)
        self.stdout.write(_("Dry run, nothing was saved. %s") % summary if dry_run else summary)
