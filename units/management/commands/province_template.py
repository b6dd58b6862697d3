from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from units.workbook import province_template


class Command(BaseCommand):
    help = "Write the units-and-people workbook: empty, or with the portal's units in force and their people."

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help="the .xlsx file to write")
        parser.add_argument("--filled", action="store_true", help="with the units and people already in the portal")

    def handle(self, *args, out: Path, filled: bool, **options):
        out.write_bytes(province_template(filled=filled))
        self.stdout.write(_("Template written to %s.") % out)
