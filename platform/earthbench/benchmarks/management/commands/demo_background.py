"""``manage.py demo_background``: what `make demo` finishes while the site is served.

`make demo` serves the site once every benchmark is listed and the EuroSAT demo
data (the README's example) is installed (``load_catalog --no-baselines --only
eurosat-classification-v1``); this command then, in a background process, builds
the wheels served at /downloads/ (``build_downloads``), generates every other
benchmark's demo data (``earthbench.benchmarks.services.benchmark_prepare_demo``)
and scores every baseline with its intervals
(``earthbench.submissions.baselines.baseline_ensure``); both idempotent.
Until its data is in, a benchmark's submissions fail with "no dataset installed". Progress goes to ``var/demo-progress.json``
(``earthbench.benchmarks.demo_progress``), which the catalog page shows until
every step is finished. One failing benchmark does not stop the others; the exit
status is 1 when any failed.
"""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from earthbench.benchmarks import demo_progress, services
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.baselines import baseline_ensure


class Command(BaseCommand):
    help = "Build the downloads and score the baselines, writing progress for the site."

    def add_arguments(self, parser):
        parser.add_argument("--no-downloads", action="store_true")
        parser.add_argument("--only", nargs="*", default=None, help="only these slugs (data and baselines)")

    def handle(self, *args, **o):
        benches = [
            b for b in Benchmark.objects.order_by("slug")
            if b.spec.get("demo") and (not o["only"] or b.slug in o["only"])
        ]
        steps = []
        downloads = {"name": "downloads", "label": "CLI and scorer wheels for /downloads/",
                     "done": 0, "total": 1, "finished": False}
        data = {"name": "data", "label": "demo datasets generated",
                "done": 0, "total": len(benches), "finished": False, "failed": []}
        steps.append(data)
        if not o["no_downloads"]:
            steps.append(downloads)
        base = {"name": "baselines", "label": "baselines scored (with intervals)",
                "done": 0, "total": len(benches), "finished": False, "failed": []}
        steps.append(base)
        state = {"started": time.time(), "steps": steps}
        demo_progress.write(state)

        for bench in benches:  # data first: a benchmark takes submissions once it has it
            data["current"] = bench.slug
            demo_progress.write(state)
            try:
                services.benchmark_prepare_demo(benchmark=bench)  # idempotent
            except Exception as exc:
                data["failed"].append(bench.slug)
                self.stderr.write(f"{bench.slug}: demo data FAILED: {type(exc).__name__}: {exc}")
            data["done"] += 1
        data.pop("current", None)
        data["finished"] = True
        demo_progress.write(state)

        if not o["no_downloads"]:
            try:
                call_command("build_downloads", stdout=self.stdout)
            except Exception as exc:  # the site works without them
                downloads["failed"] = [f"{type(exc).__name__}: {exc}"]
            downloads.update(done=1, finished=True)
            demo_progress.write(state)

        for bench in benches:
            if bench.slug in data["failed"]:
                base["failed"].append(bench.slug)
                base["done"] += 1
                continue
            base["current"] = bench.slug
            demo_progress.write(state)
            try:
                sub = baseline_ensure(benchmark=bench)
                if sub is not None and sub.status == "failed":
                    base["failed"].append(bench.slug)
                    self.stderr.write(f"{bench.slug}: baseline failed: {sub.error}")
            except Exception as exc:  # one broken benchmark must not stop the others
                base["failed"].append(bench.slug)
                self.stderr.write(f"{bench.slug}: FAILED: {type(exc).__name__}: {exc}")
            base["done"] += 1
        base.pop("current", None)
        base["finished"] = True
        state["finished"] = time.time()
        demo_progress.write(state)
        took = state["finished"] - state["started"]
        if base["failed"]:
            raise CommandError(f"{len(base['failed'])} benchmark(s) failed: {', '.join(base['failed'])}")
        self.stdout.write(f"demo background set-up done in {took:.0f} s ({len(benches)} baselines)")
