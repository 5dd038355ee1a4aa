"""``manage.py rescore <slug>``: re-run every submission after an evaluator fix."""

from django.core.management.base import BaseCommand, CommandError

from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.lifecycle import benchmark_rescore


class Command(BaseCommand):
    help = "Queue every scored or failed submission of a benchmark for re-scoring."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **opts):
        bench = Benchmark.objects.filter(slug=slug).first()
        if bench is None:
            raise CommandError(f"no benchmark {slug!r}")
        n = benchmark_rescore(benchmark=bench)
        self.stdout.write(f"{n} submissions queued; old scores are kept (is_current=False)")
