from django.core.management.base import BaseCommand

from bench.run import SCALES, run, save, table


class Command(BaseCommand):
    help = "Benchmark on a database of its own: builds a synthetic province or country and times the key steps."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALES), default="province")
        parser.add_argument(
            "--json", dest="json_path", help="where to write the results (default bench/results/<scale>.json)"
        )
        parser.add_argument("--runs", type=int, default=3, help="runs per step; the median is reported")

    def handle(self, *args, scale, json_path, runs, **options):
        result = run(scale, runs=runs)
        path = save(result, json_path)
        self.stdout.write(table(result))
        self.stdout.write(f"→ {path}")
