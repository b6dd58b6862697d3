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
        parser.add_argument(
            "--no-fresh", dest="fresh", action="store_false", help="skip approval-to-fresh (needs a worker on Redis)"
        )
        parser.add_argument("--nightly", action="store_true", help="time the nightly recompute with 1 and 2 workers")
        parser.add_argument(
            "--only-jobs", action="store_true", help="only approval-to-fresh (and --nightly) on data built before"
        )

    def handle(self, *args, scale, json_path, runs, fresh, nightly, only_jobs, **options):
        result = run(scale, runs=runs, fresh=fresh, nightly=nightly, only_jobs=only_jobs, log=self.stdout.write)
        path = save(result, json_path)
        self.stdout.write(table(result))
        self.stdout.write(f"→ {path}")
