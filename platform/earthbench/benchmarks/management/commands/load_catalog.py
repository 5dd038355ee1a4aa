"""``manage.py load_catalog``: YAML → database, demo data → storage, baselines scored.

Idempotent: running it again changes nothing unless a YAML file changed.
"""

from django.core.management.base import BaseCommand, CommandError

from benchmarks.catalog import CatalogError
from earthbench.benchmarks import services
from earthbench.submissions.baselines import baseline_ensure


class Command(BaseCommand):
    help = "Load the benchmark catalog, generate demo data and score baselines."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="skip demo data and baselines")
        parser.add_argument(
            "--no-baselines", action="store_true",
            help="install demo data but leave baselines to `manage.py demo_background`",
        )
        parser.add_argument("--force", action="store_true", help="regenerate demo data")
        parser.add_argument("--only", nargs="*", default=None, help="slugs to load")

    def handle(self, *args, **opts):
        try:
            benches = services.catalog_sync()
        except CatalogError as exc:
            raise CommandError(str(exc)) from None
        problems = []
        for bench in benches:
            if opts["only"] and bench.slug not in opts["only"]:
                continue
            if opts["no_demo"]:
                continue
            try:
                made = services.benchmark_prepare_demo(benchmark=bench, force=opts["force"])
                sub = None if opts["no_baselines"] else baseline_ensure(benchmark=bench)
            except Exception as exc:  # one broken benchmark must not stop the others
                problems.append(bench.slug)
                self.stderr.write(f"{bench.slug}: FAILED: {type(exc).__name__}: {exc}")
                continue
            status = (
                "baseline left to demo_background" if opts["no_baselines"]
                else f"baseline {sub.status}" if sub else "no baseline"
            )
            if sub is not None and sub.status == "failed":
                problems.append(bench.slug)
                status += f": {sub.error}"
            self.stdout.write(f"{bench.slug}: {'demo data generated' if made else 'data up to date'}, {status}")
        if problems:
            raise CommandError(f"{len(problems)} benchmark(s) failed: {', '.join(problems)}")
        self.stdout.write(self.style.SUCCESS(f"{len(benches)} benchmarks loaded"))
