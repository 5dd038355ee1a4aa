"""``manage.py catalog [--json]``: the benchmark catalog as read from the YAML files."""

import json

from django.core.management.base import BaseCommand, CommandError

from benchmarks.catalog import CatalogError, load_catalog


class Command(BaseCommand):
    help = "List every benchmark of the catalog (from benchmarks/*/benchmark.yaml)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **opts):
        try:
            specs = load_catalog()
        except CatalogError as exc:
            raise CommandError(str(exc)) from None
        rows = []
        for spec in specs:
            d = spec.data
            rows.append(
                {
                    "slug": spec.slug,
                    "version": spec.version,
                    "title": d["title"],
                    "task_kind": d["task_kind"],
                    "papers": d["papers"],
                    "metrics": d["metrics"],
                    "primary_metric": d["primary_metric"],
                    "direction": spec.metric_direction(d["primary_metric"]),
                    "formats": d["formats"],
                    "modalities": d.get("modalities", []),
                }
            )
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        width = max((len(r["slug"]) for r in rows), default=4)
        self.stdout.write(f"{'slug'.ljust(width)}  {'kind':<24} primary")
        for r in rows:
            arrow = "↑" if r["direction"] == "max" else "↓"
            self.stdout.write(f"{r['slug'].ljust(width)}  {r['task_kind']:<24} {r['primary_metric']} {arrow}")
        self.stdout.write(f"{len(rows)} benchmarks, {len({p for r in rows for p in r['papers']})} papers")
